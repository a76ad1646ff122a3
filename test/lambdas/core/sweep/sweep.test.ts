import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
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
import { deliverInventory, type InventoryFile, type InventoryRow } from './inventory-fixture';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const BUCKET = 'ingest-bucket';
/** The margin the sweep adds to a claim's staleness for the clocks of different hosts. */
const SKEW_MS = MINUTE;

/** Records the command and bucket of every request a client sends. */
function recordRequests(s3: S3Client): { command: string; bucket: unknown }[] {
  const requests: { command: string; bucket: unknown }[] = [];
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      requests.push({ command: String(context.commandName), bucket: (args.input as { Bucket?: unknown }).Bucket });
      return next(args);
    },
    { step: 'initialize', name: 'sweepTestRequestRecorder' },
  );
  return requests;
}

describe('sweepUploads: re-drive uploads that have no analysis', () => {
  let aws: LocalAws;
  let store: VerdictStore;
  let clock: ManualClock;
  let requests: { command: string; bucket: unknown }[];
  let n = 0;
  let deliveries = 0;
  const options: SweepOptions = {
    bucket: BUCKET,
    deadlineMs: 60 * MINUTE,
    lookbackMs: 7 * DAY,
    claimStaleAfterMs: 120 * MINUTE,
    maxRedrives: 100,
    maxAttempts: 3,
  };

  beforeAll(async () => {
    aws = await startLocalAws();
    store = new VerdictStore(aws.clients.ddb, UNIT.table);
    clock = new ManualClock(Date.UTC(2030, 5, 1, 12, 0, 0));
    requests = recordRequests(aws.clients.s3);
  });
  // Every test sweeps a window of its own: the claims of the others are older than its lookback.
  beforeEach(() => clock.advance((options.lookbackMs + DAY) / 1000));
  afterAll(async () => aws?.stop());

  /** Delivers an inventory of these versions (`undefined`: none) and returns where the sweep finds it. */
  async function inventoryOf(files: InventoryFile[] | undefined, manifest?: Record<string, unknown>) {
    const destinationPrefix = `inventory-${++deliveries}`;
    if (!files) return { bucket: UNIT.inventory, prefix: `${destinationPrefix}/${BUCKET}/daily/` };
    const delivery = await deliverInventory(aws.clients.s3, {
      bucket: UNIT.inventory,
      destinationPrefix,
      sourceBucket: BUCKET,
      scanStart: clock.now() - 3 * 60 * MINUTE,
      files,
      ...(manifest ? { manifest } : {}),
    });
    return { bucket: UNIT.inventory, prefix: delivery.prefix };
  }

  /**
   * Runs one sweep with an inventory of these versions; the starter answers `outcome` (or, with
   * `remember`, `exists` for a name it was given before) and records what it was asked.
   */
  async function sweep(
    inventoried: InventoryFile[] | InventoryRow[] | undefined,
    overrides: Partial<SweepOptions> = {},
    outcome: StartOutcome | 'remember' = 'started',
    starts: { name: string; input: unknown }[] = [],
  ) {
    const files =
      inventoried === undefined
        ? undefined
        : inventoried.length > 0 && 'lastModified' in (inventoried[0] as object)
          ? [inventoried as InventoryRow[]]
          : (inventoried as InventoryFile[]);
    const inventory = await inventoryOf(files);
    const log: RecordingLog = recordingLog();
    const summary = await sweepUploads(
      {
        s3: aws.clients.s3,
        store,
        clock,
        log,
        executions: {
          async startExecution(name, input) {
            const seen = starts.some((s) => s.name === name);
            starts.push({ name, input });
            if (outcome === 'remember') return seen ? 'exists' : 'started';
            return outcome;
          },
        },
      },
      { ...options, inventory, ...overrides },
    );
    return { summary, starts, log, inventory };
  }

  /** A version, its upload identity (as Triage names it), written `ageMs` before now. */
  function version(ageMs: number, versioned = true): { version: InventoryRow; upload: ObjectVersion } {
    const key = `in/upload ${++n} +ü.bin`;
    const v: InventoryRow = {
      key,
      etag: `etag${n}`,
      size: 10 + n,
      lastModified: clock.now() - ageMs,
      ...(versioned ? { versionId: `ver${n}` } : {}),
    };
    return { version: v, upload: { bucket: BUCKET, key, uploadId: versioned ? `ver${n}` : `etag${n}` } };
  }
  const due = () => version(2 * 60 * MINUTE);
  const staleAt = () => clock.now() - options.claimStaleAfterMs - SKEW_MS - 1;
  /** The event EventBridge delivered for a version, which Triage keeps with its claim. */
  const eventOf = (v: { version: InventoryRow; upload: ObjectVersion }) => ({
    'detail-type': 'Object Created',
    source: 'aws.s3',
    detail: {
      bucket: { name: BUCKET },
      object: { key: v.upload.key, 'version-id': v.upload.uploadId, sequencer: `S${v.upload.uploadId}` },
    },
  });
  /** Claims a version as Triage does: its claim is also its entry in the time index. */
  const claim = (
    v: { version: InventoryRow; upload: ObjectVersion },
    owner: string,
    claimedAt: number,
    event: unknown = eventOf(v),
  ) => store.claimObject(v.upload, owner, claimedAt, 1, event, v.version.lastModified);

  it('looks only at uploads written between the lookback and the deadline, in the index and the inventory', async () => {
    const ages = [options.deadlineMs, options.deadlineMs + 1, options.lookbackMs, options.lookbackMs + 1];
    const claimed = ages.map((age) => version(age));
    const lost = ages.map((age) => version(age));
    for (const c of claimed) await claim(c, 'exec-dead', staleAt());
    const { summary, starts } = await sweep(lost.map((l) => l.version));
    expect(starts.map((s) => s.name).sort()).toEqual(
      [claimed[1], claimed[2], lost[1], lost[2]].map((v) => redriveExecutionName(v!.upload, 1)).sort(),
    );
    expect(summary).toEqual({
      indexed: 2,
      inventoried: 4,
      inventory: expect.stringMatching(/\/manifest\.json$/),
      candidates: 4,
      redriven: 4,
      skippedTerminal: 0,
      inFlight: 0,
      alreadyRedriven: 0,
      abandoned: 0,
      capped: false,
    });
  });

  it('never lists the ingest bucket: it queries the index and reads the inventory, listing only its folders', async () => {
    const claimed = due();
    const lost = due();
    await claim(claimed, 'exec-dead', staleAt());
    requests.length = 0;
    const { summary, inventory } = await sweep([lost.version]);
    expect(summary).toMatchObject({ indexed: 1, redriven: 2 });
    const onIngest = requests.filter((r) => r.bucket === BUCKET);
    expect(onIngest).toEqual([]);
    const listings = requests.filter((r) => /^List/.test(r.command));
    expect(listings).toEqual([{ command: 'ListObjectsV2Command', bucket: inventory.bucket }]);
    expect(requests.map((r) => r.command)).not.toContain('ListObjectVersionsCommand');
  });

  it('re-drives once an upload that has no record and only the inventory shows, with the event the trigger rule would have delivered', async () => {
    const versioned = due();
    const unversioned = version(2 * 60 * MINUTE, false);
    const starts: { name: string; input: unknown }[] = [];
    const first = await sweep([versioned.version, unversioned.version], {}, 'remember', starts);
    expect(first.summary).toMatchObject({ indexed: 0, inventoried: 2, redriven: 2 });
    const input = starts.find((s) => s.name === redriveExecutionName(versioned.upload, 1))?.input;
    expect(ObjectCreatedEventSchema.parse(input)).toEqual({
      'detail-type': 'Object Created',
      source: 'aws.s3',
      time: new Date(versioned.version.lastModified).toISOString().replace('.000Z', 'Z'),
      detail: {
        bucket: { name: BUCKET },
        object: {
          // Decoded: the inventory writes `in/upload+1+%2B%C3%BC.bin`.
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
    // The next run finds the same names taken: no second execution of either.
    const second = await sweep([versioned.version, unversioned.version], {}, 'remember', starts);
    expect(second.summary).toMatchObject({ redriven: 0, alreadyRedriven: 2 });
  });

  it('skips uploads that ended with a verdict or a failure, and delete markers', async () => {
    const verdict = due();
    const failed = due();
    const deleted = due();
    await store.putObjectRecord({ ...verdict.upload, versionId: null, status: 'verdict', at: 1 });
    await store.putObjectRecord({ ...failed.upload, versionId: null, status: 'failed', at: 1 });
    const { summary, starts } = await sweep([
      verdict.version,
      failed.version,
      { ...deleted.version, isDeleteMarker: true },
    ]);
    expect(starts).toEqual([]);
    expect(summary).toMatchObject({ indexed: 0, inventoried: 3, candidates: 2, skippedTerminal: 2, redriven: 0 });
  });

  it('ignores uploads outside the prefix', async () => {
    const outside = due();
    const elsewhere = { ...outside.version, key: `out/${outside.version.key}` };
    await store.claimObject(
      { ...outside.upload, key: elsewhere.key },
      'exec-dead',
      staleAt(),
      1,
      {},
      elsewhere.lastModified,
    );
    const { summary, starts } = await sweep([elsewhere], { prefix: 'in/' });
    expect(starts).toEqual([]);
    expect(summary).toMatchObject({ indexed: 0, inventoried: 1, candidates: 0 });
  });

  it("re-drives the dead executions of every source's uploads under its prefixes, and of no other bucket", async () => {
    const source = (bucket: string, key: string) => {
      const v = due();
      const moved = { version: { ...v.version, key }, upload: { ...v.upload, bucket, key } };
      const event = { ...eventOf(moved), detail: { ...eventOf(moved).detail, bucket: { name: bucket } } };
      return { v: moved, event };
    };
    const team = source('team-uploads', 'incoming/report.pdf');
    const teamOutside = source('team-uploads', 'archive/old.pdf');
    const stranger = source('detached-bucket', 'incoming/x.bin');
    const ingest = due();
    for (const [x, event] of [
      [team.v, team.event],
      [teamOutside.v, teamOutside.event],
      [stranger.v, stranger.event],
      [ingest, eventOf(ingest)],
    ] as const)
      await claim(x, 'exec-dead', staleAt(), event);
    const { summary, starts } = await sweep(undefined, {
      sources: [
        { bucket: BUCKET, prefixes: [''] },
        { bucket: 'team-uploads', prefixes: ['incoming/', 'mail/'] },
      ],
    });
    expect(summary).toMatchObject({ indexed: 2, redriven: 2 });
    expect(starts.map((s) => s.name).sort()).toEqual(
      [redriveExecutionName(team.v.upload, 1), redriveExecutionName(ingest.upload, 1)].sort(),
    );
    expect(starts.find((s) => s.name === redriveExecutionName(team.v.upload, 1))?.input).toEqual(team.event);
  });

  it('leaves a claim alone until it is older than the execution timeout plus the skew margin, then re-drives with the kept event', async () => {
    const staleBound = clock.now() - options.claimStaleAfterMs - SKEW_MS;
    const young = due();
    const stale = due();
    await claim(young, 'exec-young', staleBound);
    await claim(stale, 'exec-dead', staleBound - 1);
    // The inventory shows both too: each is checked once.
    const { summary, starts } = await sweep([young.version, stale.version]);
    expect(summary).toMatchObject({ indexed: 2, candidates: 2, inFlight: 1, redriven: 1 });
    expect(starts).toEqual([{ name: redriveExecutionName(stale.upload, 1), input: eventOf(stale) }]);
  });

  it('finds a stale claim by the time index alone, with no inventory yet', async () => {
    const stale = due();
    await claim(stale, 'exec-dead', staleAt());
    const { summary, starts, log } = await sweep(undefined);
    expect(summary).toMatchObject({ indexed: 1, inventoried: 0, inventory: null, redriven: 1 });
    expect(starts.map((s) => s.name)).toEqual([redriveExecutionName(stale.upload, 1)]);
    expect(log.lines).toContainEqual(
      expect.objectContaining({ level: 'warn', message: expect.stringMatching(/no S3 Inventory/) }),
    );
    // Without an inventory location at all, the same.
    clock.advance((options.lookbackMs + DAY) / 1000);
    const again = due();
    await claim(again, 'exec-dead', staleAt());
    expect((await sweep(undefined, { inventory: undefined })).summary).toMatchObject({ indexed: 1, redriven: 1 });
    // Nor does an inventory bucket that does not exist stop it.
    clock.advance((options.lookbackMs + DAY) / 1000);
    const third = due();
    await claim(third, 'exec-dead', staleAt());
    const missing = await sweep(undefined, {
      inventory: { bucket: 'no-such-inventory-bucket', prefix: 'ingest/x/y/' },
    });
    expect(missing.summary).toMatchObject({ indexed: 1, redriven: 1, inventory: null });
  });

  it('refuses a manifest that is not JSON, and sweeps the index all the same', async () => {
    const stale = due();
    await claim(stale, 'exec-dead', staleAt());
    const { prefix } = await inventoryOf(undefined);
    await aws.clients.s3.send(
      new PutObjectCommand({
        Bucket: UNIT.inventory,
        Key: `${prefix}2030-01-01T00-00Z/manifest.json`,
        Body: '{"trunc',
      }),
    );
    const log = recordingLog();
    const summary = await sweepUploads(
      { s3: aws.clients.s3, store, clock, log, executions: { startExecution: async () => 'started' } },
      { ...options, inventory: { bucket: UNIT.inventory, prefix } },
    );
    expect(summary).toMatchObject({ inventory: null, indexed: 1, redriven: 1 });
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        extra: { error: expect.stringMatching(/manifest\.json refused: not JSON/) },
      }),
    );
  });

  it("uses the inventory's event when the kept one is of another upload, a reanalysis, or not an event; abandons one the inventory does not show", async () => {
    const other = due();
    const reanalysis = due();
    const broken = due();
    const unlisted = due();
    await claim(other, 'exec-1', staleAt(), {
      ...eventOf(other),
      detail: { ...eventOf(other).detail, object: { key: other.upload.key, 'version-id': 'some-other-version' } },
    });
    await claim(reanalysis, 'exec-2', staleAt(), { ...eventOf(reanalysis), sandtrap: { reanalyze: true } });
    await claim(broken, 'exec-3', staleAt(), { hello: 'world' });
    await claim(unlisted, 'exec-4', staleAt(), { hello: 'world' });
    const { summary, starts, log } = await sweep([other.version, reanalysis.version, broken.version]);
    expect(starts).toHaveLength(3);
    for (const { upload } of [other, reanalysis, broken]) {
      const input = starts.find((s) => s.name === redriveExecutionName(upload, 1))?.input as {
        detail: { object: { key: string; 'version-id': string } };
        sandtrap?: unknown;
      };
      expect(input.detail.object).toMatchObject({ key: upload.key, 'version-id': upload.uploadId });
      expect(input.sandtrap).toBeUndefined();
    }
    expect(summary).toMatchObject({ indexed: 4, redriven: 3, abandoned: 1 });
    expect(log.lines).toContainEqual(
      expect.objectContaining({ level: 'error', extra: expect.objectContaining({ key: unlisted.upload.key }) }),
    );
  });

  it("counts attempts from the stale claim's re-drive name, and abandons an upload after maxAttempts", async () => {
    const second = due();
    const exhausted = due();
    const foreign = due();
    const arn = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:Analysis:${name}`;
    await claim(second, arn(redriveExecutionName(second.upload, 2)), staleAt());
    await claim(exhausted, arn(redriveExecutionName(exhausted.upload, 3)), staleAt());
    // A re-drive name of another upload says nothing about this one's attempts.
    await claim(foreign, arn(redriveExecutionName(second.upload, 2)), staleAt());
    const { summary, starts, log } = await sweep(undefined);
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

  describe('an inventory that does not fit', () => {
    it('skips a data file that is not gzip, not CSV of the schema, or not of its MD5, and reads the others', async () => {
      const [a, b, altered] = [due(), due(), due()];
      const rows = (v: { version: InventoryRow }) => [v.version];
      const { summary, starts, log } = await sweep([
        rows(a),
        new TextEncoder().encode('not gzip'),
        gzipSync('"only","three","fields"\n'),
        gzipSync(`"${BUCKET}","unterminated`),
        { rows: rows(altered), md5: '0'.repeat(32) },
        rows(b),
      ]);
      expect(starts.map((s) => s.name).sort()).toEqual([a, b].map((v) => redriveExecutionName(v.upload, 1)).sort());
      expect(summary).toMatchObject({ inventoried: 2, redriven: 2 });
      expect(log.lines.filter((l) => l.level === 'error' && /data file skipped/.test(l.message))).toHaveLength(4);
    });

    it('refuses a manifest not of the documented shape, or of another bucket, and sweeps the index all the same', async () => {
      for (const manifest of [
        { fileFormat: 'ORC' },
        { fileSchema: 'Bucket, Key' },
        { sourceBucket: 'some-other-bucket' },
        { files: 'none' },
      ]) {
        const lost = due();
        const stale = due();
        await claim(stale, 'exec-dead', staleAt());
        const inventory = await inventoryOf([[lost.version]], manifest);
        const { summary, starts, log } = await sweep(undefined, { inventory });
        expect(summary, JSON.stringify(manifest)).toMatchObject({ inventory: null, indexed: 1, redriven: 1 });
        expect(starts.map((s) => s.name)).toEqual([redriveExecutionName(stale.upload, 1)]);
        expect(log.lines).toContainEqual(
          expect.objectContaining({ level: 'error', message: expect.stringMatching(/manifest refused/) }),
        );
        clock.advance((options.lookbackMs + DAY) / 1000);
      }
    });

    it('reads the newest delivery, passing over one whose manifest is not written yet', async () => {
      const old = due();
      const newest = due();
      const destinationPrefix = `inventory-${++deliveries}`;
      const deliver = (scanStart: number, rows: InventoryRow[]) =>
        deliverInventory(aws.clients.s3, {
          bucket: UNIT.inventory,
          destinationPrefix,
          sourceBucket: BUCKET,
          scanStart,
          files: [rows],
        });
      await deliver(clock.now() - 2 * DAY, [old.version]);
      const { prefix, manifestKey } = await deliver(clock.now() - DAY, [newest.version]);
      // A delivery under way: its folder has no manifest yet.
      await aws.clients.s3.send(
        new PutObjectCommand({
          Bucket: UNIT.inventory,
          Key: `${prefix}2099-01-01T00-00Z/manifest.checksum`,
          Body: 'x',
        }),
      );
      const { summary, starts } = await sweep(undefined, { inventory: { bucket: UNIT.inventory, prefix } });
      expect(summary).toMatchObject({ inventory: manifestKey, inventoried: 1 });
      expect(starts.map((s) => s.name)).toEqual([redriveExecutionName(newest.upload, 1)]);
    });
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
