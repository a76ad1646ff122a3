import * as z from 'zod';
import { lambdaHandler } from '../core/runtime/lambda';
import { verdictMetrics } from '../core/runtime/operational-metrics';
import type { HandlerDeps } from '../core/runtime/deps';
import { EngineResultSchema, SampleSchema, type FinalizeOutput } from '../core/contracts/pipeline';
import { finalizeVerdict } from '../core/verdict/finalize';
import { messageOf } from '../core/verdict/failures';

/** Longest engine reason kept: a caught Lambda error carries its whole stack trace. */
const MAX_REASON = 500;

export const FinalizeInputSchema = z.object({
  sample: SampleSchema,
  results: z.array(EngineResultSchema).nullable(),
  /** Final results of an earlier analysis kept for this one (see `decideAnalysis`). */
  reused: z.array(EngineResultSchema).default([]),
  /** What the Express front's engines found: results of this analysis like the others. */
  frontResults: z.array(EngineResultSchema).default([]),
  cached: z.boolean(),
  startedAt: z.number().int(),
  owner: z.string(),
});

/** Aggregates, stores and tags; returns the event details for the PutEvents states. */
export function createFinalizeHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<FinalizeOutput> => {
    const input = FinalizeInputSchema.parse(rawInput);
    const ran =
      input.results === null && input.frontResults.length === 0
        ? null
        : [...input.frontResults, ...(input.results ?? [])];
    const results =
      ran?.map((r) => (r.reason ? { ...r, reason: messageOf(r.reason).slice(0, MAX_REASON) } : r)) ?? null;
    return finalizeVerdict(deps, { ...input, results });
  };
}

export const handler = lambdaHandler('Finalize', createFinalizeHandler, undefined, verdictMetrics);
