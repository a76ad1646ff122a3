import * as z from 'zod';
import { clampScore } from '../core/contracts/scoring';
import type { ConnectorContext, ItemStatus, NativeReport, NormalisedScore, SampleSource } from './kit';
import {
  AuthError,
  bandedScore,
  BaseConnector,
  itemStatus,
  jsonErrorMapping,
  lenient,
  namesOf,
  type RawFindings,
  registryEntry,
  severityFrom,
  techniquesOf,
  statusIs,
  stringField,
  UNSUPPORTED,
} from './kit';

const SubmitResponse = z.object({
  job_id: z.string().min(1),
  submission_id: z.string().optional(),
  environment_id: z.union([z.string(), z.number()]).optional(),
  sha256: z.string().optional(),
});

const StateResponse = z.object({
  state: z.string(),
  error: z.string().nullable().optional(),
  error_type: z.string().nullable().optional(),
  error_origin: z.string().nullable().optional(),
});

const QueueSize = z.object({ value: z.number().int().nonnegative() });

const Environment = z.looseObject({ id: z.number().int(), description: z.string() });

const Summary = z.looseObject({
  verdict: z.string().nullable().optional(),
  threat_level: z.number().int().min(0).max(2).nullable().optional(),
  threat_score: z.number().nullable().optional(),
});

/**
 * The parts of a Falcon Sandbox (Hybrid Analysis v2) summary findings come from: `vx_family` the
 * family (null when none), `signatures` (`name`, `description`, `threat_level` 0 informative,
 * 1 suspicious, 2 malicious, `attck_id`), `mitre_attcks` (`[{attck_id, …}]`), `domains` and `hosts`
 * (lists of names and addresses). `classification_tags` are file-type tags (`pdfjsc`), not families.
 */
const FindingsSummary = z.object({
  vx_family: z.unknown().optional(),
  signatures: lenient(
    z.array(
      z
        .object({
          name: z.unknown().optional(),
          description: z.unknown().optional(),
          threat_level: z.unknown().optional(),
          attck_id: z.unknown().optional(),
        })
        .loose(),
    ),
  ),
  mitre_attcks: z.unknown().optional(),
  domains: z.unknown().optional(),
  hosts: z.unknown().optional(),
});

/** What a Falcon Sandbox summary concluded; threat level 0 is low, 1 medium, 2 high, above that critical. */
export function falconFindings(report: unknown): RawFindings {
  const parsed = FindingsSummary.safeParse(report);
  if (!parsed.success) return {};
  const { vx_family: family, signatures = [], mitre_attcks: attcks, domains, hosts } = parsed.data;
  return {
    families: namesOf(family),
    signatures: signatures.map((s) => ({
      name: s.name,
      severity: severityFrom(s.threat_level, [1, 2, 3]),
      description: s.description,
    })),
    attack: [...techniquesOf(attcks, 'attck_id'), ...signatures.flatMap((s) => techniquesOf(s.attck_id))],
    hosts: [...namesOf(domains), ...namesOf(hosts)],
  };
}

/** Environment used when `options.environmentId` is not set: 100 (Windows 7 32 bit), sandboxapi's default and the one id the fixtures confirm. */
export const DEFAULT_FALCON_ENVIRONMENT = 100;

/** Optional `submit/file` form fields, passed through from configuration under the same names. */
const SUBMIT_OPTIONS = [
  'submit_name',
  'comment',
  'no_share_third_party',
  'allow_community_access',
  'no_hash_lookup',
  'action_script',
  'hybrid_analysis',
  'experimental_anti_evasion',
  'script_logging',
  'input_sample_tampering',
  'network_settings',
  'email',
  'custom_cmd_line',
  'priority',
  'document_password',
  'environment_variable',
];

/** Where each threat level sits on the 0–100 scale: its band's floor and how far `threat_score` moves inside it. */
const LEVEL_BANDS: Record<number, { floor: number; perPoint: number }> = {
  0: { floor: 0, perPoint: 0.39 },
  1: { floor: 40, perPoint: 0.29 },
  2: { floor: 70, perPoint: 0.3 },
};

/** The threat level a verdict names; `no verdict` names none, so `threat_level` decides. */
const VERDICT_LEVELS: Record<string, number> = { malicious: 2, suspicious: 1, 'no specific threat': 0 };

/**
 * CrowdStrike Falcon Sandbox through the Hybrid Analysis API v2 (`https://www.hybrid-analysis.com/api/v2/`,
 * or an on-premises Falcon Sandbox). Unlike sandboxapi's `FalconAPI` it treats the `ERROR` state as a
 * failed analysis rather than a finished one, scores a null `threat_score` instead of crashing on it,
 * and defaults to the `hybrid-analysis.com` host (configurable) rather than `reverse.it`.
 *
 * Options: `environmentId` (default {@link DEFAULT_FALCON_ENVIRONMENT}; list the current ones with
 * {@link FalconConnector.environments}), `processingSeconds` (default 60), and the optional
 * `submit/file` fields under their API names (`comment`, `no_share_third_party`, …).
 *
 * Credentials: the Hybrid Analysis API key, sent as the `api-key` header. A key of the restricted level
 * (1) may submit and look reports up (VxAPI lists `/submit/file` at that level); only the heartbeat
 * needs the default level (100).
 */
export class FalconConnector extends BaseConnector<'falcon'> {
  private readonly environmentId: number;

