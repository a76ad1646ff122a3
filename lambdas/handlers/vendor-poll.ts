import * as z from 'zod';
import { lambdaHandler } from '../core/runtime/lambda';
import { vendorJobMetrics } from '../core/runtime/operational-metrics';
import { createConnector } from '../vendors/registry';
import type { HandlerDeps } from '../core/runtime/deps';
import { SampleSchema, type VendorJob, VendorJobSchema } from '../core/contracts/pipeline';
import { advanceVendorJob } from '../core/engines/vendor/vendor-jobs';

/** A submitted job: submissions belong to the submit function, which may read the sample. */
export const VendorPollInputSchema = z.object({
  job: VendorJobSchema.refine(
    (job) => job.phase !== 'queued',
    'a submitted job (queued jobs are submitted by SubmitQueuedSample)',
  ),
  sample: SampleSchema,
});

/** Polls a vendor after a Wait state and reserves the next wait, or the report's download. */
export function createVendorPollHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<VendorJob> => {
    const input = VendorPollInputSchema.parse(rawInput);
    return advanceVendorJob(deps, input.job, input.sample);
  };
}

export const handler = lambdaHandler('VendorPoll', createVendorPollHandler, createConnector, vendorJobMetrics);
