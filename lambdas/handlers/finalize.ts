import { z } from 'zod';
import { lambdaHandler } from '../core/lambda';
import type { HandlerDeps } from '../core/deps';
import { EngineResultSchema, SampleSchema, type SampleVerdictDetail } from '../core/schemas';
import { finalizeVerdict } from '../core/verdicts';

export const FinalizeInputSchema = z.object({
  sample: SampleSchema,
  results: z.array(EngineResultSchema).nullable(),
  cached: z.boolean(),
  startedAt: z.number().int(),
  owner: z.string(),
});

/** Aggregates, stores and tags; returns the `Sample Verdict` detail for the PutEvents state. */
export function createFinalizeHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<SampleVerdictDetail> => finalizeVerdict(deps, FinalizeInputSchema.parse(rawInput));
}

export const handler = lambdaHandler('Finalize', createFinalizeHandler);
