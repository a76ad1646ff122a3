import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executionTimeoutSeconds } from '../../../../lambdas/core/config/runtime-config';
import { ObjectCreatedEventSchema } from '../../../../lambdas/core/contracts/pipeline';
import type { ObjectVersion } from '../../../../lambdas/core/store/verdict-store';
import { VerdictStore } from '../../../../lambdas/core/store/verdict-store';
import type { StartOutcome } from '../../../../lambdas/core/sweep/execution-starter';
import {
  redriveExecutionName,
  type SweepOptions,
  sweepOptionsOf,
  sweepUploads,
} from '../../../../lambdas/core/sweep/sweep';
import { parseSweepSettings } from '../../../../lambdas/core/sweep/sweep-config';
import { type LocalAws, ManualClock, type RecordingLog, recordingLog, startLocalAws, UNIT } from '../support';
import { type FakeVersion, fakeListing } from './fake-listing';

const MINUTE = 60_000;
const BUCKET = 'ingest-bucket';
/** The margin the sweep adds to a claim's staleness for the clocks of different hosts. */
const SKEW_MS = MINUTE;

describe('sweepUploads: re-drive uploads that have no analysis', () => {
  let aws: LocalAws;
  let store: VerdictStore;
  let clock: ManualClock;
  let n = 0;
  const options: SweepOptions = {
    bucket: BUCKET,
    deadlineMs: 60 * MINUTE,
    lookbackMs: 7 * 24 * 60 * MINUTE,
    claimStaleAfterMs: 120 * MINUTE,
    maxRedrives: 100,
    maxAttempts: 3,
  };

  beforeAll(async () => {
    aws = await startLocalAws();
    store = new VerdictStore(aws.clients.ddb, UNIT.table);
    clock = new ManualClock(Date.UTC(2030, 5, 1, 12, 0, 0));
  });
  afterAll(async () => aws?.stop());

  /** Runs one sweep over these versions; the starter answers `outcome` and records what it was asked. */
  async function sweep(
    versions: FakeVersion[],
    overrides: Partial<SweepOptions> = {},
    outcome: StartOutcome = 'started',
  ) {
    const { s3 } = fakeListing(versions);
    const starts: { name: string; input: unknown }[] = [];
    const log: RecordingLog = recordingLog();
    const summary = await sweepUploads(
      {
        s3,
        store,
        clock,
        log,
        executions: {
          async startExecution(name, input) {
            starts.push({ name, input });
            return outcome;
          },
        },
      },
      { ...options, ...overrides },
    );
    return { summary, starts, log };
  }

  /** A version, its upload identity (as Triage names it), written `ageMs` before now. */
  function version(ageMs: number, versioned = true): { version: FakeVersion; upload: ObjectVersion } {
    const key = `in/upload-${++n}.bin`;
    const v: FakeVersion = {
      key,
      etag: `etag${n}`,
      size: 10 + n,
      lastModified: clock.now() - ageMs,
      ...(versioned ? { versionId: `ver${n}` } : {}),
    };
    return { version: v, upload: { bucket: BUCKET, key, uploadId: versioned ? `ver${n}` : `etag${n}` } };
  }
  const due = () => version(2 * 60 * MINUTE);

  it('looks only at uploads written between the lookback and the deadline', async () => {
    const tooRecent = version(options.deadlineMs);
    const justDue = version(options.deadlineMs + 1);
    const oldest = version(options.lookbackMs);
    const tooOld = version(options.lookbackMs + 1);
    const { summary, starts } = await sweep([tooRecent, justDue, oldest, tooOld].map((v) => v.version));
    expect(starts.map((s) => s.name).sort()).toEqual(
      [redriveExecutionName(justDue.upload, 1), redriveExecutionName(oldest.upload, 1)].sort(),
    );
    expect(summary).toEqual({
      listed: 4,
      candidates: 2,
      redriven: 2,
      skippedTerminal: 0,
      inFlight: 0,
      alreadyRedriven: 0,
      abandoned: 0,
      capped: false,
    });
  });

  it('re-drives an upload without a record with the Object Created event the trigger rule would have delivered', async () => {
    const versioned = due();
    const unversioned = version(2 * 60 * MINUTE, false);
    const { starts } = await sweep([versioned.version, unversioned.version]);
    const input = starts.find((s) => s.name === redriveExecutionName(versioned.upload, 1))?.input;
    expect(ObjectCreatedEventSchema.parse(input)).toEqual({
      'detail-type': 'Object Created',
      source: 'aws.s3',
      time: new Date(versioned.version.lastModified).toISOString().replace('.000Z', 'Z'),
      detail: {
        bucket: { name: BUCKET },
        object: {
          key: versioned.upload.key,
          size: versioned.version.size,
          etag: versioned.version.etag,
          'version-id': versioned.upload.uploadId,
        },
      },
    });
    // Without versioning the upload is named by its ETag, as Triage names the event built here.
    const plain = starts.find((s) => s.name === redriveExecutionName(unversioned.upload, 1))?.input as {
      detail: { object: Record<string, unknown> };
    };
    expect(plain.detail.object).not.toHaveProperty('version-id');
    expect(plain.detail.object.etag).toBe(unversioned.upload.uploadId);
  });

  it('skips uploads that ended with a verdict or a failure', async () => {
    const verdict = due();
    const failed = due();
    await store.putObjectRecord({ ...verdict.upload, versionId: null, status: 'verdict', at: 1 });
    await store.putObjectRecord({ ...failed.upload, versionId: null, status: 'failed', at: 1 });
    const { summary, starts } = await sweep([verdict.version, failed.version]);
    expect(starts).toEqual([]);
    expect(summary).toMatchObject({ candidates: 2, skippedTerminal: 2, redriven: 0 });
  });

  it('leaves a claim alone until it is older than the execution timeout plus the skew margin, then re-drives with the kept event', async () => {
    const staleBound = clock.now() - options.claimStaleAfterMs - SKEW_MS;
    const young = due();
    const stale = due();
    const event = {
      'detail-type': 'Object Created',
      source: 'aws.s3',
      detail: {
        bucket: { name: BUCKET },
        object: { key: stale.upload.key, 'version-id': stale.upload.uploadId, sequencer: 'S1' },
      },
    };
    await store.claimObject(young.upload, 'exec-young', staleBound, 1, {});
    await store.claimObject(stale.upload, 'exec-dead', staleBound - 1, 1, event);
    const { summary, starts } = await sweep([young.version, stale.version]);
    expect(summary).toMatchObject({ candidates: 2, inFlight: 1, redriven: 1 });
    expect(starts).toEqual([{ name: redriveExecutionName(stale.upload, 1), input: event }]);
  });

  it("uses the listing's event when the kept one is of another upload, a reanalysis, or not an event", async () => {
    const stale = clock.now() - options.claimStaleAfterMs - SKEW_MS - 1;
    const other = due();
    const reanalysis = due();
    const broken = due();
    const eventOf = (key: string, versionId: string) => ({
      'detail-type': 'Object Created',
      source: 'aws.s3',
      detail: { bucket: { name: BUCKET }, object: { key, 'version-id': versionId } },
    });
    await store.claimObject(other.upload, 'exec-1', stale, 1, eventOf(other.upload.key, 'some-other-version'));
    await store.claimObject(reanalysis.upload, 'exec-2', stale, 1, {
      ...eventOf(reanalysis.upload.key, reanalysis.upload.uploadId),
      sandtrap: { reanalyze: true },
    });
    await store.claimObject(broken.upload, 'exec-3', stale, 1, { hello: 'world' });
    const { starts } = await sweep([other.version, reanalysis.version, broken.version]);
    expect(starts).toHaveLength(3);
    for (const { upload } of [other, reanalysis, broken]) {
      const input = starts.find((s) => s.name === redriveExecutionName(upload, 1))?.input as {
        detail: { object: { key: string; 'version-id': string } };
        sandtrap?: unknown;
      };
      expect(input.detail.object).toMatchObject({ key: upload.key, 'version-id': upload.uploadId });
      expect(input.sandtrap).toBeUndefined();
    }
  });

  it("counts attempts from the stale claim's re-drive name, and abandons an upload after maxAttempts", async () => {
    const stale = clock.now() - options.claimStaleAfterMs - SKEW_MS - 1;
    const second = due();
    const exhausted = due();
    const foreign = due();
    const arn = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:Analysis:${name}`;
    await store.claimObject(second.upload, arn(redriveExecutionName(second.upload, 2)), stale, 1, {});
    await store.claimObject(exhausted.upload, arn(redriveExecutionName(exhausted.upload, 3)), stale, 1, {});
    // A re-drive name of another upload says nothing about this one's attempts.
    await store.claimObject(foreign.upload, arn(redriveExecutionName(second.upload, 2)), stale, 1, {});
    const { summary, starts, log } = await sweep([second.version, exhausted.version, foreign.version]);
    expect(starts.map((s) => s.name).sort()).toEqual(
      [redriveExecutionName(second.upload, 3), redriveExecutionName(foreign.upload, 1)].sort(),
    );
    expect(summary).toMatchObject({ candidates: 3, redriven: 2, abandoned: 1 });
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        extra: expect.objectContaining({ key: exhausted.upload.key, attempts: 3 }),
      }),
    );
  });

  it('stops at maxRedrives, leaving the rest to the next run', async () => {
    const uploads = [due(), due(), due()];
    const { summary, starts } = await sweep(
      uploads.map((u) => u.version),
      { maxRedrives: 2 },
    );
    expect(starts).toHaveLength(2);
    expect(summary).toMatchObject({ redriven: 2, capped: true, candidates: 2 });
  });

  it('counts a re-drive started before (its name used) apart, not against the cap', async () => {
    const uploads = [due(), due(), due()];
    const { summary, starts } = await sweep(
      uploads.map((u) => u.version),
      { maxRedrives: 1 },
      'exists',
    );
    expect(starts).toHaveLength(3);
    expect(summary).toMatchObject({ redriven: 0, alreadyRedriven: 3, capped: false });
  });
});

describe('redriveExecutionName', () => {
  const upload = { bucket: 'b', key: `${'deep/'.repeat(200)}file.bin`, uploadId: 'v1' };

  it('is a valid Step Functions name of at most 80 characters whatever the key, and the same on every run', () => {
    const name = redriveExecutionName(upload, 20);
    expect(name).toMatch(/^redrive-[0-9a-f]{32}-20$/);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(redriveExecutionName({ ...upload }, 20)).toBe(name);
  });

  it('differs by bucket, key, upload and attempt', () => {
    const names = new Set([
      redriveExecutionName(upload, 1),
      redriveExecutionName(upload, 2),
      redriveExecutionName({ ...upload, uploadId: 'v2' }, 1),
      redriveExecutionName({ ...upload, bucket: 'c' }, 1),
      redriveExecutionName({ ...upload, key: 'other' }, 1),
    ]);
    expect(names.size).toBe(5);
  });
});

describe('sweepOptionsOf', () => {
  it("converts the settings to milliseconds, with Triage's claim staleness", () => {
    const config = {
      ...parseSweepSettings({ deadlineMinutes: 30, lookbackDays: 2, maxRedrivesPerRun: 7, maxAttempts: 4 }),
      ingestBucket: 'ingest',
      stateMachineArn: 'arn:aws:states:eu-west-1:1:stateMachine:x',
    };
    expect(sweepOptionsOf(config, { engineDeadlineSeconds: 1800 })).toEqual({
      bucket: 'ingest',
      deadlineMs: 30 * MINUTE,
      lookbackMs: 2 * 24 * 60 * MINUTE,
      claimStaleAfterMs: executionTimeoutSeconds({ engineDeadlineSeconds: 1800 }) * 1000,
      maxRedrives: 7,
      maxAttempts: 4,
    });
    expect(sweepOptionsOf({ ...config, ingestPrefix: 'in/' }, { engineDeadlineSeconds: 1 }).prefix).toBe('in/');
  });
});
