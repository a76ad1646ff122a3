import * as z from 'zod';
import { lambdaHandler } from '../core/runtime/lambda';
import { createConnector } from '../vendors/registry';
import type { HandlerDeps } from '../core/runtime/deps';
import { SampleSchema, VendorIdSchema, type VendorJob } from '../core/contracts/pipeline';
import { advanceVendorJob, newVendorJob } from '../core/engines/vendor/vendor-jobs';

export const VendorSubmitInputSchema = z.object({ engine: VendorIdSchema, sample: SampleSchema });

/** Starts a vendor engine: submits the sample (or schedules the submission when rate limited). */
export function createVendorSubmitHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<VendorJob> => {
    const input = VendorSubmitInputSchema.parse(rawInput);
    return advanceVendorJob(deps, newVendorJob(deps, input.engine), input.sample);
  };
}

export const handler = lambdaHandler('VendorSubmit', createVendorSubmitHandler, createConnector);
