import * as z from 'zod';
import { VerdictSchema, type Verdict } from './pipeline';
import { bandOf } from './scoring';
import { SeveritySchema } from './behavior-keys';

/**
 * The detonation engine's report. The agent writes it, the Lambdas read it; both parse it with these
 * schemas, so the shape lives here only. The agent's configuration is in `agent-config.ts`.
 */

export { BEHAVIOR_KEYS, BehaviorKeySchema, type BehaviorKey, SeveritySchema, type Severity } from './behavior-keys';

/** Upper bounds of every list in a report, so that a noisy sample cannot blow up a report. */
export const REPORT_LIMITS = {
  processes: 200,
  executions: 200,
  argv: 32,
  fileOperations: 500,
  dnsQueries: 200,
  connections: 200,
  httpRequests: 100,
  tlsServerNames: 100,
  payloads: 50,
  resourceSamples: 240,
  members: 100,
  notes: 20,
  staticStrings: 50,
  /** Indicators per behaviour key: each rule yields at most one, so this only guards the schema. */
  indicators: 24,
  evidence: 10,
  attack: 8,
  /** Characters per string (an evidence line, a path, an argument). */
  text: 600,
} as const;

const text = z.string().max(REPORT_LIMITS.text);

/** A list cut at `max` items: `count` is how many there were, `truncated` says some were left out. */
export function boundedListSchema<T extends z.ZodType>(item: T, max: number) {
  return z
    .object({ items: z.array(item).max(max), count: z.number().int().nonnegative(), truncated: z.boolean() })
    .refine((list) => list.count >= list.items.length && list.truncated === list.count > list.items.length, {
      message: 'count and truncated must agree with items',
    });
}
/** A bounded list as the report carries it. */
export interface BoundedList<T> {
  items: T[];
  count: number;
  truncated: boolean;
}

/** A MITRE ATT&CK technique or sub-technique id, e.g. `T1053.003`. */
export const AttackIdSchema = z.string().regex(/^T\d{4}(\.\d{3})?$/, 'a MITRE ATT&CK technique id');

/** One behaviour the agent saw, with the trace lines that show it. */
export const IndicatorSchema = z
  .object({
    /** Stable rule id, `<behaviour key>.<rule>`, e.g. `persistence.shell-init`. */
    id: z.string().regex(/^[a-zA-Z]+\.[a-z0-9-]+$/),
    title: text,
    severity: SeveritySchema,
    attack: z.array(AttackIdSchema).max(REPORT_LIMITS.attack),
    /** Trace, fake-network or guard lines, verbatim (cut to 600 characters). */
    evidence: z.array(text).min(1).max(REPORT_LIMITS.evidence),
    /** How many events matched; `evidence` holds the first of them. */
    occurrences: z.number().int().positive(),
    truncated: z.boolean(),
  })
  .strict();
export type Indicator = z.infer<typeof IndicatorSchema>;

const indicators = z.array(IndicatorSchema).max(REPORT_LIMITS.indicators);
/** Indicators grouped under exactly the eight behaviour keys. */
export const BehaviorSchema = z
  .object({
    persistence: indicators,
    privilegeEscalation: indicators,
    evasion: indicators,
    dataHarvesting: indicators,
    network: indicators,
    destructive: indicators,
    execution: indicators,
    cryptomining: indicators,
  })
  .strict();
export type Behavior = z.infer<typeof BehaviorSchema>;

/** How a sample became something the agent could run. */
export const PreparationMethodSchema = z.enum(['executable', 'script', 'compiled', 'archive', 'static-only']);
export type PreparationMethod = z.infer<typeof PreparationMethodSchema>;

/** One member of an archive sample. */
export const ArchiveMemberSchema = z
  .object({
    path: text,
    size: z.number().int().nonnegative(),
    fileType: z.string(),
    action: z.enum(['analysed', 'skipped', 'rejected']),
    reason: text.optional(),
  })
  .strict();
export type ArchiveMember = z.infer<typeof ArchiveMemberSchema>;

/** What the agent knows about the sample before running it. */
export const SampleFactsSchema = z
  .object({
    name: text,
    /** Null only when the sample could not be downloaded. */
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .nullable(),
    size: z.number().int().nonnegative().nullable(),
    fileType: z.string(),
    mimeType: z.string(),
    preparation: z
      .object({
        method: PreparationMethodSchema,
        interpreter: z.string().optional(),
        compiler: z.string().optional(),
        members: boundedListSchema(ArchiveMemberSchema, REPORT_LIMITS.members).optional(),
        reason: text.optional(),
      })
      .strict(),
  })
  .strict();
