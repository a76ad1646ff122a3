import type { HandlerDeps } from '../core/runtime/deps';
import { StepFunctionsStarter, type ExecutionStarter } from '../core/sweep/execution-starter';
import { lambdaHandler } from '../core/runtime/lambda';
import { sweepOptionsOf, sweepUploads, type SweepSummary } from '../core/sweep/sweep';
import { loadSweepConfig } from '../core/sweep/sweep-config';

/** Where the sweep's configuration and executions come from; the deployed function's environment and Step Functions by default. */
export interface SweepHandlerOptions {
  env?: Record<string, string | undefined>;
  executions?: ExecutionStarter;
}

/**
 * The scheduled re-drive sweep (see {@link sweepUploads}). Its input, EventBridge's scheduled event,
 * carries nothing it needs: every run looks at the bucket as it is.
 */
export function createSweepHandler(deps: HandlerDeps, options: SweepHandlerOptions = {}) {
  const config = loadSweepConfig(options.env ?? process.env);
  const executions = options.executions ?? new StepFunctionsStarter(config.stateMachineArn);
  const sweepOptions = sweepOptionsOf(config, deps.config);
  return async (_scheduled?: unknown): Promise<SweepSummary> => {
    const summary = await sweepUploads(
      { s3: deps.clients.s3, store: deps.store, clock: deps.clock, log: deps.log, executions },
      sweepOptions,
    );
    deps.log.info('sweep ended', { ...summary });
    return summary;
  };
}

export const handler = lambdaHandler('Sweep', createSweepHandler, undefined, (summary) => ({
  ObjectsRedriven: summary.redriven,
  ObjectsAbandoned: summary.abandoned,
}));
