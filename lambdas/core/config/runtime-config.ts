import * as z from 'zod';
import { parseAgentConfig } from '../contracts/agent-config';
import { VendorIdSchema } from '../contracts/pipeline';
import { VerdictPolicySchema } from '../contracts/scoring';
import { isTimeZone } from '../contracts/time-zones';

export { type VerdictPolicy, VerdictPolicySchema } from '../contracts/scoring';

/**
 * Where a vendor's API key comes from: Secrets Manager when deployed, an environment variable locally,
 * or nowhere for an endpoint that needs none (CAPE and Cuckoo ship without authentication).
 */
export const SecretSourceSchema = z.union([
  z.object({ arn: z.string().min(1) }).strict(),
  z.object({ env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/) }).strict(),
  z.object({ anonymous: z.literal(true) }).strict(),
]);
export type SecretSource = z.infer<typeof SecretSourceSchema>;

/** One enabled vendor sandbox. */
export const VendorConfigSchema = z
  .object({
    id: VendorIdSchema,
    /** API root, e.g. `https://cape.example.org/apiv2/`. Self-hosted appliances set their own. */
    baseUrl: z.url({ protocol: /^https?$/ }),
    secret: SecretSourceSchema.optional(),
    /**
     * The vendor's web page for one analysis, `{id}` standing for the item id (a CAPE task id, a Joe
     * webid): `https://cape.example.org/analysis/{id}/`. Reports and events link to it. Only https
     * links are kept; absent, a connector derives one from `baseUrl` where the vendor's layout is known.
     */
    reportPageUrl: z.string().max(400).optional(),
    /** Vendor-specific options (environment id, profiles, package...). */
    options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    /** Largest sample this vendor accepts; triage routes bigger files elsewhere. */
    maxFileBytes: z.number().int().positive().optional(),
    /** File types (as triage names them) this vendor accepts; empty or absent: all. */
    fileTypes: z.array(z.string()).optional(),
    /**
     * The IANA time zone (`UTC`, `Europe/Berlin`) the vendor writes naive timestamps in, which the
     * poll hints are computed from. Cuckoo 2 stores the sandbox host's local time; CAPE stores the
     * `timezone` of its cuckoo.conf (host-local time before February 2026). Other vendors send
     * explicit offsets and ignore it.
     */
    timeZone: z
      .string()
      .refine(isTimeZone, { message: 'not a time zone: give an IANA name such as UTC or Europe/Berlin' })
      .default('UTC'),
    /** How long the vendor should run the sample, in seconds, when the vendor takes the option. */
    analysisTimeoutSeconds: z.number().int().positive().default(180),
    /** Per-request timeout (connect, headers and body each), in milliseconds. */
    requestTimeoutMs: z.number().int().positive().max(120_000).default(30_000),
    /** TLS certificate verification; only self-hosted appliances with private CAs should turn it off. */
    verifyTls: z.boolean().default(true),
    /** HTTP(S) proxy URL for this vendor's requests. */
    proxyUrl: z.url().optional(),
    /** Requests per minute across every execution (a shared counter): excess work waits. */
    requestsPerMinute: z.number().int().positive().optional(),
    /** Submissions per UTC day across every execution: excess work waits for the next day, or ends (`whenDailyQuotaSpent`). */
    submissionsPerDay: z.number().int().positive().optional(),
    /** When today's submissions are spent: wait for a later day's slot, or end the engine with `quota_exceeded`. */
    whenDailyQuotaSpent: z.enum(['wait', 'end']).default('wait'),
    /**
     * The longest a sample waits for its submission slot (rate and daily quota); a longer queue ends
     * the engine with `quota_exceeded`. The state machine's timeout grows by the largest of these.
     */
    maxQueueSeconds: z
      .number()
      .int()
      .positive()
      .max(30 * 86_400)
      .default(2 * 86_400),
  })
  .strict();
export type VendorConfig = z.infer<typeof VendorConfigSchema>;

/** How long to wait between polls of a vendor. */
export const PollPolicySchema = z
  .object({
    /** Backoff used when the vendor gives no hint: the n-th wait is the n-th entry, the last one repeats. */
    scheduleSeconds: z.array(z.number().int().positive()).min(1).default([15, 30, 60, 120]),
    /** Follow the vendor's own estimate (queue, analysis timeout, pollPause) when it gives one. */
    useVendorHints: z.boolean().default(true),
    /**
     * After the first look, without a vendor estimate, wait at least this fraction of the time the
     * analysis has taken so far: a long analysis is looked at a number of times that grows with the
     * logarithm of its length, and its verdict comes at most this fraction late. 0 turns it off.
     */
    elapsedFraction: z.number().min(0).max(1).default(0.25),
    minWaitSeconds: z.number().int().positive().default(5),
    maxWaitSeconds: z.number().int().positive().default(900),
  })
  .strict();
