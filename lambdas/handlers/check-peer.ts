import { lambdaHandler } from '../core/runtime/lambda';
import { decideAnalysis } from '../core/triage/dedupe';
import type { HandlerDeps } from '../core/runtime/deps';
import { TriageOutcomeSchema, type TriageOutcome } from '../core/contracts/pipeline';

/** After a wait, looks again: the peer's verdict (`cached`), its lock released or expired (`analyze`), or wait on. */
export function createCheckPeerHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<TriageOutcome> => {
    const outcome = TriageOutcomeSchema.parse(rawInput);
    // While waiting, the outcome lists every engine routing chose (nothing is reused yet).
    const routed = [...outcome.reused.map((r) => r.engine), ...outcome.engines];
    const decision = await decideAnalysis(deps, outcome.sample.sha256, outcome.owner, routed);
    return { ...outcome, ...decision, frontEngines: [], frontResults: [] };
  };
}

export const handler = lambdaHandler('CheckPeer', createCheckPeerHandler);
