import { lambdaHandler } from '../core/runtime/lambda';
import { engineLatencyMetrics } from '../core/runtime/operational-metrics';
import { createConnector } from '../vendors/registry';
import { collectVendorReport } from '../core/engines/vendor/vendor-jobs';
import { VendorJobInputSchema, vendorJobHandler } from './vendor-job-step';

/** Streams the vendor's report to S3 and scores it. */
export const createVendorCollectHandler = vendorJobHandler(collectVendorReport);

export const handler = lambdaHandler('VendorCollect', createVendorCollectHandler, createConnector, (result, input) =>
  engineLatencyMetrics(result.engine, VendorJobInputSchema.safeParse(input).data?.job.submittedAt, Date.now()),
);
