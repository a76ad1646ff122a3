import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXTRACTION_LIMITS, extractArchive, type ExtractionLimits } from '../../container/agent';
import { tarNumber } from '../../container/agent/archive';
import { gzip, gzipOfZeros, makeTar, tarHeaderWithRawSize } from './archives';

const scratch = mkdtempSync(join(tmpdir(), 'sandtrap-archive-limits-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let n = 0;
async function extract(bytes: Buffer, kind: 'tar' | 'gzip', limits: Partial<ExtractionLimits> = {}, name = 'sample') {
  n++;
  const file = join(scratch, `archive-${n}`);
  writeFileSync(file, bytes);
  const started = Date.now();
  const result = await extractArchive(file, kind, name, join(scratch, `out-${n}`), {
    ...DEFAULT_EXTRACTION_LIMITS,
    ...limits,
  });
  return { ...result, ms: Date.now() - started };
}

const field = (text: string) => Buffer.from(text.padEnd(12, '\0').slice(0, 12), 'latin1');

describe('tar numeric fields are parsed strictly', () => {
  it('reads octal with space or NUL terminators, leading spaces, and positive base-256', () => {
    expect(tarNumber(field('00000001750\0'))).toBe(0o1750);
    expect(tarNumber(field('00000001750 '))).toBe(0o1750);
    expect(tarNumber(field('   1750 \0'))).toBe(0o1750);
    expect(tarNumber(Buffer.from('777777777777', 'latin1'))).toBe(0o777777777777);
    expect(tarNumber(Buffer.alloc(12))).toBe(0);
    const big = Buffer.alloc(12);
    big[0] = 0x80;
    big.writeUIntBE(2 ** 40, 6, 6);
    expect(tarNumber(big)).toBe(2 ** 40);
  });

  it('refuses everything else instead of turning it into NaN', () => {
    for (const text of [
      'zzzzzzzzzzz\0',
      '0000001750x\0',
      '12 34\0',
      '00000009999\0',
      '-0000000001\0',
      '0x10\0',
      ' \0 1',
    ])
      expect(tarNumber(field(text)), JSON.stringify(text)).toBeNull();
    const negative = Buffer.alloc(12, 0xff);
    expect(tarNumber(negative)).toBeNull();
    const huge = Buffer.alloc(12, 0xff);
    huge[0] = 0x80;
    expect(tarNumber(huge)).toBeNull();
  });
});

describe('a hostile size field cannot switch the caps off', () => {
  it('stops a tar whose size field is not a number, writing nothing for it', async () => {
    const tar = Buffer.concat([
      tarHeaderWithRawSize('run.sh', 'zzzzzzzzzzz\0'),
      Buffer.from('#!/bin/sh\necho hi\n'.padEnd(512, '\0')),
      Buffer.alloc(1024),
    ]);
    const r = await extract(tar, 'tar');
    expect(r.stopped).toMatch(/size field is not a number/);
    expect(r.members).toEqual([]);
  });

  it("stops a gzip'd tar with a NaN-size long-name header before it expands", async () => {
    // The NaN header, then a directory whose 24 MiB "contents" a lax reader would skip through
    // with the ratio cap disabled: compressed it is a few tens of KiB.
    const body = Buffer.concat([
      tarHeaderWithRawSize('././@LongLink', 'not-a-size\0\0', 'L'),
      tarHeaderWithRawSize('d/', `${(24 * 1024 * 1024).toString(8).padStart(11, '0')}\0`, '5'),
    ]);
    const bomb = Buffer.concat([gzip(body), gzipOfZeros(1024 * 1024, 24)]);
    const r = await extract(bomb, 'gzip', {}, 'bomb.tar.gz');
    expect(r.stopped).toMatch(/not a number/);
    expect(r.ms).toBeLessThan(5000);
  });

  it('bounds what a valid header may make it read, even when nothing is written', async () => {
    const body = tarHeaderWithRawSize('d/', `${(24 * 1024 * 1024).toString(8).padStart(11, '0')}\0`, '5');
    const bomb = Buffer.concat([gzip(body), gzipOfZeros(1024 * 1024, 24)]);
    const r = await extract(bomb, 'gzip', {}, 'bomb.tar.gz');
    expect(r.stopped).toMatch(/ratio cap/);
    const expandedCap = await extract(bomb, 'gzip', { maxRatio: 1e9, maxExpandedBytes: 4 * 1024 * 1024 }, 'b.tar.gz');
    expect(expandedCap.stopped).toMatch(/more than 4194304 bytes expanded/);
  });
});

describe('extraction has a deadline', () => {
  it('ends at the deadline, keeping what was extracted', async () => {
    const tar = makeTar([{ name: 'first.sh', data: Buffer.from('#!/bin/sh\n') }]);
    // Then a directory whose 512 MiB of "contents" the reader must skip, with every byte cap opened
    // wide: only the clock is left to stop it.
    const skip = tarHeaderWithRawSize('d/', `${(512 * 1024 * 1024).toString(8).padStart(11, '0')}\0`, '5');
    const bomb = Buffer.concat([gzip(Buffer.concat([tar.subarray(0, -1024), skip])), gzipOfZeros(1024 * 1024, 512)]);
    const r = await extract(
      bomb,
      'gzip',
      { deadlineMs: 150, maxRatio: 1e9, maxExpandedBytes: 2 ** 40, maxTotalBytes: 2 ** 40 },
      'slow.tar.gz',
    );
    expect(r.stopped).toMatch(/longer than 150 ms/);
    expect(r.ms).toBeLessThan(3000);
    expect(r.members.map((m) => m.path)).toEqual(['first.sh']);
  });
});
