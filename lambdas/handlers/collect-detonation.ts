import * as z from 'zod';
import { lambdaHandler } from '../core/runtime/lambda';
import type { HandlerDeps } from '../core/runtime/deps';
import { collectDetonation } from '../core/engines/detonation/detonation-runs';
import { RunNonceSchema } from '../core/contracts/detonation-report';
import type { EngineResult } from '../core/contracts/pipeline';

/** Prepare's output as the state carries it: the report's key and the nonce the report must echo. */
export const CollectDetonationInputSchema = z.object({
  detonation: z.object({ reportKey: z.string().min(1), runNonce: RunNonceSchema }),
});

/** Reads and validates the agent's report after the task stopped, checks it belongs to this run, and scores it. */
export function createCollectDetonationHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<EngineResult> => {
    const { reportKey, runNonce } = CollectDetonationInputSchema.parse(rawInput).detonation;
    return collectDetonation(deps, reportKey, runNonce);
  };
}

export const handler = lambdaHandler('CollectDetonation', createCollectDetonationHandler);
