import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DetonationReportSchema } from '../../lambdas/core/contracts/detonation-report';
import { gzip, gzipOfZeros, makeTar, tarHeaderWithRawSize } from '../detonation/archives';
import { FAST, PresignedStandIn } from '../detonation/harness';
import { detonateThrough, detonatorsUnderTest } from './harness';

/**
 * Archives whose headers try to switch the extraction caps off: a size field that is not a number
 * (which a lax reader turns into NaN, and NaN compares false with every cap), alone and in front of
 * a gzip stream that would expand to hundreds of MiB. Each must end in a report, within the
 * detonation's own deadline, that says why extraction stopped.
 */

const NAN_SIZE = 'zzzzzzzzzzz\0';
/** A member header for `name` whose size field is not a number, then what it claims to contain. */
const nanTar = Buffer.concat([
  tarHeaderWithRawSize('run.sh', NAN_SIZE),
  Buffer.from('#!/bin/sh\necho SANDTRAP-TEST-MALICIOUS\n'.padEnd(512, '\0')),
  Buffer.alloc(1024),
]);
/** A real member, the NaN header, a directory that declares 256 MiB, and 256 MiB of gzip'd zeros. */
const nanBomb = Buffer.concat([
  gzip(
    Buffer.concat([
      makeTar([{ name: 'first.txt', data: Buffer.from('fine\n') }]).subarray(0, -1024),
      tarHeaderWithRawSize('././@LongLink', NAN_SIZE, 'L'),
      tarHeaderWithRawSize('d/', `${(256 * 1024 * 1024).toString(8).padStart(11, '0')}\0`, '5'),
    ]),
  ),
  gzipOfZeros(1024 * 1024, 256),
]);

/** The agent's deadline under FAST (10 s) and the agent's start and clean-up around it. */
const DEADLINE_MS = 30_000;

const detonators = detonatorsUnderTest();

describe.skipIf(detonators.length === 0).each(detonators)(
  'hostile archives through the $name detonator',
  ({ detonator }) => {
    const s3 = new PresignedStandIn();
    beforeAll(() => s3.start());
    afterAll(() => s3.stop());

    it.each([
      ['nan-size.tar', nanTar],
      ['nan-size-bomb.tar.gz', nanBomb],
    ])(
      '%s ends in a report within the deadline, extraction stopped at the bad header',
      async (name, body) => {
        const started = Date.now();
        const { report } = await detonateThrough(detonator, s3, { name, body }, FAST);
        expect(Date.now() - started).toBeLessThan(DEADLINE_MS);
        expect(DetonationReportSchema.safeParse(report).success).toBe(true);
        expect(report.sample.preparation.method).toBe('archive');
        expect(report.notes.items.join('\n')).toMatch(/archive extraction stopped: .*size field is not a number/);
        // Nothing behind the bad header was extracted, so nothing of it ran.
        expect(report.executions.items.some((e) => e.argv.join(' ').includes('run.sh'))).toBe(false);
        expect(report.status === 'unsupported' || report.status === 'completed').toBe(true);
      },
      60_000,
    );
  },
);
