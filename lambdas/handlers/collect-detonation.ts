import * as z from 'zod';
import { lambdaHandler } from '../core/lambda';
import type { HandlerDeps } from '../core/deps';
import { collectDetonation } from '../core/detonation';
import type { EngineResult } from '../core/schemas';

export const CollectDetonationInputSchema = z.object({ detonation: z.object({ reportKey: z.string().min(1) }) });

/** Reads and validates the agent's report after the task stopped, and scores it. */
export function createCollectDetonationHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<EngineResult> =>
    collectDetonation(deps, CollectDetonationInputSchema.parse(rawInput).detonation.reportKey);
}

export const handler = lambdaHandler('CollectDetonation', createCollectDetonationHandler);
