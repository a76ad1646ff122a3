import * as z from 'zod';
import { TechniqueIdSchema, VendorFindingsSchema } from './findings';
import { StaticSummarySchema } from './static-report';

/** Every engine id the pipeline knows: the nine vendor connectors and our own detonation. */
export const VENDOR_IDS = [
  'cuckoo',
  'cape',
  'falcon',
  'fireeye',
  'joe',
  'vmray',
  'wildfire',
  'triage',
  'opswat',
] as const;
export const DETONATION_ENGINE = 'detonation' as const;
/** The static engine: every sample, every analysis (YARA-X rules and structural analysers, never running the file). */
export const STATIC_ENGINE = 'static' as const;

export const VendorIdSchema = z.enum(VENDOR_IDS);
export type VendorId = z.infer<typeof VendorIdSchema>;

export const EngineIdSchema = z.union([VendorIdSchema, z.literal(DETONATION_ENGINE), z.literal(STATIC_ENGINE)]);
export type EngineId = z.infer<typeof EngineIdSchema>;

export const VerdictSchema = z.enum(['benign', 'suspicious', 'malicious', 'unknown']);
export type Verdict = z.infer<typeof VerdictSchema>;

/**
 * How an engine ended. `completed` carries a score (or `unknown`); every other status explains why
 * the engine produced no usable score, and never fails the whole analysis.
 */
export const EngineStatusSchema = z.enum([
  'completed',
  'failed',
  'timeout',
  'error',
  'unsupported',
  'too_large',
  'quota_exceeded',
  'auth_failed',
]);
export type EngineStatus = z.infer<typeof EngineStatusSchema>;

/**
 * The statuses another run would not change: a score, or a refusal that belongs to the file (its
 * type or size). The others (an error, a timeout, a spent quota, a rejected key, a failed vendor
 * run) are the engine's bad luck, so a verdict resting on them is not reused for the cache's TTL.
 */
export const FINAL_ENGINE_STATUSES: ReadonlySet<EngineStatus> = new Set(['completed', 'unsupported', 'too_large']);

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');
const score = z.number().min(0).max(100);

/** The S3 `Object Created` event that EventBridge delivers to the state machine. */
export const ObjectCreatedEventSchema = z.object({
  'detail-type': z.literal('Object Created'),
  source: z.literal('aws.s3'),
  id: z.string().optional(),
  time: z.string().optional(),
  region: z.string().optional(),
  detail: z.object({
    bucket: z.object({ name: z.string().min(3).max(63) }),
    object: z.object({
      key: z.string().min(1).max(1024),
      size: z.number().int().nonnegative().optional(),
      etag: z.string().optional(),
      'version-id': z.string().optional(),
      sequencer: z.string().optional(),
    }),
    reason: z.string().optional(),
  }),
  /** Set by `sandtrap reanalyze`: analyse again even though a fresh verdict exists. */
  sandtrap: z.object({ reanalyze: z.boolean() }).optional(),
});
export type ObjectCreatedEvent = z.infer<typeof ObjectCreatedEventSchema>;

/** What triage learnt about one uploaded object; small enough to travel through every state. */
export const SampleSchema = z.object({
  bucket: z.string(),
  key: z.string(),
  versionId: z.string().nullable(),
  /** Tells two uploads of one key apart: the version id, else S3's sequencer, else the ETag. */
  uploadId: z.string(),
  size: z.number().int().nonnegative(),
  sha256,
  sha1: z.string().regex(/^[0-9a-f]{40}$/),
  md5: z.string().regex(/^[0-9a-f]{32}$/),
  fileType: z.string(),
  mimeType: z.string(),
  /** Vendors the upload's source may not disclose files to, which would otherwise have run. */
  withheld: z.lazy(() => z.array(WithheldEngineSchema).max(VENDOR_IDS.length)).optional(),
});
export type Sample = z.infer<typeof SampleSchema>;

/** A vendor that did not receive a file because its source's disclosure rule withholds it. */
export const WithheldEngineSchema = z.object({
  engine: VendorIdSchema,
  reason: z.literal('disclosure'),
  /** The rule's source, `<bucket or *>/<prefix>`. */
  source: z.string().max(1100),
});
export type WithheldEngine = z.infer<typeof WithheldEngineSchema>;

