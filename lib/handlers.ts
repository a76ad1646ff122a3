import { fileURLToPath } from 'node:url';

/**
 * The pipeline's Lambda functions: construct id → handler module. The CDK app bundles these entries,
 * and the local runtime calls the same modules in-process, so the two can never drift apart.
 */
export const FUNCTIONS = {
  TriageFn: 'triage',
  CheckPeerFn: 'check-peer',
  VendorSubmitFn: 'vendor-submit',
  VendorPollFn: 'vendor-poll',
  VendorCollectFn: 'vendor-collect',
  PrepareDetonationFn: 'prepare-detonation',
  CollectDetonationFn: 'collect-detonation',
  FinalizeFn: 'finalize',
  RecordFailureFn: 'record-failure',
  SweepFn: 'sweep',
} as const;

export type FunctionId = keyof typeof FUNCTIONS;

/** The functions the state machine invokes; `SweepFn` runs on a schedule beside it and starts executions. */
export type WorkflowFunctionId = Exclude<FunctionId, 'SweepFn'>;

/** Absolute path of a function's handler module. */
export function handlerEntry(id: FunctionId): string {
  return fileURLToPath(new URL(`../lambdas/handlers/${FUNCTIONS[id]}.ts`, import.meta.url));
}
