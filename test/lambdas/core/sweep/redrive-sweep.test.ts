import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Log } from '../../../../lambdas/core/runtime/deps';
import type { ExecutionStarter } from '../../../../lambdas/core/sweep/execution-starter';
import {
  DETAIL_TYPE_VERDICT,
  ObjectCreatedEventSchema,
  uploadIdOf,
  type ObjectCreatedEvent,
} from '../../../../lambdas/core/contracts/pipeline';
import type { ObjectVersion, VerdictStore } from '../../../../lambdas/core/store/verdict-store';
import {
  redriveExecutionName,
  sweepOptionsOf,
  sweepUploads,
  type SweepOptions,
  type SweepSummary,
} from '../../../../lambdas/core/sweep/sweep';
import { loadSweepConfig } from '../../../../lambdas/core/sweep/sweep-config';
import { LocalPipeline } from '../../../../local/runtime';
import { deliverInventory } from './inventory-fixture';

const PREFIX = 'incoming/';
/** S3 reports LastModified to the second: uploads a second apart are told apart by any listing. */
const SECOND = 1_100;
const quiet: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Holds executions at a function until released, and tells when a number of them have arrived. */
class Gate {
  private arrivals = 0;
  private readonly waiting: { count: number; arrived: () => void }[] = [];
  private open!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.open = resolve));

  async pass(): Promise<void> {
    this.arrivals++;
    for (const waiter of this.waiting) if (this.arrivals >= waiter.count) waiter.arrived();
    await this.opened;
  }

  reached(count: number): Promise<void> {
    return this.arrivals >= count ? Promise.resolve() : new Promise((arrived) => this.waiting.push({ count, arrived }));
  }

  release(): void {
    this.open();
  }
}

