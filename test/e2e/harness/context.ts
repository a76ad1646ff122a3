import type { DeployedStack } from '../../../deployed/stack';

/** What the global setup hands to the e2e test files (`inject('e2e')`). */
export interface E2eContext {
  /** MiniStack's endpoint. */
  endpoint: string;
  /** Environment for processes that talk to MiniStack (the CLI): endpoint, dummy credentials, region. */
  env: Record<string, string>;
  /** The deployed Sandtrap stack (the e2e apps keep their ingest bucket). */
  stackName: string;
  stack: DeployedStack & { ingestBucket: string };
  /** The IAM-enforcing MiniStack (AUTH=true, TLS) of the guarded stack, and how its clients trust it. */
  guardedEndpoint: string;
  guardedEnv: Record<string, string>;
  guardedCaFile: string;
  /** The same app deployed there with quarantine and read-blocking on (vendors only). */
  guardedStackName: string;
  guardedStack: E2eContext['stack'];
  /** A bucket made before the deploy and attached as a source by the configuration, with its one prefix. */
  outsideBucket: { name: string; prefix: string };
  /** The sink stack's queue, which receives every event of the `sandtrap` bus. */
  queueUrl: string;
  /** The vendor emulators' control server (`GET /emulators`, `PUT /cape/malscore`). */
  controlUrl: string;
  /** Logs of this run: MiniStack's, the CDK commands'. */
  logDir: string;
  ministackLog: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: E2eContext;
  }
}
