import { lambdaHandler } from '../core/runtime/lambda';
import { createConnector } from '../vendors/registry';
import { advanceVendorJob } from '../core/engines/vendor/vendor-jobs';
import { vendorJobHandler } from './vendor-job-step';

/** Polls a vendor after a Wait state and decides the next wait, or that the report is ready. */
export const createVendorPollHandler = vendorJobHandler(advanceVendorJob);

export const handler = lambdaHandler('VendorPoll', createVendorPollHandler, createConnector);
