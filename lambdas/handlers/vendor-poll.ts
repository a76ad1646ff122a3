import * as z from 'zod';
import { lambdaHandler } from '../core/runtime/lambda';
import { createConnector } from '../vendors/registry';
import type { HandlerDeps } from '../core/runtime/deps';
import { SampleSchema, VendorJobSchema, type VendorJob } from '../core/contracts/pipeline';
import { advanceVendorJob } from '../core/engines/vendor/vendor-jobs';

export const VendorPollInputSchema = z.object({ job: VendorJobSchema, sample: SampleSchema });

/** Polls a vendor after a Wait state and decides the next wait, or that the report is ready. */
export function createVendorPollHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<VendorJob> => {
    const input = VendorPollInputSchema.parse(rawInput);
    return advanceVendorJob(deps, input.job, input.sample);
  };
}

export const handler = lambdaHandler('VendorPoll', createVendorPollHandler, createConnector);
