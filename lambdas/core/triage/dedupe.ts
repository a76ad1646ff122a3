import type { HandlerDeps } from '../runtime/deps';
import {
  type EngineId,
  type EngineResult,
  FINAL_ENGINE_STATUSES,
  type Sample,
  STATIC_ENGINE,
  type TriageOutcome,
} from '../contracts/pipeline';

/** How long the in-flight lock outlives the engine deadline before another execution may take over. */
const LOCK_MARGIN_SECONDS = 900;

/** What dedupe decided for a sample, and which engines run. */
export type AnalysisDecision = Pick<TriageOutcome, 'action' | 'waitSeconds' | 'engines' | 'reused' | 'waits'>;

/** Whether an analysis with these engines has to wait: every engine but the static one does. */
function waitsFor(action: TriageOutcome['action'], engines: readonly EngineId[]): boolean {
  if (action === 'cached' || action === 'joined') return false;
  return action === 'await-peer' || engines.some((engine) => engine !== STATIC_ENGINE);
}

/**
 * Decides whether this execution analyses a sample, and with which of the engines routing chose.
 * A fresh verdict whose engines all ended finally is reused (`cached`). A fresh verdict that rests on
 * an engine that errored or timed out is not: its final results are kept (`reused`) and only the
 * other engines run again. Otherwise the first execution to take the in-flight lock analyses
 * (`analyze`), so that concurrent uploads of the same bytes cost one vendor submission. The others,
 * given the `sample` to join, are joined to that analysis (`joined`): it serves each of them its
 * verdict when it ends, and they end now, polling nothing. Without a sample to join (a look after a
 * wait), or when the lock changed hands twice while joining, they wait and look again (`await-peer`).
 */
export async function decideAnalysis(
  deps: HandlerDeps,
  sha256: string,
  owner: string,
  routed: readonly EngineId[],
  bypassCache = false,
  join?: Sample,
): Promise<AnalysisDecision> {
  const now = deps.clock.now();
  const existing = bypassCache ? undefined : await deps.store.getVerdict(sha256);
  let reused: EngineResult[] = [];
  if (existing && now - existing.analyzedAt < deps.config.cacheTtlSeconds * 1000) {
    const final = new Map(
      existing.engineResults.filter((r) => FINAL_ENGINE_STATUSES.has(r.status)).map((r) => [r.engine, r]),
    );
    if (routed.every((engine) => final.has(engine)))
      return { action: 'cached', waitSeconds: 0, engines: [...routed], reused: [], waits: false };
    reused = routed.flatMap((engine) => final.get(engine) ?? []);
  }
  const engines = routed.filter((engine) => !reused.some((r) => r.engine === engine));
  const lockSeconds = deps.config.engineDeadlineSeconds + LOCK_MARGIN_SECONDS;
  if (await deps.store.acquireLock(sha256, owner, now, lockSeconds))
    return { action: 'analyze', waitSeconds: 0, engines, reused, waits: waitsFor('analyze', engines) };
  if (join) {
    const joined: AnalysisDecision = { action: 'joined', waitSeconds: 0, engines: [], reused: [], waits: false };
    // Joined first, then the lock read: an analysis that still holds the lock after the join was
    // written lists its joined uploads after it releases it, so it finds this one.
    await deps.store.joinAnalysis({ sample: join, owner, joinedAt: now }, lockSeconds);
    const holder = await deps.store.lockHolder(sha256, now);
    if (holder && holder !== owner) return joined;
    // The analysis ended (or died) in between: take the join back, unless it already served it.
    if (!(await deps.store.takeJoined(join))) return joined;
    return decideAnalysis(deps, sha256, owner, routed, bypassCache);
  }
  return {
    action: 'await-peer',
    waitSeconds: deps.config.peerWaitSeconds,
    engines: [...routed],
    reused: [],
    waits: true,
  };
}