export type PollPolicy = z.infer<typeof PollPolicySchema>;

/** File types our Linux detonation runs (or unpacks and runs): ELF, shell/Python/Perl scripts, C sources, archives. */
export const DETONATION_FILE_TYPES = [
  'elf',
  'script-sh',
  'script-python',
  'script-perl',
  'source-c',
  'zip',
  'tar',
  'gzip',
] as const;

/** Our own detonation engine: which samples it runs, and the agent's configuration. */
export const DetonationSettingsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** File types routed to detonation. */
    fileTypes: z.array(z.string()).default([...DETONATION_FILE_TYPES]),
    /** Largest sample detonated. */
    maxFileBytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024),
    /**
     * Detonation tasks running at once across every execution; more wait for a turn. Absent: as many
     * as the account's Fargate vCPU quota holds of tasks of `taskVcpu`.
     */
    maxConcurrentTasks: z.number().int().min(1).max(1000).optional(),
    /** The account's Fargate on-demand vCPU quota in the region (Service Quotas `L-3032A538`; 6 on new accounts). */
    fargateVcpuQuota: z.number().positive().default(6),
    /** vCPUs of one detonation task (the stack sets it from the task definition). */
    taskVcpu: z.number().positive().default(2),
    /**
     * The agent's configuration (`AGENT_CONFIG`: memory_limit, cpu_limit, timeout, watched_directories...,
     * snake_case or camelCase). Validated here; `internet_access` is always refused.
     */
    agent: z
      .record(z.string(), z.unknown())
      .default({})
      .superRefine((agent, ctx) => {
        try {
          parseAgentConfig(agent, { allowInternet: false });
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }),
  })
  .strict();
export type DetonationSettings = z.infer<typeof DetonationSettingsSchema>;

/** Detonation tasks that may run at once: the configured maximum, or what the Fargate vCPU quota holds (at least one). */
export function detonationTaskSlots(
  settings: Pick<DetonationSettings, 'maxConcurrentTasks' | 'fargateVcpuQuota' | 'taskVcpu'>,
): number {
  return settings.maxConcurrentTasks ?? Math.max(1, Math.floor(settings.fargateVcpuQuota / settings.taskVcpu));
}

/** Where user YARA rule packs live: each first-level folder under the prefix is one pack. */
export const RulePacksSchema = z
  .object({
    /** The bucket holding the packs; the reports bucket when absent. */
    bucket: z.string().min(3).max(63).optional(),
    prefix: z
      .string()
      .max(200)
      .regex(/^([A-Za-z0-9._-]+\/)*$/, 'a prefix of plain folder names, each ending in /')
      .default('rules/'),
    /**
     * How long a warm engine trusts its listing of the packs before it lists the prefix again: a new
     * or edited pack applies within this time. A listing per analysis would cost a LIST request each
     * (billed as a PUT), more than the rest of the engine's S3 use; 0 lists for every analysis.
     */
    refreshSeconds: z.number().int().min(0).max(3600).default(60),
  })
  .strict();
export type RulePacks = z.infer<typeof RulePacksSchema>;

/** The static engine (Python on Lambda): every sample gets it first, whatever else applies. */
export const StaticSettingsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Largest object it reads whole into memory; larger ones get `too_large` from it. */
    maxFileBytes: z
      .number()
      .int()
      .positive()
      .max(512 * 1024 * 1024)
      .default(100 * 1024 * 1024),
    rulePacks: RulePacksSchema.default(RulePacksSchema.parse({})),
  })
  .strict();
export type StaticSettings = z.infer<typeof StaticSettingsSchema>;

/**
 * Which engines may receive the files of one source (a bucket, a key prefix): what may leave the
 * account. Vendor sandboxes are third parties (public Triage and Hybrid Analysis even publish
 * submissions); the static engine and our detonation always stay in the account, so they always run.
 */
export const SourceDisclosureSchema = z
  .object({
    /** The bucket this rule is for; absent: every bucket the pipeline watches. */
    bucket: z.string().min(3).max(63).optional(),
    /** Keys under this prefix; the longest matching prefix's rule applies. */
    prefix: z.string().max(1024).default(''),
    /** Files here may not leave the account: no vendor receives them unless `vendors` names it. */
    confidential: z.boolean().default(false),
    /** The vendors that may receive these files (a self-hosted CAPE, say); absent: all, or none when confidential. */
    vendors: z.array(VendorIdSchema).optional(),
  })
  .strict();
export type SourceDisclosure = z.infer<typeof SourceDisclosureSchema>;

