import * as z from 'zod';
import { lambdaHandler } from '../core/lambda';
import { createConnector } from '../vendors/registry';
import type { HandlerDeps } from '../core/deps';
import { SampleSchema, VendorJobSchema, type EngineResult } from '../core/schemas';
import { collectVendorReport } from '../core/vendor-jobs';

export const VendorCollectInputSchema = z.object({ job: VendorJobSchema, sample: SampleSchema });

/** Streams the vendor's report to S3 and scores it. */
export function createVendorCollectHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<EngineResult> => {
    const input = VendorCollectInputSchema.parse(rawInput);
    return collectVendorReport(deps, input.job, input.sample);
  };
}

export const handler = lambdaHandler('VendorCollect', createVendorCollectHandler, createConnector);
