import * as z from 'zod';
import { lambdaHandler } from '../core/runtime/lambda';
import { vendorJobMetrics } from '../core/runtime/operational-metrics';
import { createConnector } from '../vendors/registry';
import type { HandlerDeps } from '../core/runtime/deps';
import { SampleSchema, VendorIdSchema, type VendorJob, VendorJobSchema } from '../core/contracts/pipeline';
import { advanceVendorJob, newVendorJob } from '../core/engines/vendor/vendor-jobs';

/** A vendor engine's start (`engine`), or a queued job whose submission slot has come (`job`). */
export const VendorSubmitInputSchema = z.union([
  z.object({ engine: VendorIdSchema, sample: SampleSchema }).strict(),
  z
    .object({ job: VendorJobSchema.refine((job) => job.phase === 'queued', 'a queued job'), sample: SampleSchema })
    .strict(),
]);

/**
 * Starts a vendor engine: reserves its submission slot and submits when the slot is now, or returns
 * the job queued with the seconds to wait; called again with that job once the wait is over. Every
 * submission runs here (this function has the memory and time for large uploads), never in the poll.
 */
export function createVendorSubmitHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<VendorJob> => {
    const input = VendorSubmitInputSchema.parse(rawInput);
    const job = 'job' in input ? input.job : newVendorJob(deps, input.engine);
    return advanceVendorJob(deps, job, input.sample);
  };
}

export const handler = lambdaHandler('VendorSubmit', createVendorSubmitHandler, createConnector, vendorJobMetrics);
