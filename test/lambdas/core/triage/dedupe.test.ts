import { describe, expect, it } from 'vitest';
import { verdictRecordOf } from '../../../../lambdas/core/store/verdict-store';
import { decideAnalysis as decide } from '../../../../lambdas/core/triage/dedupe';
import type { EngineId, EngineResult, EngineStatus } from '../../../../lambdas/core/contracts/pipeline';
import { sampleOf, unitDeps, useLocalAws } from '../support';

const TTL_SECONDS = 3600;
const DEADLINE_SECONDS = 600;
/** How long the in-flight lock lasts: the engine deadline plus the margin dedupe adds (15 minutes). */
const LOCK_MS = (DEADLINE_SECONDS + 900) * 1000;
/** The engines routing chose for every sample here. */
const ROUTED: EngineId[] = ['static', 'cape'];

const result = (engine: EngineId, status: EngineStatus): EngineResult =>
  status === 'completed'
    ? { engine, status, verdict: 'benign', score: 5, reportKey: `reports/x/${engine}` }
    : { engine, status, verdict: 'unknown', score: null, reason: `${engine} ${status}` };

describe('decideAnalysis: reuse a verdict, analyse, or wait for the peer analysing the same bytes', () => {
  let n = 0;

  const unit = useLocalAws({
    settings: { cacheTtlSeconds: TTL_SECONDS, engineDeadlineSeconds: DEADLINE_SECONDS, peerWaitSeconds: 45 },
  });
  const { clock } = unit;

  /** A content hash no other test uses. */
  const fresh = () => sampleOf(`dedupe content ${++n}`);

  /** Decides for the engines of {@link ROUTED}. */
  const decideAnalysis = (deps: typeof unit.deps, sha256: string, owner: string, bypassCache = false) =>
    decide(deps, sha256, owner, ROUTED, bypassCache);

  /** Stores a verdict for the sample analysed `ageMs` ago, with these engine results (every routed engine completed by default). */
  async function verdictAged(
    sample: ReturnType<typeof sampleOf>,
    ageMs: number,
    results: EngineResult[] = ROUTED.map((engine) => result(engine, 'completed')),
  ) {
    const record = verdictRecordOf(sample, { verdict: 'benign', score: 5 }, results, clock.now() - ageMs, 1000, 'k');
    await unit.deps.store.putVerdict(record, TTL_SECONDS);
  }

  it('analyses content it has never seen, and makes a second execution wait for the first', async () => {
    const { sha256 } = fresh();
    expect(await decideAnalysis(unit.deps, sha256, 'exec-a')).toEqual({
      action: 'analyze',
      waitSeconds: 0,
      engines: ROUTED,
      reused: [],
      // A vendor among the engines: the analysis waits, so the front hands it to the Standard workflow.
      waits: true,
    });
    expect(await decideAnalysis(unit.deps, sha256, 'exec-b')).toEqual({
      action: 'await-peer',
      waitSeconds: 45,
      engines: ROUTED,
      reused: [],
      waits: true,
    });
  });

  it('lets the lock holder decide again (a retried Triage) without waiting on itself', async () => {
    const { sha256 } = fresh();
    await decideAnalysis(unit.deps, sha256, 'exec-a');
    expect((await decideAnalysis(unit.deps, sha256, 'exec-a')).action).toBe('analyze');
  });

  it('reuses a verdict younger than the cache TTL, taking no lock', async () => {
    const sample = fresh();
    await verdictAged(sample, TTL_SECONDS * 1000 - 1);
    expect(await decideAnalysis(unit.deps, sample.sha256, 'exec-a')).toMatchObject({
      action: 'cached',
      waitSeconds: 0,
    });
    // No lock was taken: an analysis that bypasses the cache is not made to wait.
    expect((await decideAnalysis(unit.deps, sample.sha256, 'exec-b', true)).action).toBe('analyze');
  });

  it('does not reuse a verdict that rests on an engine that errored: the rest is kept, that engine runs again', async () => {
    for (const status of ['error', 'timeout', 'failed', 'quota_exceeded', 'auth_failed'] as const) {
      const sample = fresh();
      const staticResult = result('static', 'completed');
      await verdictAged(sample, 0, [staticResult, result('cape', status)]);
      expect(await decideAnalysis(unit.deps, sample.sha256, 'exec-a'), status).toEqual({
        action: 'analyze',
        waitSeconds: 0,
        engines: ['cape'],
        reused: [staticResult],
        waits: true,
      });
    }
  });

  it('reuses a verdict whose engines refused the file for good (unsupported type, too large)', async () => {
    const sample = fresh();
    await verdictAged(sample, 0, [result('static', 'too_large'), result('cape', 'unsupported')]);
    expect(await decideAnalysis(unit.deps, sample.sha256, 'exec-a')).toMatchObject({ action: 'cached', waits: false });
  });

  it('runs an engine routed now that the stored verdict never had (a vendor configured since)', async () => {
    const sample = fresh();
    const staticResult = result('static', 'completed');
    // An engine no longer routed does not count, however it ended.
    await verdictAged(sample, 0, [staticResult, result('joe', 'error')]);
    expect(await decideAnalysis(unit.deps, sample.sha256, 'exec-a')).toMatchObject({
      action: 'analyze',
      engines: ['cape'],
      reused: [staticResult],
    });
  });

  it('analyses again once the verdict is exactly the TTL old', async () => {
    const sample = fresh();
    await verdictAged(sample, TTL_SECONDS * 1000);
    expect((await decideAnalysis(unit.deps, sample.sha256, 'exec-a')).action).toBe('analyze');
  });

  it('analyses a fresh verdict again when asked to bypass the cache (reanalysis)', async () => {
    const sample = fresh();
    await verdictAged(sample, 0);
    expect((await decideAnalysis(unit.deps, sample.sha256, 'exec-a', true)).action).toBe('analyze');
  });

  it('never serves from the cache when its TTL is 0', async () => {
    const noCache = unitDeps(unit.aws, { clock, settings: { cacheTtlSeconds: 0 } });
    const sample = fresh();
    await noCache.store.putVerdict(
      verdictRecordOf(
        sample,
        { verdict: 'benign', score: 5 },
        ROUTED.map((engine) => result(engine, 'completed')),
        clock.now(),
        1,
        'k',
      ),
      0,
    );
    expect((await decideAnalysis(noCache, sample.sha256, 'exec-a')).action).toBe('analyze');
  });

  it("takes over a dead holder's lock only after the engine deadline plus the margin", async () => {
    const { sha256 } = fresh();
    const start = clock.now();
    try {
      await decideAnalysis(unit.deps, sha256, 'exec-dead');
      clock.ms = start + LOCK_MS;
      expect((await decideAnalysis(unit.deps, sha256, 'exec-b')).action).toBe('await-peer');
      clock.ms = start + LOCK_MS + 1;
      expect((await decideAnalysis(unit.deps, sha256, 'exec-b')).action).toBe('analyze');
      // The new holder keeps it against the old one coming back.
      expect((await decideAnalysis(unit.deps, sha256, 'exec-dead')).action).toBe('await-peer');
    } finally {
      clock.ms = start;
    }
  });

  it('lets a waiting peer analyse once the holder released the lock', async () => {
    const { sha256 } = fresh();
    await decideAnalysis(unit.deps, sha256, 'exec-a');
    await unit.deps.store.releaseLock(sha256, 'exec-b');
    expect((await decideAnalysis(unit.deps, sha256, 'exec-c')).action).toBe('await-peer');
    await unit.deps.store.releaseLock(sha256, 'exec-a');
    expect((await decideAnalysis(unit.deps, sha256, 'exec-c')).action).toBe('analyze');
  });

  it('lets exactly one of many concurrent executions analyse the same content', async () => {
    const { sha256 } = fresh();
    const decisions = await Promise.all(
      Array.from({ length: 12 }, (_, i) => decideAnalysis(unit.deps, sha256, `exec-${i}`)),
    );
    expect(decisions.filter((d) => d.action === 'analyze')).toHaveLength(1);
    expect(decisions.filter((d) => d.action === 'await-peer')).toHaveLength(11);
  });

  describe('joining the analysis that holds the lock', () => {
    /** Decides for `owner` with its upload of `sample` to join, on these deps. */
    const join = (deps: typeof unit.deps, sample: ReturnType<typeof sampleOf>, owner: string) =>
      decide(deps, sample.sha256, owner, ROUTED, false, { ...sample, key: `joined/${owner}`, uploadId: owner });
    /** The deps with a store whose join runs `between` right after writing the join (a finalize meanwhile). */
    const racing = (between: (sample: ReturnType<typeof sampleOf>) => Promise<void>): typeof unit.deps => {
      const store = Object.create(unit.deps.store) as typeof unit.deps.store;
      store.joinAnalysis = async (joined, ttl) => {
        await unit.deps.store.joinAnalysis(joined, ttl);
        await between(joined.sample);
      };
      return { ...unit.deps, store };
    };

    it('joins a running analysis and ends: nothing waits, nothing polls, the analysis lists the upload', async () => {
      const sample = fresh();
      expect((await join(unit.deps, sample, 'exec-a')).action).toBe('analyze');
      expect(await join(unit.deps, sample, 'exec-b')).toEqual({
        action: 'joined',
        waitSeconds: 0,
        engines: [],
        reused: [],
        waits: false,
      });
      const joined = await unit.deps.store.joinedUploads(sample.sha256, 10);
      expect(joined.map((j) => [j.owner, j.sample.key, j.joinedAt])).toEqual([
        ['exec-b', 'joined/exec-b', clock.now()],
      ]);
    });

    it('takes its join back and uses the verdict when the analysis ended while it joined', async () => {
      const sample = fresh();
      await join(unit.deps, sample, 'exec-a');
      const deps = racing(async () => {
        await verdictAged(sample, 0);
        await unit.deps.store.releaseLock(sample.sha256, 'exec-a');
      });
      expect((await join(deps, sample, 'exec-b')).action).toBe('cached');
      expect(await unit.deps.store.joinedUploads(sample.sha256, 10)).toEqual([]);
    });

    it('stays joined when the ending analysis took it first: it is served, and decides nothing again', async () => {
      const sample = fresh();
      await join(unit.deps, sample, 'exec-a');
      const deps = racing(async (joined) => {
        await unit.deps.store.releaseLock(sample.sha256, 'exec-a');
        expect(await unit.deps.store.takeJoined(joined)).toBe(true);
      });
      expect((await join(deps, sample, 'exec-b')).action).toBe('joined');
    });

    it('analyses itself when the analysis died in between, leaving no verdict', async () => {
      const sample = fresh();
      await join(unit.deps, sample, 'exec-a');
      const deps = racing(() => unit.deps.store.releaseLock(sample.sha256, 'exec-a').then(() => undefined));
      expect((await join(deps, sample, 'exec-b')).action).toBe('analyze');
      expect(await unit.deps.store.lockHolder(sample.sha256, clock.now())).toBe('exec-b');
    });
  });
});
