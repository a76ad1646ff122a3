import { fileURLToPath } from 'node:url';

/**
 * One manifest entry per pipeline step: the handler module, the state that invokes it, its memory and
 * timeout, and what it may touch. The CDK workflow builds functions, states and IAM statements from
 * it, the local runtime finds the same handler modules by it, and the bundle benchmark walks it, so a
 * step is described once. No CDK import here: the CLI and the local runtime load this module.
 */

/** Something a step's role is granted actions on; the workflow resolves each to ARNs. */
export type GrantTarget =
  /** Objects in the ingest bucket (every source bucket). */
  | 'ingestObjects'
  /** The ingest bucket itself (listing). */
  | 'ingestBucket'
  /** `reports/*` in the reports bucket. */
  | 'reportObjects'
  /** The verdict table. */
  | 'table'
  /** The verdict table's time index of unfinished uploads (Query). */
  | 'uploadIndex'
  /** Objects in the quarantine bucket; granted only when quarantine is on. */
  | 'quarantineObjects'
  /** Each enabled vendor's credential secret. */
  | 'vendorSecrets'
  /** The analysis state machine. */
  | 'stateMachine'
  /** The user rule packs' bucket, listing limited to their prefix. */
  | 'rulePackBucket'
  /** The user rule packs' objects (under their prefix). */
  | 'rulePackObjects'
  /** Sandtrap's event bus. */
  | 'eventBus';

/** Actions a step may perform on one target. */
export interface StepGrant {
  on: GrantTarget;
  actions: readonly string[];
  /** Only when quarantine is configured. */
  onlyWithQuarantine?: true;
}

/** What the manifest says of one step. */
export interface StepManifest {
  /**
   * Node steps: the module under lambdas/handlers/ exporting `handler` (and the factory the local
   * runtime calls). Python steps: the handler as Lambda names it (`package.module.function`).
   */
  module: string;
  /** The Lambda runtime family. @default 'node' */
  runtime?: 'node' | 'python';
  /** The state that invokes it; null for a function the schedule runs beside the state machine. */
  state: string | null;
  memoryMb: number;
  timeoutSeconds: number;
  grants: readonly StepGrant[];
}

const READ_OBJECT = ['s3:GetObject', 's3:GetObjectVersion'];
/** The shared rate limiter's counters. */
const RATE_LIMIT = { on: 'table', actions: ['dynamodb:UpdateItem', 'dynamodb:BatchGetItem'] } as const;
/** The learnt duration of each vendor's analyses (read at submission, updated when a report is ready). */
const VENDOR_TIMING = { on: 'table', actions: ['dynamodb:GetItem'] } as const;
const VENDOR_SECRET = {
  on: 'vendorSecrets',
  actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
} as const;

