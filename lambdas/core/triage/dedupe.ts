import type { HandlerDeps } from '../runtime/deps';
import type { TriageOutcome } from '../contracts/pipeline';

/** How long the in-flight lock outlives the engine deadline before another execution may take over. */
const LOCK_MARGIN_SECONDS = 900;

/**
 * Decides whether this execution analyses a sample: a fresh verdict is reused (`cached`); otherwise
 * the first execution to take the in-flight lock analyses (`analyze`) and the others wait for its
 * verdict (`await-peer`), so that concurrent uploads of the same bytes cost one vendor submission.
 */
export async function decideAnalysis(
  deps: HandlerDeps,
  sha256: string,
  owner: string,
  bypassCache = false,
): Promise<Pick<TriageOutcome, 'action' | 'waitSeconds'>> {
  const now = deps.clock.now();
  const existing = bypassCache ? undefined : await deps.store.getVerdict(sha256);
  if (existing && now - existing.analyzedAt < deps.config.cacheTtlSeconds * 1000)
    return { action: 'cached', waitSeconds: 0 };
  const lockSeconds = deps.config.engineDeadlineSeconds + LOCK_MARGIN_SECONDS;
  if (await deps.store.acquireLock(sha256, owner, now, lockSeconds)) return { action: 'analyze', waitSeconds: 0 };
  return { action: 'await-peer', waitSeconds: deps.config.peerWaitSeconds };
}
