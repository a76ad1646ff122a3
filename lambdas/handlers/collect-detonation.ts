import * as z from 'zod';
import { lambdaHandler } from '../core/runtime/lambda';
import { engineLatencyMetrics } from '../core/runtime/operational-metrics';
import type { HandlerDeps } from '../core/runtime/deps';
import {
  collectDetonation,
  DetonationTurnSchema,
  releaseDetonationTurn,
} from '../core/engines/detonation/detonation-runs';
import { RunNonceSchema } from '../core/contracts/detonation-report';
import { DETONATION_ENGINE, type EngineResult } from '../core/contracts/pipeline';

/** Prepare's output as the state carries it: the report's key and the nonce the report must echo. */
export const CollectDetonationInputSchema = z.object({
  detonation: z.object({ reportKey: z.string().min(1), runNonce: RunNonceSchema }),
  /** The task slot's turn, given back early now that the task stopped. */
  turn: DetonationTurnSchema.optional(),
});

/** Reads and validates the agent's report after the task stopped, checks it belongs to this run, and scores it. */
export function createCollectDetonationHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<EngineResult> => {
    const input = CollectDetonationInputSchema.parse(rawInput);
    if (input.turn) await releaseDetonationTurn(deps, input.turn);
    return collectDetonation(deps, input.detonation.reportKey, input.detonation.runNonce);
  };
}

export const handler = lambdaHandler('CollectDetonation', createCollectDetonationHandler, undefined, (_result, input) =>
  engineLatencyMetrics(DETONATION_ENGINE, CollectDetonationInputSchema.safeParse(input).data?.turn?.at, Date.now()),
);