export const STEPS = {
  TriageFn: {
    module: 'triage',
    state: 'Triage',
    // Streams and hashes the whole object once.
    memoryMb: 1024,
    timeoutSeconds: 300,
    grants: [
      { on: 'ingestObjects', actions: READ_OBJECT },
      // DeleteItem takes back a join to an analysis that ended meanwhile.
      { on: 'table', actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'] },
    ],
  },
  CheckPeerFn: {
    module: 'check-peer',
    state: 'CheckPeer',
    memoryMb: 256,
    timeoutSeconds: 30,
    grants: [{ on: 'table', actions: ['dynamodb:GetItem', 'dynamodb:PutItem'] }],
  },
  VendorSubmitFn: {
    module: 'vendor-submit',
    state: 'SubmitToVendor',
    memoryMb: 512,
    timeoutSeconds: 300,
    grants: [{ on: 'ingestObjects', actions: READ_OBJECT }, RATE_LIMIT, VENDOR_TIMING, VENDOR_SECRET],
  },
  VendorPollFn: {
    module: 'vendor-poll',
    state: 'PollVendor',
    memoryMb: 256,
    timeoutSeconds: 60,
    // Polls never read the sample: every submission, deferred or not, runs in VendorSubmitFn.
    grants: [RATE_LIMIT, VENDOR_TIMING, VENDOR_SECRET],
  },
  VendorCollectFn: {
    module: 'vendor-collect',
    state: 'CollectVendorReport',
    // Streams the native report through gzip to S3.
    memoryMb: 1024,
    timeoutSeconds: 300,
    grants: [{ on: 'reportObjects', actions: ['s3:PutObject', 's3:AbortMultipartUpload'] }, RATE_LIMIT, VENDOR_SECRET],
  },
  StaticFn: {
    module: 'sandtrap_static.lambda_function.handler',
    runtime: 'python',
    state: 'StaticAnalysis',
    // Reads the object whole (up to static.maxFileBytes) and unpacks members within a 64 MiB budget;
    // 1769 MB is one full vCPU for the parsers and YARA-X.
    memoryMb: 1769,
    // The engine's own budget is 10 s of analysis plus a hard stop; reading a large object adds to it.
    timeoutSeconds: 120,
    grants: [
      { on: 'ingestObjects', actions: READ_OBJECT },
      { on: 'reportObjects', actions: ['s3:PutObject'] },
      { on: 'rulePackBucket', actions: ['s3:ListBucket'] },
      { on: 'rulePackObjects', actions: ['s3:GetObject'] },
    ],
  },
  ReserveDetonationFn: {
    module: 'reserve-detonation',
    state: 'ReserveDetonationSlot',
    memoryMb: 128,
    timeoutSeconds: 30,
    // The ticket counter and the slots' items of the detonation task slots.
    grants: [{ on: 'table', actions: ['dynamodb:UpdateItem'] }],
  },
  PrepareDetonationFn: {
    module: 'prepare-detonation',
    state: 'PrepareDetonation',
    memoryMb: 256,
    timeoutSeconds: 30,
    // Presigning needs the signer to hold the permission the URL grants: read the sample, write the report.
    grants: [
      { on: 'ingestObjects', actions: READ_OBJECT },
      { on: 'reportObjects', actions: ['s3:PutObject'] },
    ],
  },
  CollectDetonationFn: {
    module: 'collect-detonation',
    state: 'CollectDetonation',
    memoryMb: 512,
    timeoutSeconds: 60,
    grants: [
      { on: 'reportObjects', actions: ['s3:GetObject'] },
      // Giving the task slot's turn back early.
      { on: 'table', actions: ['dynamodb:UpdateItem'] },
    ],
  },
  FinalizeFn: {
    module: 'finalize',
    state: 'Finalize',
    memoryMb: 512,
    timeoutSeconds: 60,
    grants: [
      { on: 'reportObjects', actions: ['s3:PutObject', 's3:GetObject'] },
      {
        on: 'ingestObjects',
        actions: [
          's3:GetObjectTagging',
          's3:PutObjectTagging',
          's3:GetObjectVersionTagging',
          's3:PutObjectVersionTagging',
        ],
      },
      // Query lists the uploads joined to the analysis, served their verdict and published to the bus.
      { on: 'table', actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query'] },
      { on: 'eventBus', actions: ['events:PutEvents'] },
      // Moving a malicious object: copy the version (with its tags) to quarantine, delete the original version.
      {
        on: 'ingestObjects',
        actions: ['s3:GetObjectVersion', 's3:GetObjectVersionTagging', 's3:DeleteObject', 's3:DeleteObjectVersion'],
        onlyWithQuarantine: true,
      },
      // Tagging the copy names its version (s3:PutObjectVersionTagging); IAM-enforcing MiniStack caught its absence.
      {
        on: 'quarantineObjects',
        actions: ['s3:PutObject', 's3:PutObjectTagging', 's3:PutObjectVersionTagging'],
        onlyWithQuarantine: true,
      },
    ],
  },
  RecordFailureFn: {
    module: 'record-failure',
    state: 'RecordFailure',
    memoryMb: 256,
    timeoutSeconds: 30,
    // Query and UpdateItem release the uploads joined to a failed analysis to the sweep.
    grants: [
      { on: 'table', actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:UpdateItem'] },
    ],
  },
  SweepFn: {
    module: 'sweep',
    state: null,
    // Querying the time index, streaming an inventory, checking thousands of uploads and starting
    // maxRedrivesPerRun executions take seconds.
    memoryMb: 256,
    timeoutSeconds: 300,
    // The inventory (its delivery prefix only) is granted by the sweep construct; the ingest bucket, never.
    grants: [
      { on: 'table', actions: ['dynamodb:BatchGetItem'] },
      { on: 'uploadIndex', actions: ['dynamodb:Query'] },
      { on: 'stateMachine', actions: ['states:StartExecution'] },
    ],
  },
} as const satisfies Record<string, StepManifest>;

export type FunctionId = keyof typeof STEPS;

/** The functions the state machine invokes; `SweepFn` runs on a schedule beside it and starts executions. */
export type WorkflowFunctionId = Exclude<FunctionId, 'SweepFn'>;

/** Every function id, in manifest order. */
export const FUNCTION_IDS = Object.keys(STEPS) as FunctionId[];

/** The functions that run on Node.js (bundled by esbuild); the others are Python. */
export type NodeFunctionId = {
  [K in FunctionId]: (typeof STEPS)[K] extends { runtime: 'python' } ? never : K;
}[FunctionId];

/** Whether a step runs on Node.js. */
export function isNodeStep(id: FunctionId): id is NodeFunctionId {
  return (STEPS[id] as StepManifest).runtime !== 'python';
}

/** The Node.js function ids, in manifest order (the bundle benchmark and tests walk them). */
export const NODE_FUNCTION_IDS = FUNCTION_IDS.filter(isNodeStep);

/** Absolute path of a Node function's handler module. */
export function handlerEntry(id: NodeFunctionId): string {
  return fileURLToPath(new URL(`../lambdas/handlers/${STEPS[id].module}.ts`, import.meta.url));
}
