import type { HandlerDeps } from '../lambdas/core/runtime/deps';
import type { ExecutionStarter } from '../lambdas/core/sweep/execution-starter';
import { createCheckPeerHandler } from '../lambdas/handlers/check-peer';
import { createCollectDetonationHandler } from '../lambdas/handlers/collect-detonation';
import { createPrepareDetonationHandler } from '../lambdas/handlers/prepare-detonation';
import { createFinalizeHandler } from '../lambdas/handlers/finalize';
import { createRecordFailureHandler } from '../lambdas/handlers/record-failure';
import { createSweepHandler } from '../lambdas/handlers/sweep';
import { createTriageHandler } from '../lambdas/handlers/triage';
import { createVendorCollectHandler } from '../lambdas/handlers/vendor-collect';
import { createVendorPollHandler } from '../lambdas/handlers/vendor-poll';
import { createVendorSubmitHandler } from '../lambdas/handlers/vendor-submit';
import type { FunctionId } from '../lib/steps';

/** A handler as the local runtime calls it: JSON in, JSON out. */
export type LocalHandler = (input: unknown) => Promise<unknown>;

/** What a function has locally besides its dependencies: its synthesized environment, and the local engine to start executions on. */
export interface LocalFunctionContext {
  environment: Record<string, string>;
  executions: ExecutionStarter;
}

/** The same handler factories the Lambda entry points wrap, by function id (the compiler checks every id is here). */
export const HANDLER_FACTORIES: Record<FunctionId, (deps: HandlerDeps, context: LocalFunctionContext) => LocalHandler> =
  {
    TriageFn: createTriageHandler,
    CheckPeerFn: createCheckPeerHandler,
    VendorSubmitFn: createVendorSubmitHandler,
    VendorPollFn: createVendorPollHandler,
    VendorCollectFn: createVendorCollectHandler,
    PrepareDetonationFn: createPrepareDetonationHandler,
    CollectDetonationFn: createCollectDetonationHandler,
    FinalizeFn: createFinalizeHandler,
    RecordFailureFn: createRecordFailureHandler,
    SweepFn: (deps, { environment, executions }) => createSweepHandler(deps, { env: environment, executions }),
  };
