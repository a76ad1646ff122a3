import { lambdaHandler } from '../core/runtime/lambda';
import type { HandlerDeps } from '../core/runtime/deps';
import { recordFailure } from '../core/verdict/failures';
import type { SampleAnalysisFailedDetail } from '../core/contracts/pipeline';

/** Records a failed analysis and returns the `Sample Analysis Failed` detail, and whether to publish it. */
export function createRecordFailureHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<{ detail: SampleAnalysisFailedDetail; publish: boolean }> => {
    const input = (rawInput ?? {}) as { state?: unknown; executionId?: unknown };
    return recordFailure(deps, input.state, typeof input.executionId === 'string' ? input.executionId : undefined);
  };
}

export const handler = lambdaHandler('RecordFailure', createRecordFailureHandler);
