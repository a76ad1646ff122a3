import type { HandlerDeps } from '../runtime/deps';
import {
  type EngineId,
  type EngineResult,
  FINAL_ENGINE_STATUSES,
  STATIC_ENGINE,
  type TriageOutcome,
} from '../contracts/pipeline';

/** How long the in-flight lock outlives the engine deadline before another execution may take over. */
const LOCK_MARGIN_SECONDS = 900;

/** What dedupe decided for a sample, and which engines run. */
export type AnalysisDecision = Pick<TriageOutcome, 'action' | 'waitSeconds' | 'engines' | 'reused' | 'waits'>;

/** Whether an analysis with these engines has to wait: every engine but the static one does. */
function waitsFor(action: TriageOutcome['action'], engines: readonly EngineId[]): boolean {
  if (action === 'cached') return false;
  return action === 'await-peer' || engines.some((engine) => engine !== STATIC_ENGINE);
}

/**
 * Decides whether this execution analyses a sample, and with which of the engines routing chose.
 * A fresh verdict whose engines all ended finally is reused (`cached`). A fresh verdict that rests on
 * an engine that errored or timed out is not: its final results are kept (`reused`) and only the
 * other engines run again. Otherwise the first execution to take the in-flight lock analyses
 * (`analyze`) and the others wait for its verdict (`await-peer`), so that concurrent uploads of the
 * same bytes cost one vendor submission.
 */
export async function decideAnalysis(
  deps: HandlerDeps,
  sha256: string,
  owner: string,
  routed: readonly EngineId[],
  bypassCache = false,
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
  return {
    action: 'await-peer',
    waitSeconds: deps.config.peerWaitSeconds,
    engines: [...routed],
    reused: [],
    waits: true,
  };
}
