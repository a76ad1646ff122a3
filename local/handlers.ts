import type { HandlerDeps } from '../lambdas/core/runtime/deps';
import type { ExecutionStarter } from '../lambdas/core/sweep/execution-starter';
import { createCheckPeerHandler } from '../lambdas/handlers/check-peer';
import { createCollectDetonationHandler } from '../lambdas/handlers/collect-detonation';
import { createPrepareDetonationHandler } from '../lambdas/handlers/prepare-detonation';
import { createReserveDetonationHandler } from '../lambdas/handlers/reserve-detonation';
import { createFinalizeHandler } from '../lambdas/handlers/finalize';
import { createRecordFailureHandler } from '../lambdas/handlers/record-failure';
import { createSweepHandler } from '../lambdas/handlers/sweep';
import { createTriageHandler } from '../lambdas/handlers/triage';
import { createVendorCollectHandler } from '../lambdas/handlers/vendor-collect';
import { createVendorPollHandler } from '../lambdas/handlers/vendor-poll';
import { createVendorSubmitHandler } from '../lambdas/handlers/vendor-submit';
import type { FunctionId } from '../lib/steps';
import { fileURLToPath } from 'node:url';
import { LOCAL_CREDENTIALS } from './services';
import { ensureStaticVenv, StaticWorkerPool, type StaticWorkerUsage } from './static-worker';
import { LOCAL_ENV } from './template';

/** A handler as the local runtime calls it: JSON in, JSON out. */
export type LocalHandler = (input: unknown) => Promise<unknown>;

/**
 * What a function has locally besides its dependencies: its synthesized environment, the local
 * engine to start executions on, the local S3 endpoint, and a hook to release what it holds when the
 * pipeline stops.
 */
export interface LocalFunctionContext {
  environment: Record<string, string>;
  executions: ExecutionStarter;
  s3Endpoint: string;
  onStop(release: () => Promise<void>): void;
  /** Told the S3 requests a handler made outside the pipeline's SDK clients (a Python worker's). */
  onWorkerRequests(usage: StaticWorkerUsage): void;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The static engine is Python: its very Lambda handler runs in warm worker processes, reading the
 * sample from and writing its report to the local S3 with the local credentials only.
 */
function createStaticHandler(_deps: HandlerDeps, context: LocalFunctionContext): LocalHandler {
  let pool: StaticWorkerPool | undefined;
  return async (input) => {
    if (!pool) {
      // A fresh clone has no venv yet: make it once, on the first static analysis.
      ensureStaticVenv(ROOT);
      const created = new StaticWorkerPool({
        root: ROOT,
        env: {
          ...context.environment,
          AWS_ENDPOINT_URL_S3: context.s3Endpoint,
          AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
          AWS_REGION: LOCAL_ENV.region,
        },
        onUsage: context.onWorkerRequests,
      });
      context.onStop(() => created.close());
      pool = created;
    }
    return pool.invoke(input);
  };
}

/** The same handler factories the Lambda entry points wrap, by function id (the compiler checks every id is here). */
export const HANDLER_FACTORIES: Record<FunctionId, (deps: HandlerDeps, context: LocalFunctionContext) => LocalHandler> =
  {
    TriageFn: createTriageHandler,
    CheckPeerFn: createCheckPeerHandler,
    StaticFn: createStaticHandler,
    VendorSubmitFn: createVendorSubmitHandler,
    VendorPollFn: createVendorPollHandler,
    VendorCollectFn: createVendorCollectHandler,
    ReserveDetonationFn: createReserveDetonationHandler,
    PrepareDetonationFn: createPrepareDetonationHandler,
    CollectDetonationFn: createCollectDetonationHandler,
    FinalizeFn: createFinalizeHandler,
    RecordFailureFn: createRecordFailureHandler,
    SweepFn: (deps, { environment, executions }) => createSweepHandler(deps, { env: environment, executions }),
  };
