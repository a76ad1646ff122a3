// The public surface of the package: constructs to embed the pipeline, and the event contracts.
export { SandtrapStack, STACK_OUTPUTS, type SandtrapStackProps } from './sandtrap-stack';
export { Sandtrap, type SandtrapProps } from './sandtrap';
export {
  MAX_SOURCE_PREFIXES,
  type ResolvedSource,
  type SandtrapSource,
  type SourceEventBridge,
  type SourceOptions,
} from './sources';
export { readBlockingStatements } from './read-blocking';
export { SandtrapGrants, type SandtrapGrantTargets } from './grants';
export { SandtrapValidationError } from './validation';
export { IngestBuckets, SecureBucket, type IngestBucketsProps, type SecureBucketProps } from './ingest';
export { IngestTrigger, type IngestTriggerProps } from './ingest-trigger';
export { RedriveSweep, type RedriveSweepProps } from './redrive-sweep';
export { VerdictStoreTable, type VerdictStoreTableProps } from './verdict-store';
export { VerdictBus, type VerdictBusProps } from './verdict-bus';
export { AlarmTopic, type AlarmTopicProps } from './alarm-topic';
export { StaticEngineFunction, type StaticEngineFunctionProps } from './static-engine';
export { AnalysisWorkflow, STATES, type AnalysisWorkflowProps } from './workflow';
export { PipelineFunction, type PipelineFunctionProps } from './functions';
export { DependencyLayer } from './dependency-layer';
export { DetonationCluster, type DetonationClusterProps, type DetonationCapacity } from './detonation';
export { DetonationDnsFirewall, type DetonationDnsFirewallProps } from './detonation-dns-firewall';
export { ReadBlockingPolicy, type ReadBlockingPolicyProps } from './read-blocking';
export { SandtrapOperations, type SandtrapOperationsProps } from './operations';
export { SandtrapConfigSchema, parseSandtrapConfig, type SandtrapConfig, type SandtrapConfigInput } from './config';
export {
  SampleVerdictDetailSchema,
  SampleAnalysisFailedDetailSchema,
  VerdictDocumentSchema,
  EngineResultSchema,
  DETAIL_TYPE_VERDICT,
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_VERDICT_CHANGED,
  DETAIL_TYPE_VERDICT_OVERRIDDEN,
  SampleVerdictOverriddenDetailSchema,
  type SampleVerdictOverriddenDetail,
  EVENT_SOURCE,
  TAG_VERDICT,
  TAG_SCORE,
  type SampleVerdictDetail,
  type SampleAnalysisFailedDetail,
  type VerdictDocument,
  type EngineResult,
} from '../lambdas/core/contracts/pipeline';
