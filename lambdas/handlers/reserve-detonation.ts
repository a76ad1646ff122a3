import * as z from 'zod';
import { lambdaHandler } from '../core/runtime/lambda';
import { OPERATIONAL_METRICS } from '../core/runtime/operational-metrics';
import type { HandlerDeps } from '../core/runtime/deps';
import { type DetonationTurn, reserveDetonationTurn } from '../core/engines/detonation/detonation-runs';

/** The execution reserving the turn: it alone may give the turn back early. */
export const ReserveDetonationInputSchema = z.object({ owner: z.string().min(1).max(2048) });

/**
 * Reserves the detonation's turn of a task slot and says how long to wait for it: the account's
 * Fargate capacity is a queue, not an error. The presigned URLs are made after the wait, so they
 * never expire in the queue.
 */
export function createReserveDetonationHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<DetonationTurn> =>
    reserveDetonationTurn(deps, ReserveDetonationInputSchema.parse(rawInput).owner);
}

export const handler = lambdaHandler('ReserveDetonation', createReserveDetonationHandler, undefined, (turn) => ({
  [OPERATIONAL_METRICS.detonationQueueSeconds]: { seconds: turn.waitSeconds },
}));
