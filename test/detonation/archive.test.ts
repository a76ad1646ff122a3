import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXTRACTION_LIMITS, extractArchive, type ExtractionLimits } from '../../container/agent';
import { safeMemberPath } from '../../container/agent/archive';
import { gzip, makeTar, makeZip } from './archives';

const scratch = mkdtempSync(join(tmpdir(), 'sandtrap-archive-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let n = 0;
async function extract(
  bytes: Buffer,
  kind: 'zip' | 'tar' | 'gzip',
  limits: Partial<ExtractionLimits> = {},
  name = 'sample',
) {
  n++;
  const file = join(scratch, `archive-${n}`);
  writeFileSync(file, bytes);
  const dest = join(scratch, `out-${n}`, 'extracted');
  const result = await extractArchive(file, kind, name, dest, { ...DEFAULT_EXTRACTION_LIMITS, ...limits });
  return { ...result, dest, root: join(scratch, `out-${n}`) };
}

/** Every file under a directory, relative. */
function tree(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tree(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

describe('member names', () => {
  it('refuses traversal, absolute paths, drive letters, NUL and excessive depth', () => {
    expect(safeMemberPath('../evil.sh', 16)).toEqual({ reason: 'path traversal' });
    expect(safeMemberPath('a/../../evil.sh', 16)).toEqual({ reason: 'path traversal' });
    expect(safeMemberPath('..\\..\\evil.sh', 16)).toEqual({ reason: 'path traversal' });
    expect(safeMemberPath('/etc/cron.d/x', 16)).toEqual({ reason: 'absolute path' });
    expect(safeMemberPath('C:/Windows/x', 16)).toEqual({ reason: 'absolute path' });
    expect(safeMemberPath('a\0b', 16)).toEqual({ reason: 'NUL in name' });
    expect(safeMemberPath('a/b/c/d', 3)).toEqual({ reason: 'path too deep' });
    expect(safeMemberPath('./dir//run.sh', 16)).toEqual({ path: 'dir/run.sh' });
  });
});

describe('zip extraction', () => {
  it('extracts regular members and names their types', async () => {
    const r = await extract(
      makeZip([
        { name: 'installer/setup.sh', data: Buffer.from('#!/bin/sh\necho hi\n'), deflate: true },
        { name: 'README.txt', data: Buffer.from('text') },
      ]),
      'zip',
    );
    expect(r.stopped).toBeNull();
    expect(tree(r.dest).sort()).toEqual(['README.txt', 'installer/setup.sh']);
    expect(readFileSync(join(r.dest, 'installer/setup.sh'), 'utf8')).toContain('echo hi');
    expect(r.members.find((m) => m.path === 'installer/setup.sh')).toMatchObject({
      action: 'extracted',
      fileType: 'script-sh',
    });
  });

  it('refuses zip slip members and writes nothing outside the destination', async () => {
    const r = await extract(
      makeZip([
        { name: '../escaped.sh', data: Buffer.from('x') },
        { name: '../../../../tmp/sandtrap-zip-slip', data: Buffer.from('x') },
        { name: '/etc/sandtrap-absolute', data: Buffer.from('x') },
        { name: '..\\windows-slip.sh', data: Buffer.from('x') },
        { name: 'good.sh', data: Buffer.from('#!/bin/sh\n') },
      ]),
      'zip',
    );
    expect(r.members.filter((m) => m.action === 'rejected').map((m) => m.reason)).toEqual([
      'path traversal',
      'path traversal',
      'absolute path',
      'path traversal',
    ]);
    expect(tree(r.root)).toEqual(['extracted/good.sh']);
    expect(existsSync('/tmp/sandtrap-zip-slip')).toBe(false);
    expect(existsSync('/etc/sandtrap-absolute')).toBe(false);
  });

  it('never creates symbolic links', async () => {
    const r = await extract(makeZip([{ name: 'link', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]), 'zip');
    expect(r.members).toEqual([expect.objectContaining({ action: 'rejected', reason: 'symbolic link' })]);
    expect(tree(r.dest)).toEqual([]);
  });

  it('refuses a member whose compression ratio is a bomb', async () => {
    const r = await extract(
      makeZip([{ name: 'zeros.bin', data: Buffer.alloc(20 * 1024 * 1024), deflate: true }]),
      'zip',
    );
    expect(r.members).toEqual([expect.objectContaining({ action: 'rejected', reason: 'compression ratio above 100' })]);
    expect(tree(r.dest)).toEqual([]);
  });

  it('stops at the total size cap', async () => {
    const big = Buffer.alloc(600 * 1024, 1);
    const r = await extract(makeZip([1, 2, 3].map((i) => ({ name: `part${i}.bin`, data: big }))), 'zip', {
      maxTotalBytes: 1024 * 1024,
    });
    expect(r.stopped).toMatch(/bytes in total/);
    expect(tree(r.dest)).toEqual(['part1.bin']);
  });

  it('stops at the member count cap', async () => {
    const r = await extract(
      makeZip(Array.from({ length: 30 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from('x') }))),
      'zip',
      { maxMembers: 10 },
    );
    expect(r.stopped).toMatch(/more than 10 members/);
    expect(tree(r.dest)).toHaveLength(10);
  });

  it('opens nested archives only up to the nesting cap', async () => {
    const inner = makeZip([{ name: 'deep.sh', data: Buffer.from('#!/bin/sh\n') }]);
    const middle = makeZip([{ name: 'inner.zip', data: inner }]);
    const r = await extract(makeZip([{ name: 'middle.zip', data: middle }]), 'zip', { maxNesting: 2 });
    expect(r.members.map((m) => [m.path, m.action])).toEqual([
      ['middle.zip', 'skipped'],
      ['middle.zip/inner.zip', 'extracted'],
    ]);
    expect(r.members[1]?.reason).toMatch(/nesting cap/);
  });

  it('refuses duplicate names instead of overwriting', async () => {
    const r = await extract(
      makeZip([
        { name: 'a.sh', data: Buffer.from('first') },
        { name: 'a.sh', data: Buffer.from('second') },
      ]),
      'zip',
    );
    expect(readFileSync(join(r.dest, 'a.sh'), 'utf8')).toBe('first');
    expect(r.members[1]).toMatchObject({ action: 'rejected', reason: 'duplicate name' });
  });
});

describe('tar and gzip extraction', () => {
  it('extracts a tar.gz with a GNU long name and refuses links, devices and traversal', async () => {
    const longName = `${'d'.repeat(60)}/${'e'.repeat(60)}/run.sh`;
    const r = await extract(
      gzip(
        makeTar([
          { name: longName, data: Buffer.from('#!/bin/sh\n') },
          { name: 'evil-link', type: '2', linkname: '/etc/shadow' },
          { name: 'hard', type: '1', linkname: '/etc/passwd' },
          { name: 'tty', type: '3' },
          { name: '../outside.sh', data: Buffer.from('x') },
          { name: 'ok.txt', data: Buffer.from('fine') },
        ]),
      ),
      'gzip',
      {},
      'bundle.tar.gz',
    );
    expect(r.stopped).toBeNull();
    expect(tree(r.dest).sort()).toEqual([longName, 'ok.txt'].sort());
    expect(r.members.filter((m) => m.action === 'rejected').map((m) => m.reason)).toEqual([
      'symbolic link',
      'hard link',
      'not a regular file',
      'path traversal',
    ]);
  });

  it('stops a gzip bomb at the ratio budget', async () => {
    const r = await extract(gzip(Buffer.alloc(50 * 1024 * 1024)), 'gzip', {}, 'zeros.gz');
    expect(r.stopped).toMatch(/ratio/);
    const written = tree(r.dest).map((f) => readFileSync(join(r.dest, f)).length);
    expect(written.every((size) => size <= 100 * 100 * 1024)).toBe(true);
  });

  it('names a lone gzip member after the archive', async () => {
    const r = await extract(gzip(Buffer.from('#!/usr/bin/env python3\nprint(1)\n')), 'gzip', {}, 'tool.py.gz');
    expect(r.members).toEqual([
      expect.objectContaining({ path: 'tool.py', action: 'extracted', fileType: 'script-python' }),
    ]);
  });
});