  constructor(context: ConnectorContext) {
    super('falcon', context, {
      // The user agent Hybrid Analysis documents for API clients.
      headers: { 'api-key': context.credentials ?? '', 'user-agent': 'Falcon Sandbox', accept: 'application/json' },
      statusError: falconStatusError,
      keyRequired: 'Hybrid Analysis requires one',
    });
    this.environmentId = Number(this.config.options.environmentId ?? DEFAULT_FALCON_ENVIRONMENT);
  }

  /**
   * `system/heartbeat` answers. Restricted keys are refused the heartbeat, so a refusal is checked
   * again on `system/version`; only a key refused there too is an `AuthError`.
   */
  protected async probe(): Promise<undefined> {
    try {
      await this.http.text({ method: 'GET', path: 'system/heartbeat' });
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      await this.http.text({ method: 'GET', path: 'system/version' });
    }
  }

  protected async upload(sample: SampleSource): Promise<string> {
    const fields = [
      { name: 'environment_id', value: String(this.environmentId) },
      this.analysisTimeField('custom_run_time'),
      ...this.optionFields(SUBMIT_OPTIONS),
    ];
    const created = await this.http.json(await this.uploadRequest('submit/file', fields, sample), SubmitResponse);
    return created.job_id;
  }

  /** `SUCCESS` is done; `ERROR` is a failed analysis (sandboxapi counted it as done); anything else is still in the works. */
  async status(itemId: string): Promise<ItemStatus> {
    const job = await this.http.json(
      { method: 'GET', path: `report/${encodeURIComponent(itemId)}/state` },
      StateResponse,
    );
    if (job.state === 'SUCCESS') return itemStatus.ready(job.state);
    if (job.state === 'ERROR') {
      const reason =
        [job.error_type, job.error_origin, job.error].filter(Boolean).join(': ') || 'Falcon Sandbox reported ERROR';
      return itemStatus.failedAnalysis(job.state, reason);
    }
    return itemStatus.inProgress(job.state);
  }

  /** The report summary (`report/{id}/summary`), streamed. */
  report(itemId: string): Promise<NativeReport> {
    return this.download({ method: 'GET', path: `report/${encodeURIComponent(itemId)}/summary` }, 'json');
  }

  /** The PDF report (`report/{id}/file/pdf`), streamed. */
  pdfReport(itemId: string): Promise<NativeReport> {
    return this.download({ method: 'GET', path: `report/${encodeURIComponent(itemId)}/file/pdf` }, 'pdf');
  }

  /**
   * Normalises a summary per threat level: level 2 → 70 + score × 0.30, level 1 → 40 + score × 0.29,
   * level 0 → score × 0.39. The verdict picks the level when it names one; `whitelisted` is 0; a null
   * `threat_score` inside a known level is that band's midpoint (sandboxapi crashed on it); no verdict
   * and no level is `unknown`.
   */
  score(report: unknown): NormalisedScore {
    const summary = this.reportAs(report, Summary, 'a Falcon Sandbox summary');
    const { verdict, threat_level: level, threat_score: threatScore } = summary;
    const native =
      typeof threatScore === 'number'
        ? { value: threatScore, scale: 'threat_score 0-100' }
        : { value: verdict ?? null, scale: 'verdict' };
    const named = verdict?.toLowerCase();
    if (named === 'whitelisted') return bandedScore(0, native);
    const bandLevel = (named !== undefined ? VERDICT_LEVELS[named] : undefined) ?? level ?? undefined;
    const band = bandLevel === undefined ? undefined : LEVEL_BANDS[bandLevel];
    if (!band) return bandedScore(null, native);
    return bandedScore(clampScore(band.floor + (threatScore ?? 50) * band.perPoint), native);
  }

  /** No default link: the service's sample page is addressed by hash, not job id (configure `reportPageUrl`). */
  protected readFindings(report: unknown): RawFindings {
    return falconFindings(report);
  }

  /** Jobs waiting in Falcon Sandbox's queue (`system/queue-size`). */
  async queueSize(): Promise<number> {
    const queue = await this.http.json({ method: 'GET', path: 'system/queue-size' }, QueueSize);
    return queue.value;
  }

  /** The analysis environments the instance offers now (`system/environments`); ids change over time. */
  async environments(): Promise<z.infer<typeof Environment>[]> {
    return this.http.json({ method: 'GET', path: 'system/environments' }, z.array(Environment));
  }
}

/**
 * Statuses whose meaning depends on Falcon's `message`: 429 is either the API rate limit ("Exceeded
 * maximum API requests", left to the default mapping) or the submission quota ("Quota limit has been
 * exceeded"); 4xx validation errors name unsupported and oversized files; 404 is an unknown job.
 */
const falconStatusError = jsonErrorMapping('falcon', stringField('message'), [
  ['quota', (status, message) => status === 429 && /quota/i.test(message)],
  ['default', statusIs(429)],
  [
    'too-large',
    (status, message) =>
      status === 413 || (status < 500 && /too (big|large)|maximum (allowed )?(file )?size|exceeds/i.test(message)),
    'file too large',
  ],
  ['unsupported', (status, message) => status < 500 && UNSUPPORTED.test(message)],
  ['not-found', statusIs(404), 'not found'],
]);

/** Falcon Sandbox as the registry lists it. */
export const falconConnectorInfo = registryEntry(
  'falcon',
  'CrowdStrike Falcon Sandbox (Hybrid Analysis API v2)',
  ['queue-size', 'pdf-report', 'environments'],
  FalconConnector,
);
