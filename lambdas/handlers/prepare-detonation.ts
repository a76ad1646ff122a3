import * as z from 'zod';
import { lambdaHandler } from '../core/lambda';
import type { HandlerDeps } from '../core/deps';
import { prepareDetonation, type DetonationJob } from '../core/detonation';
import { SampleSchema } from '../core/schemas';

export const PrepareDetonationInputSchema = z.object({ sample: SampleSchema });

/** Presigns the sample and report URLs the detonation task is started with, and makes its run nonce. */
export function createPrepareDetonationHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<DetonationJob> =>
    prepareDetonation(deps, PrepareDetonationInputSchema.parse(rawInput).sample);
}

export const handler = lambdaHandler('PrepareDetonation', createPrepareDetonationHandler);