/** Settings every Lambda reads at start-up; validated once, with messages that name the field. */
export const RuntimeSettingsSchema = z
  .object({
    cacheTtlSeconds: z
      .number()
      .int()
      .nonnegative()
      .default(7 * 24 * 3600),
    engineDeadlineSeconds: z.number().int().positive().default(3600),
    /** DynamoDB counters each shared rate is split over (hot-item relief for bursts); see SlotReservations. */
    rateLimitShards: z.number().int().min(1).max(64).default(4),
    peerWaitSeconds: z.number().int().positive().default(30),
    maxObjectBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024 * 1024),
    /**
     * Validity of the report link in the `Sample Verdict` event, in seconds. A link signed by a Lambda
     * role also ends when the role's session does, so hours rather than days.
     */
    reportLinkExpirySeconds: z
      .number()
      .int()
      .positive()
      .max(7 * 24 * 3600)
      .default(6 * 3600),
    poll: PollPolicySchema.default(PollPolicySchema.parse({})),
    policy: VerdictPolicySchema.default(VerdictPolicySchema.parse({})),
    vendors: z.array(VendorConfigSchema).default([]),
    detonation: DetonationSettingsSchema.default(DetonationSettingsSchema.parse({})),
    static: StaticSettingsSchema.default(StaticSettingsSchema.parse({})),
    /** Disclosure rules by source: which vendors may receive which files. Absent or unmatched: every vendor. */
    sources: z.array(SourceDisclosureSchema).max(100).default([]),
  })
  .strict();
export type RuntimeSettings = z.infer<typeof RuntimeSettingsSchema>;

/**
 * The longest one analysis execution may run (the state machine's timeout): the longest a vendor's
 * submission may queue, the engine deadline, and an hour for triage, waiting for a peer, finalizing
 * and publishing. An upload claimed longer ago than this belongs to an execution that has ended, so
 * its claim may be taken over.
 */
export function executionTimeoutSeconds(
  settings: Pick<RuntimeSettings, 'engineDeadlineSeconds'> & {
    vendors?: readonly Pick<VendorConfig, 'maxQueueSeconds'>[];
  },
): number {
  const queue = Math.max(0, ...(settings.vendors ?? []).map((v) => v.maxQueueSeconds ?? 0));
  return queue + settings.engineDeadlineSeconds + 3600;
}

/** Everything a handler needs to know about its environment. */
export const RuntimeConfigSchema = RuntimeSettingsSchema.safeExtend({
  tableName: z.string().min(1),
  reportsBucket: z.string().min(1),
  /** Where malicious objects are moved; absent: quarantine is off. */
  quarantineBucket: z.string().min(1).optional(),
});
export type RuntimeConfig = z.infer<typeof RuntimeConfigSchema>;

/** Names of the environment variables the stack sets on every function. */
export const ENV = {
  table: 'SANDTRAP_TABLE',
  reportsBucket: 'SANDTRAP_REPORTS_BUCKET',
  settings: 'SANDTRAP_SETTINGS',
  quarantineBucket: 'SANDTRAP_QUARANTINE_BUCKET',
  /** The name of Sandtrap's event bus, for handlers that publish (Finalize's verdicts for joined uploads). */
  eventBus: 'SANDTRAP_EVENT_BUS',
} as const;

/** Thrown when configuration does not validate; the message lists every problem. */
export class ConfigError extends Error {
  constructor(where: string, error: z.ZodError) {
    super(`invalid ${where}: ${z.prettifyError(error)}`);
    this.name = 'ConfigError';
  }
}

/** Parses settings (from CDK props, a file or the environment) and fails with a readable message. */
export function parseSettings(raw: unknown, where = 'Sandtrap settings'): RuntimeSettings {
  const parsed = RuntimeSettingsSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(where, parsed.error);
  return parsed.data;
}

/** The JSON value of an environment variable, `undefined` when it is unset or empty; a clear error when it is not JSON. */
export function jsonFromEnv(env: Record<string, string | undefined>, name: string): unknown {
  const raw = env[name];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw new Error(`${name} is not JSON: ${(error as Error).message}`);
  }
}

/** Reads the runtime configuration from a Lambda's environment. */
export function loadRuntimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const settings = jsonFromEnv(env, ENV.settings) ?? {};
  const parsed = RuntimeConfigSchema.safeParse({
    ...(settings as object),
    tableName: env[ENV.table],
    reportsBucket: env[ENV.reportsBucket],
    ...(env[ENV.quarantineBucket] ? { quarantineBucket: env[ENV.quarantineBucket] } : {}),
  });
  if (!parsed.success) throw new ConfigError('runtime configuration', parsed.error);
  return parsed.data;
}
