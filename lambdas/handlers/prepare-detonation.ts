import * as z from 'zod';
import { lambdaHandler } from '../core/runtime/lambda';
import type { HandlerDeps } from '../core/runtime/deps';
import { prepareDetonation, type DetonationJob } from '../core/engines/detonation/detonation-runs';
import { SampleSchema } from '../core/contracts/pipeline';

export const PrepareDetonationInputSchema = z.object({ sample: SampleSchema });

/** Presigns the sample and report URLs the detonation task is started with, and makes its run nonce. */
export function createPrepareDetonationHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<DetonationJob> =>
    prepareDetonation(deps, PrepareDetonationInputSchema.parse(rawInput).sample);
}

export const handler = lambdaHandler('PrepareDetonation', createPrepareDetonationHandler);
