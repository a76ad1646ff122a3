// The public surface of the package: constructs to embed the pipeline, and the event contracts.
export { SandtrapStack, STACK_OUTPUTS, type SandtrapStackProps } from './sandtrap-stack';
export { SandtrapGrants, type SandtrapGrantTargets } from './grants';
export { IngestBuckets, SecureBucket, type IngestBucketsProps, type SecureBucketProps } from './ingest';
export { IngestTrigger, type IngestTriggerProps } from './ingest-trigger';
export { RedriveSweep, type RedriveSweepProps } from './redrive-sweep';
export { VerdictStoreTable, type VerdictStoreTableProps } from './verdict-store';
export { VerdictBus, type VerdictBusProps } from './verdict-bus';
export { AlarmTopic, type AlarmTopicProps } from './alarm-topic';
export { StaticEngineFunction, type StaticEngineFunctionProps } from './static-engine';
export { AnalysisWorkflow, STATES, type AnalysisWorkflowProps } from './workflow';
export { PipelineFunction, type PipelineFunctionProps } from './functions';
export { SandtrapConfigSchema, parseSandtrapConfig, type SandtrapConfig, type SandtrapConfigInput } from './config';
export {
  SampleVerdictDetailSchema,
  SampleAnalysisFailedDetailSchema,
  VerdictDocumentSchema,
  EngineResultSchema,
  DETAIL_TYPE_VERDICT,
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_VERDICT_CHANGED,
  EVENT_SOURCE,
  TAG_VERDICT,
  TAG_SCORE,
  type SampleVerdictDetail,
  type SampleAnalysisFailedDetail,
  type VerdictDocument,
  type EngineResult,
} from '../lambdas/core/contracts/pipeline';
