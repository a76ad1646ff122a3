import { lambdaHandler } from '../core/lambda';
import type { HandlerDeps } from '../core/deps';
import { recordFailure } from '../core/failures';
import type { SampleAnalysisFailedDetail } from '../core/schemas';

/** Records a failed analysis and returns the `Sample Analysis Failed` detail, and whether to publish it. */
export function createRecordFailureHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<{ detail: SampleAnalysisFailedDetail; publish: boolean }> => {
    const input = (rawInput ?? {}) as { state?: unknown; executionId?: unknown };
    return recordFailure(deps, input.state, typeof input.executionId === 'string' ? input.executionId : undefined);
  };
}

export const handler = lambdaHandler('RecordFailure', createRecordFailureHandler);