/** A vendor's own score, kept beside the normalised one so that nothing is lost in translation. */
export const NativeScoreSchema = z.object({
  value: z.union([z.number(), z.string(), z.null()]),
  scale: z.string(),
});
export type NativeScore = z.infer<typeof NativeScoreSchema>;

/**
 * A threat an engine named (a YARA rule's threat, a vendor's malware family), as GuardDuty's malware
 * scan result names threats: consumers match on `name`. Bounded, since an engine's input is hostile.
 */
export const ThreatSchema = z.object({
  name: z.string().min(1).max(200),
  engine: EngineIdSchema,
  family: z.string().max(200).optional(),
  category: z.string().max(100).optional(),
  confidence: z.enum(['low', 'medium', 'high']).optional(),
});
export type Threat = z.infer<typeof ThreatSchema>;

/** The most threats one engine result, and one verdict event, carries. */
export const MAX_THREATS = 20;

/** The most ATT&CK ids one verdict event carries: the event stays small, the document has each vendor's own. */
export const MAX_EVENT_ATTACK = 30;

/**
 * The one shape every engine branch ends in, whatever happened inside it. A missing score reads as
 * `null`: Step Functions Pass states cannot carry a literal null (CDK drops it from Parameters).
 */
export const EngineResultSchema = z.object({
  engine: EngineIdSchema,
  status: EngineStatusSchema,
  verdict: VerdictSchema,
  score: score.nullable().default(null),
  native: NativeScoreSchema.optional(),
  itemId: z.string().optional(),
  reportKey: z.string().nullable().optional(),
  /** The detonation's packet capture, stored beside its report (referenced by key, never inlined). */
  captureKey: z.string().optional(),
  reason: z.string().optional(),
  threats: z.array(ThreatSchema).max(MAX_THREATS).optional(),
  /** What a vendor concluded, read from its native report (families, top signatures, ATT&CK ids, hosts, its page). */
  findings: VendorFindingsSchema.optional(),
});
export type EngineResult = z.infer<typeof EngineResultSchema>;

/** The upload id of an event's object: its version id, else S3's sequencer, else its ETag. */
export function uploadIdOf(
  object: { 'version-id'?: unknown; sequencer?: unknown; etag?: unknown } | undefined,
): string {
  for (const value of [object?.['version-id'], object?.sequencer, object?.etag])
    if (typeof value === 'string' && value) return value;
  return 'unknown';
}

/** What triage decided: analyse, reuse a recent verdict, or wait for a concurrent analysis of the same content. */
export const TriageOutcomeSchema = z.object({
  /**
   * `joined`: the same content is under analysis by another execution, which serves this upload its
   * verdict when it ends; this execution ends here.
   */
  action: z.enum(['analyze', 'cached', 'await-peer', 'joined']),
  sample: SampleSchema,
  /** The engines the Standard workflow runs (all of them, unless the Express front runs some itself). */
  engines: z.array(EngineIdSchema),
  /** The engines the Express front runs before it hands over or finalizes: the static engine, which never waits. */
  frontEngines: z.array(EngineIdSchema).default([]),
  /** What the front's engines found, carried to Finalize (in the hand-off to the Standard workflow too). */
  frontResults: z.array(EngineResultSchema).default([]),
  /**
   * Final results of an earlier analysis of the same content, kept while the engines that did not
   * end finally (an error, a timeout) run again; Finalize joins the two.
   */
  reused: z.array(EngineResultSchema).default([]),
  startedAt: z.number().int(),
  waitSeconds: z.number().int().nonnegative(),
  owner: z.string(),
  /**
   * Whether an engine that waits (a vendor, our detonation) runs: the Express front hands such an
   * analysis to the Standard workflow, and ends every other itself.
   */
  waits: z.boolean().default(true),
});
export type TriageOutcome = z.infer<typeof TriageOutcomeSchema>;

/** The state of one vendor submission between the Submit, Wait and Poll states. */
export const VendorJobSchema = z.object({
  engine: VendorIdSchema,
  itemId: z.string(),
  submittedAt: z.number().int(),
  /** How long this vendor's analyses took, as learnt when this one was submitted; absent for a vendor new to us. */
  learntSeconds: z.number().nonnegative().optional(),
  /** While `queued`, the latest moment the submission may go out; once submitted, the engine's deadline. */
  deadline: z.number().int(),
  attempt: z.number().int().nonnegative(),
  /** The Wait before the job's next step: exactly until the slots it reserved. */
  waitSeconds: z.number().int().nonnegative(),
  /** Requests of the next step whose slots of the vendor's rate are reserved (spent without asking again). */
  admitted: z.number().int().nonnegative().default(0),
  /** `queued`: waiting for its submission slot; `pending`: at the vendor; `ready`: the report is to be fetched; `ended`: `result` is final. */
  phase: z.enum(['queued', 'pending', 'ready', 'ended']),
  state: z.string(),
  result: EngineResultSchema.optional(),
});
export type VendorJob = z.infer<typeof VendorJobSchema>;

