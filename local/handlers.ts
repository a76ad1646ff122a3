import type { HandlerDeps } from '../lambdas/core/deps';
import { createCheckPeerHandler } from '../lambdas/handlers/check-peer';
import { createCollectDetonationHandler } from '../lambdas/handlers/collect-detonation';
import { createPrepareDetonationHandler } from '../lambdas/handlers/prepare-detonation';
import { createFinalizeHandler } from '../lambdas/handlers/finalize';
import { createRecordFailureHandler } from '../lambdas/handlers/record-failure';
import { createTriageHandler } from '../lambdas/handlers/triage';
import { createVendorCollectHandler } from '../lambdas/handlers/vendor-collect';
import { createVendorPollHandler } from '../lambdas/handlers/vendor-poll';
import { createVendorSubmitHandler } from '../lambdas/handlers/vendor-submit';
import type { FunctionId } from '../lib/handlers';

/** A handler as the local runtime calls it: JSON in, JSON out. */
export type LocalHandler = (input: unknown) => Promise<unknown>;

/** The same handler factories the Lambda entry points wrap, by function id (the compiler checks every id is here). */
export const HANDLER_FACTORIES: Record<FunctionId, (deps: HandlerDeps) => LocalHandler> = {
  TriageFn: createTriageHandler,
  CheckPeerFn: createCheckPeerHandler,
  VendorSubmitFn: createVendorSubmitHandler,
  VendorPollFn: createVendorPollHandler,
  VendorCollectFn: createVendorCollectHandler,
  PrepareDetonationFn: createPrepareDetonationHandler,
  CollectDetonationFn: createCollectDetonationHandler,
  FinalizeFn: createFinalizeHandler,
  RecordFailureFn: createRecordFailureHandler,
};
