/**
 * Names that are contracts between the stack and what drives it from outside (the CLI, the e2e
 * harness, the detonation container). No CDK imports: the CLI loads this without aws-cdk-lib.
 */

/** Output names of the stack: the CLI finds a deployed pipeline through them. */
export const STACK_OUTPUTS = {
  ingestBucket: 'IngestBucketName',
  reportsBucket: 'ReportsBucketName',
  table: 'VerdictTableName',
  /** The Standard workflow (re-drives and reanalyses start it). */
  stateMachine: 'StateMachineArn',
  /** The Express front that every upload event starts. */
  frontStateMachine: 'FrontStateMachineArn',
  bus: 'VerdictBusName',
} as const;

/**
 * An output beside {@link STACK_OUTPUTS}, absent from stacks deployed before sources existed: every
 * source as JSON, `[{"bucket": name, "prefixes": ["", ...]}]` (`""`: every key), which `sandtrap scan`
 * checks its target against.
 */
export const SOURCES_OUTPUT = 'SourceBuckets';

/**
 * Environment variables the workflow sets per detonation task through container overrides (nothing
 * is baked into the task definition). The URLs are presigned, so the task needs no AWS credentials.
 */
export const DETONATION_ENV = {
  /** Presigned GET URL of the sample in the ingest bucket. */
  sampleUrl: 'SAMPLE_URL',
  /** Presigned PUT URL of the report under `reports/` in the reports bucket. */
  reportUrl: 'REPORT_URL',
  /** Presigned PUT URL of the packet capture, beside the report (same key, `.pcap`). */
  pcapUrl: 'PCAP_URL',
  /** JSON configuration of the agent (deadline, limits, tracer profile). */
  agentConfig: 'AGENT_CONFIG',
  /** Original file name of the sample (its extension drives type detection). */
  sampleName: 'SAMPLE_NAME',
} as const;