export type SampleFacts = z.infer<typeof SampleFactsSchema>;

/** Seconds since the detonation started. */
const offset = z.number().nonnegative();

/** One process of the sample (threads are folded into their process). */
export const ProcessSchema = z
  .object({
    pid: z.number().int().positive(),
    ppid: z.number().int().positive().nullable(),
    exe: text.nullable(),
    argv: z.array(text).max(REPORT_LIMITS.argv),
    uid: z.number().int().nonnegative().nullable(),
    start: offset,
    end: offset.nullable(),
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable(),
    /** The archive member whose run started it, for archive samples. */
    member: text.optional(),
    /** Present when a value of this record came from the sample cut to the report's limits (a string shortened, a number clamped). */
    truncated: z.literal(true).optional(),
  })
  .strict();
export type ProcessRecord = z.infer<typeof ProcessSchema>;

/** One execve/execveat, successful or not. */
export const ExecutionSchema = z
  .object({
    time: offset,
    pid: z.number().int().positive(),
    path: text,
    argv: z.array(text).max(REPORT_LIMITS.argv),
    uid: z.number().int().nonnegative().nullable(),
    /** `ok`, or the errno name (`ENOENT`, `EACCES`, ...). */
    result: z.string(),
    /** Present when a value of this record came from the sample cut to the report's limits (a string shortened, a number clamped). */
    truncated: z.literal(true).optional(),
  })
  .strict();
export type Execution = z.infer<typeof ExecutionSchema>;

/** What was done to a path. */
export const FileOperationKindSchema = z.enum([
  'read',
  'write',
  'create',
  'truncate',
  'append',
  'delete',
  'rename-from',
  'rename-to',
  'chmod',
  'chown',
  'mkdir',
  'rmdir',
  'link',
  'symlink',
  'mknod',
  'exec',
  'access',
  'readlink',
  'chdir',
  'mount',
]);
export type FileOperationKind = z.infer<typeof FileOperationKindSchema>;

/** Everything the sample did to one path (within the watched directories). */
export const FileOperationSchema = z
  .object({
    path: text,
    operations: z.array(FileOperationKindSchema).max(FileOperationKindSchema.options.length),
    count: z.number().int().positive(),
    failures: z.number().int().nonnegative(),
    first: offset,
    /** Present when a value of this record came from the sample cut to the report's limits (a string shortened, a number clamped). */
    truncated: z.literal(true).optional(),
  })
  .strict();
export type FileOperation = z.infer<typeof FileOperationSchema>;

/** A DNS question and the fake resolver's answer. */
export const DnsQuerySchema = z
  .object({
    time: offset,
    name: text,
    type: z.string(),
    answer: z.string().nullable(),
    /** Present when the name was cut to the report's limit. */
    truncated: z.literal(true).optional(),
  })
  .strict();
export type DnsQuery = z.infer<typeof DnsQuerySchema>;

/** A connection attempt (connect, or sendto with an address), and what the network guard did with it. */
export const ConnectionSchema = z
  .object({
    time: offset,
    pid: z.number().int().positive().nullable(),
    protocol: z.enum(['tcp', 'udp', 'unix', 'other']),
    address: text,
    port: z.number().int().min(0).max(65535).nullable(),
    /** The name the fake resolver gave this address, when it came from there. */
    hostname: text.nullable(),
    /** `redirected` to the fake network, `blocked` by policy, `allowed` through, `observed` only (unix sockets). */
    action: z.enum(['redirected', 'blocked', 'allowed', 'observed']),
    reason: z.string().nullable(),
    /** `ok`, `in-progress` or the errno name. */
    result: z.string(),
    /** Present when a value of this record came from the sample cut to the report's limits (a string shortened, a number clamped). */
    truncated: z.literal(true).optional(),
  })
  .strict();
export type Connection = z.infer<typeof ConnectionSchema>;

/** An HTTP request the fake network answered. */
export const HttpRequestSchema = z
  .object({
    time: offset,
    method: z.string().max(32),
    host: text,
    path: text,
    userAgent: text.nullable(),
    port: z.number().int().min(0).max(65535).nullable(),
    bodyBytes: z.number().int().nonnegative(),
    /** The start of the body, printable characters only. */
    bodyPreview: z.string().max(256),
    /** Present when a value of this record came from the sample cut to the report's limits (a string shortened, a number clamped). */
    truncated: z.literal(true).optional(),
  })
  .strict();