/** One engine's line in the verdict event. */
export const EngineSummarySchema = EngineResultSchema.pick({
  engine: true,
  status: true,
  verdict: true,
  score: true,
}).extend({ reportKey: z.string().nullable() });
export type EngineSummary = z.infer<typeof EngineSummarySchema>;

/** An engine's result as the verdict event and document summarise it. */
export function engineSummaryOf(result: EngineResult): EngineSummary {
  return {
    engine: result.engine,
    status: result.status,
    verdict: result.verdict,
    score: result.score ?? null,
    reportKey: result.reportKey ?? null,
  };
}

/** The version of the `Sample Verdict` detail; schemas/CHANGELOG.md says what each version changed. */
export const VERDICT_SCHEMA_VERSION = 2 as const;

/**
 * Why a verdict rests on less than a full analysis: `empty` (a 0-byte object, benign by definition),
 * `static-only` (no engine but the static one could judge the file, so nothing ran it), or
 * `released` (an analyst released the content: `sandtrap release`, whatever the engines said).
 */
export const VerdictReasonSchema = z.enum(['empty', 'static-only', 'released']);
export type VerdictReason = z.infer<typeof VerdictReasonSchema>;

/** Detail of the `Sample Verdict` event on the `sandtrap` bus: the contract automation acts on. */
export const SampleVerdictDetailSchema = z.object({
  schemaVersion: z.literal(VERDICT_SCHEMA_VERSION),
  sha256,
  bucket: z.string(),
  key: z.string(),
  versionId: z.string().nullable(),
  size: z.number().int().nonnegative(),
  fileType: z.string(),
  verdict: VerdictSchema,
  score: score.nullable(),
  engines: z.array(EngineSummarySchema),
  /** Every threat the engines named, strongest engines first; empty when none did. */
  threats: z.array(ThreatSchema).max(MAX_THREATS),
  /**
   * The ATT&CK technique ids the vendors' findings named, once each, at most {@link MAX_EVENT_ATTACK};
   * absent when none did. The rest of the findings (signatures, hosts, links) is in the verdict document.
   */
  attack: z.array(TechniqueIdSchema).max(MAX_EVENT_ATTACK).optional(),
  reason: VerdictReasonSchema.optional(),
  cached: z.boolean(),
  analyzedAt: z.iso.datetime(),
  durationMs: z.number().int().nonnegative(),
  /** A presigned link to the HTML report (`reports/<sha256>/report.html`), valid for a limited time. */
  reportUrl: z.url().optional(),
  /** Where a malicious object was moved, when quarantine is on. */
  quarantinedTo: z.object({ bucket: z.string(), key: z.string(), versionId: z.string().nullable() }).optional(),
  /**
   * How the verdict tags landed on the object: `partial` (only `sandtrap:verdict`) or `untagged`
   * when its owner's tags left too few of S3's ten slots (`tag-limit`; owners' tags are never
   * dropped), the object was gone (`object-gone`), or a bucket policy or key denied the pipeline
   * its tagging calls (`denied`). An untagged object stays blocked under read-blocking.
   */
  tagging: z.lazy(() => ObjectTaggingSchema).optional(),
  /** Vendors this upload was not sent to because its source's disclosure rule withholds them. */
  withheld: z.array(WithheldEngineSchema).max(VENDOR_IDS.length).optional(),
});
export type SampleVerdictDetail = z.infer<typeof SampleVerdictDetailSchema>;

/** How the verdict tags landed on one object (see `tagWithVerdict`). */
export const ObjectTaggingSchema = z.object({
  status: z.enum(['tagged', 'partial', 'untagged']),
  reason: z.enum(['tag-limit', 'object-gone', 'denied']).optional(),
});

/** The most objects a `Sample Verdict Overridden` event lists (the rest are counted). */
export const MAX_RELEASED_OBJECTS = 50;

