import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DETAIL_TYPE_FAILED, DETAIL_TYPE_VERDICT } from '../lambdas/core/contracts/pipeline';
import type { FunctionId } from '../lib/steps';
import { STATES } from '../lib/workflow';
import type { ObjectCreatedEvent } from '../lambdas/core/contracts/pipeline';
import { CapeEmulator } from '../emulators/cape';
import { type EmulatorFault, vendorHasFault } from '../emulators/emulator';
import { startVendorHarness, type VendorHarness } from './support';

/** A small seeded generator, so that a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every fault CAPE can produce (it has no quota). */
const VENDOR_FAULTS = (
  [
    'bad-key',
    'rate-limited',
    'quota',
    'server-error',
    'truncated',
    'malformed',
    'unsupported',
    'oversize',
    'failed-analysis',
  ] as const satisfies EmulatorFault[]
).filter((fault) => vendorHasFault('cape', fault));

describe('nothing is lost under faults: 300 uploads with random faults switched on', () => {
  const seed = Number(process.env.SANDTRAP_FAULT_SEED ?? 20261122);
  const rand = random(seed);
  const uploads = 300;
  let h: VendorHarness<CapeEmulator>;
  const crashOn = new Map<string, FunctionId>();
  let throttling = true;
  const deleteOn = new Set<string>();

  beforeAll(async () => {
    h = await startVendorHarness(
      (clock) => new CapeEmulator({ clock, queueSeconds: 5, processingSeconds: 10, runSeconds: 30 }),
      // The deployed defaults: engines get an hour, claims go stale after the execution timeout. The
      // vendor engine's faults are under test, so the static engine is off.
      { static: { enabled: false } },
      {
        // A Lambda crashing mid-analysis, and an object deleted mid-analysis (before its vendor submission).
        beforeInvoke: async (fn, input) => {
          const key = (input as { sample?: { key?: string } }).sample?.key;
          if (!key) return;
          if (crashOn.get(key) === fn) {
            crashOn.delete(key);
            throw Object.assign(new Error(`injected crash in ${fn}`), { name: 'InjectedCrash' });
          }
          if (fn === 'VendorSubmitFn' && deleteOn.delete(key)) {
            await h.pipeline.clients.s3.send(
              new DeleteObjectCommand({ Bucket: h.pipeline.plan.buckets.ingest, Key: key }),
            );
          }
        },
      },
    );
    // Vendor faults on one request in ten, of every kind the emulator has.
    h.emulator.faultFor = () =>
      rand() < 0.1 ? (VENDOR_FAULTS[Math.floor(rand() * VENDOR_FAULTS.length)] ?? 'none') : 'none';
    // DynamoDB throttling on one call in twenty, below the SDK's own retries (the state machine must
    // retry), while the executions run: the test's own reads of the outcome are not throttled.
    h.pipeline.clients.ddb.middlewareStack.add(
      (next) => async (args) => {
        if (throttling && rand() < 0.05)
          throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
            name: 'ProvisionedThroughputExceededException',
          });
        return next(args);
      },
      { step: 'initialize', name: 'injectThrottling' },
    );
  });
  afterAll(async () => h?.stop());

  it(`ends every uploaded object with exactly one terminal record and one event (seed ${seed})`, async () => {
    const crashable: FunctionId[] = ['VendorSubmitFn', 'VendorPollFn', 'VendorCollectFn', 'FinalizeFn'];
    const events: ObjectCreatedEvent[] = [];
    for (let i = 0; i < uploads; i++) {
      const key = `faults/${i}.js`;
      const roll = rand();
      if (roll < 0.05) crashOn.set(key, crashable[Math.floor(rand() * crashable.length)] as FunctionId);
      else if (roll < 0.08) deleteOn.add(key);
      events.push(
        await h.pipeline.upload({ key, body: `// upload ${i}${i % 7 === 0 ? ' SANDTRAP-TEST-MALICIOUS' : ''}\n` }),
      );
    }
    // Duplicate deliveries of one event in ten, running at the same time as the original.
    const deliveries = events.flatMap((event) => (rand() < 0.1 ? [event, event] : [event]));
    const startedAt = h.clock.now();
    const runs = await Promise.all(deliveries.map((event) => h.pipeline.run(event)));
    throttling = false;
    // Concurrent waits overlap on the virtual clock: the run takes the minutes one analysis with its
    // retries would (about 6 minutes for this seed), well within the engines' hour; the clock that
    // moved by every wait ran for hours.
    expect(h.clock.now() - startedAt).toBeLessThan(30 * 60_000);

    // Every execution ended: a verdict, a reported failure, or a duplicate ignored (never silently).
    for (const run of runs) {
      const last = run.transitions.at(-1)?.name;
      expect(
        [STATES.finalize, STATES.joined, STATES.failed, STATES.duplicate],
        `${run.error} ${run.cause?.slice(0, 200)}`,
      ).toContain(last);
    }
    if (process.env.SANDTRAP_FAULT_DEBUG) {
      deliveries.forEach((d, i) => {
        const twice = deliveries.filter((x) => x === d).length > 1;
        if (twice)
          console.log(
            d.detail.object.key,
            runs[i]?.transitions.map((t) => t.name).join('>'),
            runs[i]?.error,
            runs[i]?.cause?.slice(0, 300),
          );
      });
    }
    expect(runs.filter((r) => r.transitions.at(-1)?.name === STATES.duplicate)).toHaveLength(
      deliveries.length - uploads,
    );

    // One event per uploaded object, verdict or failure.
    const published = [...h.pipeline.events(DETAIL_TYPE_VERDICT), ...h.pipeline.events(DETAIL_TYPE_FAILED)];
    const perKey = new Map<string, number>();
    for (const event of published)
      perKey.set(String(event.detail.key), (perKey.get(String(event.detail.key)) ?? 0) + 1);
    expect(perKey.size).toBe(uploads);
    expect([...perKey.values()].every((n) => n === 1)).toBe(true);

    // One terminal record per upload.
    const deps = h.pipeline.deps('FinalizeFn');
    const records: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await deps.clients.ddb.send(
        new ScanCommand({ TableName: deps.config.tableName, ExclusiveStartKey: start }),
      );
      records.push(...(page.Items ?? []).filter((item) => String(item.pk).startsWith('OBJECT#')));
      start = page.LastEvaluatedKey;
    } while (start);
    expect(records).toHaveLength(uploads);
    expect(records.filter((r) => r.status !== 'verdict' && r.status !== 'failed')).toEqual([]);
    // The faults really happened.
    expect(
      h.pipeline
        .events(DETAIL_TYPE_VERDICT)
        .some((e) => (e.detail.engines as { status: string }[])[0]?.status !== 'completed'),
    ).toBe(true);
  }, 600_000);
});