export type HttpRequest = z.infer<typeof HttpRequestSchema>;

/** A server name from a TLS ClientHello (SNI). */
export const TlsServerNameSchema = z
  .object({
    time: offset,
    serverName: text,
    port: z.number().int().min(0).max(65535).nullable(),
    /** Present when the name was cut to the report's limit. */
    truncated: z.literal(true).optional(),
  })
  .strict();
export type TlsServerName = z.infer<typeof TlsServerNameSchema>;

/** The first bytes of a conversation the fake network could not name (neither HTTP nor TLS nor DNS). */
export const PayloadSchema = z
  .object({
    time: offset,
    protocol: z.enum(['tcp', 'udp']),
    address: text.nullable(),
    port: z.number().int().min(0).max(65535).nullable(),
    hostname: text.nullable(),
    bytes: z.number().int().nonnegative(),
    preview: z.string().max(256),
    /** Present when a value of this record came from the sample cut to the report's limits (a string shortened, a number clamped). */
    truncated: z.literal(true).optional(),
  })
  .strict();
export type Payload = z.infer<typeof PayloadSchema>;

/** The network activity of the sample. */
export const NetworkSchema = z
  .object({
    dnsQueries: boundedListSchema(DnsQuerySchema, REPORT_LIMITS.dnsQueries),
    connections: boundedListSchema(ConnectionSchema, REPORT_LIMITS.connections),
    httpRequests: boundedListSchema(HttpRequestSchema, REPORT_LIMITS.httpRequests),
    tlsServerNames: boundedListSchema(TlsServerNameSchema, REPORT_LIMITS.tlsServerNames),
    payloads: boundedListSchema(PayloadSchema, REPORT_LIMITS.payloads),
  })
  .strict();
export type NetworkActivity = z.infer<typeof NetworkSchema>;

/** One reading of the sandbox's processes. */
export const ResourceSampleSchema = z
  .object({
    time: offset,
    processes: z.number().int().nonnegative(),
    /** CPU time (user + system) of the sample's whole process tree so far, ended processes included. */
    cpuSeconds: z.number().nonnegative(),
    rssBytes: z.number().int().nonnegative(),
    diskBytes: z.number().int().nonnegative(),
    traceBytes: z.number().int().nonnegative(),
    /** Present when a value of this record came from the sample cut to the report's limits (a string shortened, a number clamped). */
    truncated: z.literal(true).optional(),
  })
  .strict();
export type ResourceSample = z.infer<typeof ResourceSampleSchema>;

/** Which limits the sample ran into. */
export const LimitsHitSchema = z
  .object({
    cpu: z.boolean(),
    memory: z.boolean(),
    processes: z.boolean(),
    fileSize: z.boolean(),
    disk: z.boolean(),
    timeout: z.boolean(),
    traceSize: z.boolean(),
  })
  .strict();
export type LimitsHit = z.infer<typeof LimitsHitSchema>;

/** The limits the sample ran under, as applied. */
export const AppliedLimitsSchema = z
  .object({
    cpuSeconds: z.number().int().positive(),
    cpus: z.number().positive(),
    memoryBytes: z.number().int().positive(),
    processes: z.number().int().positive(),
    fileSizeBytes: z.number().int().positive(),
    diskBytes: z.number().int().positive(),
    timeoutSeconds: z.number().positive(),
    idleTimeoutSeconds: z.number().nonnegative(),
  })
  .strict();
export type AppliedLimits = z.infer<typeof AppliedLimitsSchema>;

/** What the agent could use on this host: each one missing leaves a part of the behaviour unobserved or unenforced. */
export const CapabilitiesSchema = z
  .object({
    tracer: z.enum(['strace', 'none']),
    seccompBpf: z.boolean(),
    networkGuard: z.boolean(),
    mountNamespace: z.boolean(),
    /**
     * `captured`: a libpcap file of the sample's conversations with the fake network was uploaded
     * beside the report (same key, `.pcap`); `unsupported`: asked for but not possible here
     * (`pcapReason` says why); `disabled`: not asked for.
     */
    pcap: z.enum(['disabled', 'unsupported', 'captured']),
    /** What the capture holds, when `pcap` is `captured`. */
    pcapFile: z
      .object({
        bytes: z.number().int().nonnegative(),
        packets: z.number().int().nonnegative(),
        /** Conversations in it; `attributed` of them show the destination the guard saw the sample ask for. */
        conversations: z.number().int().nonnegative(),
        attributed: z.number().int().nonnegative(),
        /** True when a capture limit left bytes, packets or conversations out. */
        truncated: z.boolean(),
      })
      .strict()
      .optional(),
    /** Why there is no capture, when `pcap` is `unsupported`. */
    pcapReason: text.optional(),
  })
  .strict();
