import * as z from 'zod';
import type { HandlerDeps } from '../core/runtime/deps';
import { type Sample, SampleSchema, type VendorJob, VendorJobSchema } from '../core/contracts/pipeline';

/** What the steps that carry a submitted vendor job on (poll, collect) are given: the job and its sample. */
export const VendorJobInputSchema = z.object({ job: VendorJobSchema, sample: SampleSchema });

/** The core handler of such a step: validates its input, then runs `step` on the job and sample. */
export function vendorJobHandler<O>(step: (deps: HandlerDeps, job: VendorJob, sample: Sample) => Promise<O>) {
  return (deps: HandlerDeps) =>
    async (rawInput: unknown): Promise<O> => {
      const input = VendorJobInputSchema.parse(rawInput);
      return step(deps, input.job, input.sample);
    };
}