/**
 * An analyst's release of a content hash: who (the caller's IAM identity, not a name they typed),
 * when and why. Kept as an allow-list entry: later analyses of these bytes end benign, `released`.
 */
export const ReleaseSchema = z.object({
  by: z.string().min(1).max(2048),
  at: z.iso.datetime(),
  reason: z.string().trim().min(1).max(1000),
});
export type Release = z.infer<typeof ReleaseSchema>;

/** Detail of the `Sample Verdict Overridden` event: an analyst released a content hash. */
export const SampleVerdictOverriddenDetailSchema = z.object({
  sha256,
  verdict: z.literal('benign'),
  /** The stored verdict before the release; null when these bytes had none (released ahead of analysis). */
  previousVerdict: VerdictSchema.nullable(),
  previousScore: score.nullable(),
  ...ReleaseSchema.shape,
  /** The objects of these bytes that were re-tagged, and how the tags landed on each. */
  objects: z
    .array(
      z.object({ bucket: z.string(), key: z.string(), versionId: z.string().nullable(), tagging: ObjectTaggingSchema }),
    )
    .max(MAX_RELEASED_OBJECTS),
  /** Objects beyond {@link MAX_RELEASED_OBJECTS}, re-tagged but not listed. */
  moreObjects: z.number().int().nonnegative(),
});
export type SampleVerdictOverriddenDetail = z.infer<typeof SampleVerdictOverriddenDetailSchema>;

/** Detail of the `Sample Verdict Changed` event: a new analysis disagrees with the stored verdict. */
export const SampleVerdictChangedDetailSchema = z.object({
  sha256,
  bucket: z.string(),
  key: z.string(),
  previousVerdict: VerdictSchema,
  previousScore: score.nullable(),
  previousAnalyzedAt: z.iso.datetime(),
  verdict: VerdictSchema,
  score: score.nullable(),
  analyzedAt: z.iso.datetime(),
});
export type SampleVerdictChangedDetail = z.infer<typeof SampleVerdictChangedDetailSchema>;

/** What the Finalize step returns: the verdict event's detail, and the change event's when the verdict changed. */
export const FinalizeOutputSchema = z.object({
  detail: z.lazy(() => SampleVerdictDetailSchema),
  changed: SampleVerdictChangedDetailSchema.optional(),
});
export type FinalizeOutput = z.infer<typeof FinalizeOutputSchema>;

/** Detail of the `Sample Analysis Failed` event: whatever is known of the object, and why. */
export const SampleAnalysisFailedDetailSchema = z.object({
  sha256: sha256.optional(),
  bucket: z.string().nullable(),
  key: z.string().nullable(),
  versionId: z.string().nullable().optional(),
  reason: z.string(),
  error: z.string(),
  failedAt: z.iso.datetime(),
});
export type SampleAnalysisFailedDetail = z.infer<typeof SampleAnalysisFailedDetailSchema>;

/**
 * The verdict document `sandtrap analyze --json` prints and `reports/<sha256>/verdict.json` holds:
 * the event detail plus the hashes and every engine's full result.
 */
export const VerdictDocumentSchema = SampleVerdictDetailSchema.extend({
  sha1: z.string(),
  md5: z.string(),
  mimeType: z.string(),
  engineResults: z.array(EngineResultSchema),
  behavior: z.record(z.string(), z.array(z.unknown())).optional(),
  /** The static engine's findings, YARA matches and unpacked members, when its report could be read. */
  static: StaticSummarySchema.optional(),
});
export type VerdictDocument = z.infer<typeof VerdictDocumentSchema>;

/** Event names that are contracts with consumers. */
export const EVENT_SOURCE = 'sandtrap';
export const DETAIL_TYPE_VERDICT = 'Sample Verdict';
export const DETAIL_TYPE_FAILED = 'Sample Analysis Failed';
export const DETAIL_TYPE_VERDICT_CHANGED = 'Sample Verdict Changed';
export const DETAIL_TYPE_VERDICT_OVERRIDDEN = 'Sample Verdict Overridden';

/**
 * Object tags written on every analysed object, all under {@link TAG_PREFIX}: only the pipeline may
 * write keys with that prefix (read-blocking denies everyone else), since read access trusts them.
 */
export const TAG_PREFIX = 'sandtrap:';
export const TAG_VERDICT = 'sandtrap:verdict';
export const TAG_SCORE = 'sandtrap:score';