describe('the scheduled re-drive sweep', () => {
  let pipeline: LocalPipeline;
  let store: VerdictStore;
  const events = new Map<string, ObjectCreatedEvent>();
  /** Every StartExecution the sweep made, in order, and what it did. */
  const starts: { name: string; input: unknown; outcome: string }[] = [];
  const executions: ExecutionStarter = {
    async startExecution(name, input) {
      const outcome = await pipeline.startExecution(name, input);
      starts.push({ name, input, outcome });
      return outcome;
    },
  };

  /**
   * Uploads an object and keeps the event S3 sends for it, naming the upload as an inventory does. s3rver
   * keeps no versions, so an inventory names an upload by its ETag, where S3's events to an unversioned
   * bucket add a sequencer; on Sandtrap's versioned bucket both name it by its version id.
   */
  async function upload(key: string, body: string): Promise<ObjectCreatedEvent> {
    const uploaded = await pipeline.upload({ key, body });
    const { sequencer: _sequencer, ...object } = uploaded.detail.object;
    const event = { ...uploaded, detail: { ...uploaded.detail, object } };
    events.set(key, event);
    return event;
  }

  const uploadOf = (key: string): ObjectVersion => {
    const event = events.get(key);
    if (!event) throw new Error(`no upload ${key}`);
    return { bucket: event.detail.bucket.name, key, uploadId: uploadIdOf(event.detail.object) };
  };
  const recordOf = (key: string) => store.getObjectRecord(uploadOf(key));
  const executionArn = (name: string) =>
    `arn:aws:states:us-east-1:000000000000:execution:${pipeline.plan.stateMachineName}:${name}`;

  /** What S3 knows of every object of the ingest bucket (the test may list it; the sweep never does). */
  async function objects(): Promise<{ key: string; etag: string; size: number; lastModified: number }[]> {
    const { Contents } = await pipeline.clients.s3.send(
      new ListObjectsV2Command({ Bucket: pipeline.plan.buckets.ingest }),
    );
    return (Contents ?? []).map((o) => ({
      key: o.Key as string,
      etag: (o.ETag ?? '').replace(/"/g, ''),
      size: o.Size ?? 0,
      lastModified: (o.LastModified as Date).getTime(),
    }));
  }

  async function lastModified(): Promise<Map<string, number>> {
    return new Map((await objects()).map((o) => [o.key, o.lastModified]));
  }

  /**
   * Delivers the ingest bucket's S3 Inventory as S3 would, where the synthesized stack has it
   * delivered: every object under the ingest prefix (the configuration's filter), as of now.
   */
  let deliveries = 0;
  async function deliverIngestInventory(): Promise<string> {
    const env = pipeline.plan.functions.SweepFn.environment;
    const delivery = await deliverInventory(pipeline.clients.s3, {
      bucket: env.SANDTRAP_INVENTORY_BUCKET as string,
      destinationPrefix: 'ingest',
      sourceBucket: pipeline.plan.buckets.ingest,
      configId: 'sandtrap-sweep',
      scanStart: Date.UTC(2030, 0, 1 + deliveries++),
      files: [(await objects()).filter((o) => o.key.startsWith(PREFIX))],
    });
    expect(delivery.prefix).toBe(env.SANDTRAP_INVENTORY_PREFIX);
    return delivery.manifestKey;
  }
  let manifestKey: string;

  /** The sweep's options for a window that holds exactly these keys' uploads, and the time it runs at. */
  async function windowAround(keys: string[]): Promise<{ now: number; options: SweepOptions }> {
    const written = await lastModified();
    const times = keys.map((key) => written.get(key) as number);
    const env = pipeline.plan.functions.SweepFn.environment;
    const defaults = sweepOptionsOf(loadSweepConfig(env), pipeline.deps('SweepFn').config);
    const [after, before] = [Math.min(...times) - SECOND / 2, Math.max(...times) + SECOND / 2];
    for (const [key, at] of written)
      if (key.startsWith(PREFIX) && !keys.includes(key)) expect(at < after || at > before, key).toBe(true);
    const now = before + defaults.deadlineMs;
    return { now, options: { ...defaults, lookbackMs: now - after } };
  }

  const sweep = (now: number, options: SweepOptions): Promise<SweepSummary> =>
    sweepUploads({ s3: pipeline.clients.s3, store, clock: { now: () => now }, log: quiet, executions }, options);

  const due = [
    `${PREFIX}analysed.txt`,
    `${PREFIX}oversized.bin`,
    `${PREFIX}in-flight.txt`,
    `${PREFIX}lost.txt`,
    `${PREFIX}stale.txt`,
    `${PREFIX}unlucky.txt`,
  ];
  let window: { now: number; options: SweepOptions };
  /** One sweep run at the test's moment, with its options. */
  const sweepNow = () => sweep(window.now, window.options);
  let claimStaleAfterMs: number;
  /** Larger objects end in a failure record (ObjectTooLarge), the terminal record the sweep must leave alone. */
  const MAX_OBJECT_BYTES = 4096;
  /** Re-driven executions wait at Triage (not claimed yet) and at Finalize (claimed, not ended) until released. */
  const held = { TriageFn: new Gate(), FinalizeFn: new Gate() };

  beforeAll(async () => {
    pipeline = await LocalPipeline.start({
      virtualTime: true,
      cachePlan: false,
      config: { ingestPrefix: PREFIX, settings: { maxObjectBytes: MAX_OBJECT_BYTES } },
      beforeInvoke: async (id, input) => {
        const redriven = String((input as { owner?: unknown }).owner).includes(':redrive-');
        if (redriven && (id === 'TriageFn' || id === 'FinalizeFn')) await held[id].pass();
      },
    });
    store = pipeline.deps('SweepFn').store;
    claimStaleAfterMs = sweepOptionsOf(
      loadSweepConfig(pipeline.plan.functions.SweepFn.environment),
      pipeline.deps('SweepFn').config,
    ).claimStaleAfterMs;

    await upload(`${PREFIX}ancient.txt`, 'written before the lookback');
    await sleep(SECOND);
    for (const key of due)
      await upload(key, key.endsWith('.bin') ? 'x'.repeat(MAX_OBJECT_BYTES + 1) : `content of ${key}`);
    await upload('elsewhere/lost.txt', 'not under the ingest prefix: never analysed, never swept');
    await sleep(SECOND);
    await upload(`${PREFIX}fresh.txt`, 'written after the deadline');

    // Analysed: a verdict. Oversized: a failure record.
    expect((await pipeline.run(events.get(`${PREFIX}analysed.txt`))).status).toBe('SUCCEEDED');
    expect((await pipeline.run(events.get(`${PREFIX}oversized.bin`))).error).toBe('ObjectTooLarge');
    // Claimed by executions that ended longer ago than an execution can run (unlucky's was its third
    // re-drive), or by one that may still be running.
    // Each claim is indexed by when its upload was written, as Triage's is.
    const dead = Date.now() - claimStaleAfterMs - 10 * 60_000;
    const written = await lastModified();
    await store.claimObject(
      uploadOf(`${PREFIX}stale.txt`),
      executionArn('died'),
      dead,
      claimStaleAfterMs,
      events.get(`${PREFIX}stale.txt`),
      written.get(`${PREFIX}stale.txt`),
    );
    const unlucky = uploadOf(`${PREFIX}unlucky.txt`);
    await store.claimObject(
      unlucky,
      executionArn(redriveExecutionName(unlucky, 3)),
      dead,
      claimStaleAfterMs,
      events.get(`${PREFIX}unlucky.txt`),
      written.get(`${PREFIX}unlucky.txt`),
    );
    await store.claimObject(
      uploadOf(`${PREFIX}in-flight.txt`),
      executionArn('running'),
      Date.now(),
      claimStaleAfterMs,
      events.get(`${PREFIX}in-flight.txt`),
      written.get(`${PREFIX}in-flight.txt`),
    );

    window = await windowAround(due);
  });
  afterAll(async () => {
    held.TriageFn.release();
    held.FinalizeFn.release();
    await pipeline?.settled();
    await pipeline?.stop();
  });

  it('runs before any inventory is delivered (the local runtime gets none unless a test delivers one)', async () => {
    // Every upload is younger than the default deadline: nothing is due, and nothing fails.
    expect(await pipeline.sweep()).toMatchObject({ indexed: 0, inventoried: 0, inventory: null, candidates: 0 });
  });

  it('re-drives the upload whose execution died (time index) and the one whose event was lost (inventory), and nothing else', async () => {
    manifestKey = await deliverIngestInventory();
    expect(await sweepNow()).toEqual({
      indexed: 3,
      inventoried: 8,
      inventory: manifestKey,
      candidates: 6,
      redriven: 2,
      skippedTerminal: 2,
      inFlight: 1,
      alreadyRedriven: 0,
      abandoned: 1,
      capped: false,
    });
    const lost = uploadOf(`${PREFIX}lost.txt`);
    const stale = uploadOf(`${PREFIX}stale.txt`);
    // The time index first (fresh), then the inventory (a day old at most).
    expect(starts.map((s) => [s.name, s.outcome])).toEqual([
      [redriveExecutionName(stale, 1), 'started'],
      [redriveExecutionName(lost, 1), 'started'],
    ]);
    // The lost upload gets the event the trigger rule would have delivered; the stale one the event kept with its claim.
    const [staleInput, lostInput] = starts.map((s) => ObjectCreatedEventSchema.parse(s.input));
    expect(lostInput?.detail).toEqual({
      bucket: { name: pipeline.plan.buckets.ingest },
      object: events.get(lost.key)?.detail.object,
    });
    expect(staleInput).toEqual(events.get(stale.key));
  });

  it('starts no second analysis of an upload whose re-drive is under way, nor once it ended', async () => {
    // Started, not claimed yet: the execution names are taken.
    await held.TriageFn.reached(2);
    expect(await sweepNow()).toMatchObject({ redriven: 0, alreadyRedriven: 2, inFlight: 1, skippedTerminal: 2 });
    // Claimed by the re-driven executions: in flight.
    held.TriageFn.release();
    await held.FinalizeFn.reached(2);
    // Triage's claim of the lost upload is its entry in the time index: four unfinished uploads indexed.
    expect(await sweepNow()).toMatchObject({
      indexed: 4,
      redriven: 0,
      alreadyRedriven: 0,
      inFlight: 3,
      skippedTerminal: 2,
    });
    // Ended with a verdict.
    held.FinalizeFn.release();
    const reports = await pipeline.settled();
    expect([...reports.values()].map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(await sweepNow()).toEqual({
      indexed: 2,
      inventoried: 8,
      inventory: manifestKey,
      candidates: 6,
      redriven: 0,
      skippedTerminal: 4,
      inFlight: 1,
      alreadyRedriven: 0,
      abandoned: 1,
      capped: false,
    });
    expect(starts.filter((s) => s.outcome === 'started')).toHaveLength(2);
  });

  it("ends each re-driven upload with one verdict, the dead execution's claim taken over", async () => {
    for (const key of [`${PREFIX}lost.txt`, `${PREFIX}stale.txt`]) {
      expect(await recordOf(key), key).toMatchObject({
        status: 'verdict',
        owner: executionArn(redriveExecutionName(uploadOf(key), 1)),
      });
      expect(
        pipeline.events(DETAIL_TYPE_VERDICT).filter((e) => e.detail.key === key),
        key,
      ).toHaveLength(1);
    }
    // Left alone: too new, too old, outside the prefix, still in flight, given up on.
    expect(await recordOf(`${PREFIX}fresh.txt`)).toBeUndefined();
    expect(await recordOf(`${PREFIX}ancient.txt`)).toBeUndefined();
    expect(await recordOf('elsewhere/lost.txt')).toBeUndefined();
    expect(await recordOf(`${PREFIX}in-flight.txt`)).toMatchObject({
      status: 'analyzing',
      owner: executionArn('running'),
    });
    expect(await recordOf(`${PREFIX}unlucky.txt`)).toMatchObject({ status: 'analyzing' });
  });

  it('stops after maxRedrivesPerRun re-drives and leaves the rest to the next run', async () => {
    await sleep(SECOND);
    const burst = [1, 2, 3].map((n) => `${PREFIX}burst-${n}.txt`);
    for (const key of burst) await upload(key, `content of ${key}`);
    await deliverIngestInventory();
    const { now, options } = await windowAround(burst);
    expect(await sweep(now, { ...options, maxRedrives: 2 })).toMatchObject({
      candidates: 2,
      redriven: 2,
      capped: true,
    });
    expect(await sweep(now, options)).toMatchObject({ candidates: 3, redriven: 1, capped: false });
    await pipeline.settled();
    for (const key of burst) expect(await recordOf(key), key).toMatchObject({ status: 'verdict' });
  });

  it('runs as the deployed function does, configured by its synthesized environment', async () => {
    const env = pipeline.plan.functions.SweepFn.environment;
    expect(loadSweepConfig(env)).toEqual({
      ingestBucket: pipeline.plan.buckets.ingest,
      ingestPrefix: PREFIX,
      // Every source the stack analyses: here the ingest bucket alone, under its prefix.
      sources: [{ bucket: pipeline.plan.buckets.ingest, prefixes: [PREFIX] }],
      stateMachineArn: `arn:aws:states:us-east-1:000000000000:stateMachine:${pipeline.plan.stateMachineName}`,
      deadlineMinutes: 60,
      lookbackDays: 7,
      maxRedrivesPerRun: 100,
      maxAttempts: 3,
      inventoryBucket: env.SANDTRAP_INVENTORY_BUCKET,
      inventoryPrefix: `ingest/${pipeline.plan.buckets.ingest}/sandtrap-sweep/`,
    });
    // Every upload is younger than the default hour: nothing is due yet. The newest inventory lists
    // every upload under the prefix.
    expect(await pipeline.sweep()).toMatchObject({ indexed: 0, inventoried: 11, candidates: 0, redriven: 0 });
    expect(() => loadSweepConfig({ ...env, SANDTRAP_SWEEP: '{"deadlineMinutes":0}' })).toThrow(/deadlineMinutes/);
    expect(() => loadSweepConfig({ ...env, SANDTRAP_STATE_MACHINE_ARN: '' })).toThrow(
      /SANDTRAP_STATE_MACHINE_ARN[\s\S]*stateMachineArn/,
    );
  });
});
