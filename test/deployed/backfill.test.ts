import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backfill,
  BackfillCursorMismatchError,
  backfillExecutionName,
  type BackfillCursor,
} from '../../deployed/backfill';
import { DETAIL_TYPE_VERDICT, SampleVerdictDetailSchema } from '../../lambdas/core/contracts/pipeline';
import type { ExecutionStarter } from '../../lambdas/core/sweep/execution-starter';
import { CapeEmulator } from '../../emulators/cape';
import { startVendorHarness, type VendorHarness } from '../support';

/**
 * `sandtrap scan`: objects already in the bucket before Sandtrap was attached (no upload event named
 * them) are analysed through the same state machine, once each, resumably.
 */
describe('backfill of objects already in a bucket', () => {
  let h: VendorHarness;
  const keys = ['old/a.txt', 'old/b.js', 'old/c.txt', 'old/deep/d.txt', 'old/e.txt'];
  beforeAll(async () => {
    h = await startVendorHarness((clock) => new CapeEmulator({ clock, queueSeconds: 5, processingSeconds: 10 }));
    const s3 = h.pipeline.clients.s3;
    const bucket = h.pipeline.plan.buckets.ingest;
    // Written straight into the bucket: no pipeline run follows, as for files there before Sandtrap.
    for (const key of keys)
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `pre-existing ${key}\n` }));
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'old/b2.js', Body: '// SANDTRAP-TEST-MALICIOUS pre-existing\n' }),
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'old/folder/', Body: '' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'other/x.txt', Body: 'not under the prefix\n' }));
  });
  afterAll(async () => h?.stop());

  it('starts one analysis per object under the prefix, resumes where it stopped, and starts none twice', async () => {
    const bucket = h.pipeline.plan.buckets.ingest;
    const clock = { t: 0 };
    const progress: BackfillCursor[] = [];
    const deps = {
      s3: h.pipeline.clients.s3,
      executions: h.pipeline as ExecutionStarter,
      now: () => clock.t,
      sleep: async (ms: number) => {
        clock.t += ms;
      },
      progress: (cursor: BackfillCursor) => {
        progress.push({ ...cursor });
      },
    };
    // The first run is cut short after three objects (as by Ctrl-C or --max); its cursor is the saved state.
    const first = await backfill(deps, { bucket, prefix: 'old/', ratePerSecond: 2, maxObjects: 3 });
    expect(first).toMatchObject({ started: 3, existing: 0, done: false, after: 'old/b2.js' });
    // Two a second: the third start waited a full second after the first.
    expect(clock.t).toBeGreaterThanOrEqual(1000);

    const resumed = await backfill(deps, { bucket, prefix: 'old/', ratePerSecond: 50, resume: first });
    expect(resumed).toMatchObject({ started: 6, existing: 0, skipped: 1, done: true });
    expect(progress.at(-1)).toEqual(resumed);

    // A second backfill of the same objects finds every execution name taken: nothing starts again.
    const again = await backfill(deps, { bucket, prefix: 'old/', ratePerSecond: 50 });
    expect(again).toMatchObject({ started: 0, existing: 6, skipped: 1, done: true });

    const settled = await h.pipeline.settled();
    const backfilled = [...settled.entries()].filter(([name]) => name.startsWith('backfill-'));
    expect(backfilled).toHaveLength(6);
    expect(backfilled.every(([, report]) => report.status === 'SUCCEEDED')).toBe(true);
    // The same object always gets the same name; a changed object (another ETag) a new one.
    expect(backfillExecutionName(bucket, 'old/a.txt', 'e1')).toBe(backfillExecutionName(bucket, 'old/a.txt', 'e1'));
    expect(backfillExecutionName(bucket, 'old/a.txt', 'e2')).not.toBe(backfillExecutionName(bucket, 'old/a.txt', 'e1'));

    // Each object under the prefix got exactly one verdict; the marker and the object outside none.
    const verdicts = h.pipeline.events(DETAIL_TYPE_VERDICT).map((e) => SampleVerdictDetailSchema.parse(e.detail));
    const byKey = new Map<string, number>();
    for (const v of verdicts) byKey.set(v.key, (byKey.get(v.key) ?? 0) + 1);
    expect(Object.fromEntries(byKey)).toEqual(Object.fromEntries([...keys, 'old/b2.js'].map((k) => [k, 1])));
    expect(verdicts.find((v) => v.key === 'old/b2.js')?.verdict).toBe('malicious');
  }, 180_000);

  it('refuses to resume a cursor of another bucket or prefix', async () => {
    const cursor: BackfillCursor = {
      bucket: 'elsewhere',
      prefix: 'old/',
      listed: 1,
      started: 1,
      existing: 0,
      skipped: 0,
      done: false,
    };
    await expect(
      backfill(
        { s3: h.pipeline.clients.s3, executions: h.pipeline, now: () => 0, sleep: async () => undefined },
        { bucket: h.pipeline.plan.buckets.ingest, prefix: 'old/', ratePerSecond: 1, resume: cursor },
      ),
    ).rejects.toBeInstanceOf(BackfillCursorMismatchError);
  });
});
