import * as z from 'zod';
import { lambdaHandler } from '../core/runtime/lambda';
import { createConnector } from '../vendors/registry';
import type { HandlerDeps } from '../core/runtime/deps';
import { SampleSchema, VendorJobSchema, type EngineResult } from '../core/contracts/pipeline';
import { collectVendorReport } from '../core/engines/vendor/vendor-jobs';

export const VendorCollectInputSchema = z.object({ job: VendorJobSchema, sample: SampleSchema });

/** Streams the vendor's report to S3 and scores it. */
export function createVendorCollectHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<EngineResult> => {
    const input = VendorCollectInputSchema.parse(rawInput);
    return collectVendorReport(deps, input.job, input.sample);
  };
}

export const handler = lambdaHandler('VendorCollect', createVendorCollectHandler, createConnector);