export type Capabilities = z.infer<typeof CapabilitiesSchema>;

/**
 * `completed`: the sample ran; `unsupported`: static triage only; `error`: the agent failed. An
 * `error` report is partial: it carries everything observed before the failure, and a score when
 * indicators were seen (they still decide the verdict).
 */
export const DetonationStatusSchema = z.enum(['completed', 'unsupported', 'error']);
export type DetonationStatus = z.infer<typeof DetonationStatusSchema>;

/** Why the run stopped. */
export const EndReasonSchema = z.enum(['exited', 'timeout', 'idle', 'limit', 'not-run']);
export type EndReason = z.infer<typeof EndReasonSchema>;

/** A per-run nonce: URL-safe base64 or hex, long enough that it cannot be guessed. */
export const RunNonceSchema = z.string().regex(/^[A-Za-z0-9_-]{22,128}$/, 'a run nonce');

/** Score bands of the detonation engine: 0–39 benign, 40–69 suspicious, 70–100 malicious. */
export const DETONATION_BANDS = { suspiciousAt: 40, maliciousAt: 70 } as const;

/** The verdict a detonation score stands for; `null` (nothing ran) is `unknown`. */
export function verdictOfScore(score: number | null): Verdict {
  return bandOf(score, DETONATION_BANDS);
}

const DetonationReportObjectSchema = z
  .object({
    schemaVersion: z.literal(1),
    engine: z.literal('detonation'),
    status: DetonationStatusSchema,
    /** Why the status is not `completed`, or what went wrong. */
    error: text.optional(),
    sample: SampleFactsSchema,
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime(),
    durationMs: z.number().int().nonnegative(),
    endReason: EndReasonSchema,
    timedOut: z.boolean(),
    limits: AppliedLimitsSchema,
    limitsHit: LimitsHitSchema,
    capabilities: CapabilitiesSchema,
    processes: boundedListSchema(ProcessSchema, REPORT_LIMITS.processes),
    executions: boundedListSchema(ExecutionSchema, REPORT_LIMITS.executions),
    fileOperations: boundedListSchema(FileOperationSchema, REPORT_LIMITS.fileOperations),
    network: NetworkSchema,
    resourceUsage: boundedListSchema(ResourceSampleSchema, REPORT_LIMITS.resourceSamples),
    /** The end of what the sample wrote to stdout and stderr. */
    output: z.object({ bytes: z.number().int().nonnegative(), tail: z.string().max(2048) }).strict(),
    /** URLs and IP addresses among the sample's printable strings (all types, including unsupported ones). */
    staticStrings: z
      .object({
        urls: boundedListSchema(text, REPORT_LIMITS.staticStrings),
        ipAddresses: boundedListSchema(z.string().max(64), REPORT_LIMITS.staticStrings),
      })
      .strict(),
    behavior: BehaviorSchema,
    /** 0–100 from the indicators; null when nothing ran, or when a failed run showed no indicator. */
    score: z.number().int().min(0).max(100).nullable(),
    verdict: VerdictSchema,
    /** The run nonce from the configuration, echoed so Collect can bind this report to its run. */
    runNonce: RunNonceSchema.optional(),
    /** Things the reader should know: unsupported options, weakened isolation, skipped members. */
    notes: boundedListSchema(text, REPORT_LIMITS.notes),
    config: z.record(z.string(), z.unknown()),
  })
  .strict();
/** The report's sections, each with its schema (for validating one section alone). */
export const DetonationReportShape = DetonationReportObjectSchema.shape;
/** The report the agent uploads and the Lambdas read: what the sample is, did, and how it scores. */
export const DetonationReportSchema = DetonationReportObjectSchema.refine(
  (r) => r.verdict === verdictOfScore(r.score),
  {
    message: 'the verdict must be the band of the score (unknown when null)',
  },
);
/** The detonation report. */
export type DetonationReport = z.infer<typeof DetonationReportSchema>;
