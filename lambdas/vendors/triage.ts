import * as z from 'zod';
import { clampScore } from '../core/contracts/scoring';
import type { ConnectorContext, ItemStatus, NativeReport, NormalisedScore, SampleSource } from './kit';
import {
  BadResponseError,
  bandedScore,
  BaseConnector,
  errorMapping,
  ItemNotFoundError,
  itemStatus,
  jsonOrUndefined,
  registryEntry,
  says,
  UNSUPPORTED,
} from './kit';
import { hostsOf, lenient, type RawFindings, severityFrom, techniquesOf } from './kit';

/** Every Triage error: `{"error": "<CODE>", "message": "..."}`. */
const ErrorBody = z.object({ error: z.string(), message: z.string().optional() });

const Sample = z.object({ id: z.string().min(1), status: z.string() });

const SampleView = Sample.extend({
  tasks: z.array(z.object({ id: z.string(), status: z.string() })).optional(),
});

/**
 * A page of samples. An account with none gets `"data": null` (the official client reads
 * `resp['data'] or []`, hatching/triage python/triage/pagination.py).
 */
const SampleList = z.object({ data: z.array(z.unknown()).nullable(), next: z.string().nullable().optional() });

const Score = z.number().nullable().optional();

/** `/samples/{id}/summary`: the overall score and one entry per task, keyed `<sample>-<task>`. */
const Summary = z.object({
  sample: z.string(),
  status: z.string(),
  score: Score,
  tasks: z
    .record(z.string(), z.object({ kind: z.string().optional(), status: z.string().optional(), score: Score }).loose())
    .default({}),
});

/** `/samples/{id}/{task}/report_triage.json` (and v1 `overview.json`): the score sits under `analysis`. */
const TaskReport = z.object({ analysis: z.object({ score: Score }).loose() }).loose();

/** The summary plus the behavioural report of each task, as sandboxapi's `full_report` gathers them. */
export interface TriageFullReport {
  summary: z.infer<typeof Summary>;
  /** `report_triage.json` by task name (`behavioral1`, ...). */
  tasks: Record<string, z.infer<typeof TaskReport>>;
}

/** Sample states after which nothing more happens. */
const DONE = 'reported';
const FAILED = 'failed';

/** Triage scores 1–10 on Sandtrap's 0–100 scale, linearly: 1 → 0, 5 → 44, 8 → 78, 10 → 100. */
function normalise(score: number): number {
  return clampScore(((score - 1) * 100) / 9);
}

/** The score a Triage document states: its own (summary, task report, overview), else its best task's. */
function nativeScore(report: unknown): number | null {
  const task = TaskReport.safeParse(report);
  if (task.success && typeof task.data.analysis.score === 'number') return task.data.analysis.score;
  const value = report as { score?: unknown; tasks?: unknown };
  if (typeof value.score === 'number') return value.score;
  const tasks = Array.isArray(value.tasks)
    ? value.tasks
    : Object.values((value.tasks as Record<string, unknown> | undefined) ?? {});
  const scores = tasks
    .map((t) => (t as { score?: unknown } | null)?.score)
    .filter((s): s is number => typeof s === 'number');
  return scores.length ? Math.max(...scores) : null;
}

/**
 * Hatching Triage / Recorded Future Sandbox through API v0 (`https://tria.ge/api/v0/`, or
 * `https://api.tria.ge/v0/` as the official clients put it; private clouds have their own host).
 *
 * Credentials: the account's API key from the Triage web interface, sent as `Authorization: Bearer`.
 * Options: `network` (internet, drop, tor, sim200, sim404, simnx), `profile` (comma-separated profile
 * names), `password` (for encrypted archives).
 *
 * Unlike sandboxapi, a `failed` sample ends the poll, and `score()` reads the report it is given
 * instead of downloading the summary again.
 */
export class TriageConnector extends BaseConnector<'triage'> {
  constructor(context: ConnectorContext) {
    super('triage', context, {
      headers: { accept: 'application/json' },
      credentialHeaders: (key) => ({ authorization: `Bearer ${key}` }),
      statusError,
    });
  }

  /** Lists one of our own samples: any answer proves the key. */
  protected async probe(): Promise<undefined> {
    await this.http.json({ method: 'GET', path: 'samples', query: { subset: 'owned', limit: 1 } }, SampleList);
  }

  protected async upload(sample: SampleSource): Promise<string> {
    const fields = [{ name: '_json', value: JSON.stringify(this.submitRequest()) }];
    const created = await this.http.json(await this.uploadRequest('samples', fields, sample), Sample);
    return created.id;
  }

  /** The run we asked for, plus a minute of static analysis and report processing. */
  override initialWaitSeconds(): number {
    return this.config.analysisTimeoutSeconds + 60;
  }

  async status(itemId: string): Promise<ItemStatus> {
    const sample = await this.http.json({ method: 'GET', path: `samples/${encodeURIComponent(itemId)}` }, SampleView);
    const state = sample.status;
    if (state === DONE) return itemStatus.ready(state);
    if (state === FAILED) {
      const failedTasks = (sample.tasks ?? []).filter((t) => t.status === FAILED).map((t) => t.id);
      return itemStatus.failedAnalysis(
        state,
        `Triage sample failed${failedTasks.length ? ` (tasks ${failedTasks.join(', ')})` : ''}`,
      );
    }
    return itemStatus.inProgress(state);
  }

  /**
   * The sample overview (`overview.json`): the overall score and families under `analysis`, per task
   * its summary (tags, `ttp`, score), the signatures of every task (name, score 1–10, `ttp`, `desc`)
   * and each target's IOCs. Triage serves it under API v1 beside the v0 base, as both official clients
   * ask for it (hatching/triage go/report.go `SampleOverviewReport`, python `overview_report`: GET
   * `/v1/samples/{id}/overview.json`, shape `types.OverviewReport` in types/types.go). Where there is
   * none (a private cloud without v1), the v0 sample summary, which has the score and family tags but
   * no signatures.
   */
  async report(itemId: string): Promise<NativeReport> {
    const id = encodeURIComponent(itemId);
    try {
      return await this.download({ method: 'GET', path: `../v1/samples/${id}/overview.json` }, 'json');
    } catch (error) {
      if (!(error instanceof ItemNotFoundError)) throw error;
      return this.download({ method: 'GET', path: `samples/${id}/summary` }, 'json');
    }
  }

  /** The summary plus every behavioural task's `report_triage.json` (processes, signatures, network, extracted configs). */
  async fullReport(itemId: string): Promise<TriageFullReport> {
    const id = encodeURIComponent(itemId);
    const summary = await this.http.json({ method: 'GET', path: `samples/${id}/summary` }, Summary);
    const tasks: TriageFullReport['tasks'] = {};
    for (const [key, task] of Object.entries(summary.tasks)) {
      // Static tasks have no behavioural report; the key is "<sample id>-<task name>".
      if (task.kind !== 'behavioral') continue;
      const name = key.startsWith(`${itemId}-`) ? key.slice(itemId.length + 1) : key;
      tasks[name] = await this.http.json(
        { method: 'GET', path: `samples/${id}/${encodeURIComponent(name)}/report_triage.json` },
        TaskReport,
      );
    }
    return { summary, tasks };
  }
  protected readFindings(report: unknown): RawFindings {
    return triageFindings(report);
  }

  /** Triage's web interface shows a sample at `/<sample id>` on the API's host, less its `api.` prefix. */
  protected override defaultReportPage(): string | undefined {
    const url = new URL(this.config.baseUrl);
    return `${url.protocol}//${url.host.replace(/^api\./, '')}/{id}`;
  }

  /**
   * Scores a summary (its overall `score`, else the best task score), a task's `report_triage.json` or a
   * v1 overview (`analysis.score`) on 0–100; a report with no score yet (N/A) is `unknown`.
   */
  score(report: unknown): NormalisedScore {
    if (typeof report !== 'object' || report === null || !['score', 'tasks', 'analysis'].some((key) => key in report)) {
      throw new BadResponseError('triage', 'report is not a Triage summary or task report');
    }
    const value = nativeScore(report);
    const native = { value, scale: 'Triage score 1-10' };
    return bandedScore(value === null ? null : normalise(value), native);
  }

  override delete(itemId: string): Promise<boolean> {
    return this.succeeds(async () => {
      const response = await this.http.send({ method: 'DELETE', path: `samples/${encodeURIComponent(itemId)}` });
      await response.body.dump();
    });
  }

  /** The `_json` part: a non-interactive file analysis with our timeout and the configured options. */
  private submitRequest(): Record<string, unknown> {
    const { network, profile, password } = this.config.options;
    const profiles =
      profile === undefined
        ? []
        : String(profile)
            .split(',')
            .map((p) => p.trim())
            .filter(Boolean);
    return {
      kind: 'file',
      interactive: false,
      defaults: {
        timeout: this.config.analysisTimeoutSeconds,
        ...(network !== undefined ? { network: String(network) } : {}),
      },
      ...(profiles.length ? { profiles: profiles.map((p) => ({ profile: p })) } : {}),
      ...(password !== undefined ? { password: String(password) } : {}),
    };
  }
}

/** The error code of a Triage error body, when it is one. */
const codeOf = (body: string) => ErrorBody.safeParse(jsonOrUndefined(body)).data?.error;

/** Triage's error codes; the client's defaults cover 401/403, 429 with Retry-After and 5xx. */
const statusError = errorMapping(
  'triage',
  (body, status) => {
    const parsed = ErrorBody.safeParse(jsonOrUndefined(body)).data;
    return parsed ? `${parsed.error}: ${parsed.message ?? ''}` : `HTTP ${status}`;
  },
  [
    // A report is written some time after the sample reports; Triage says to ask again in a minute.
    ['transient', (_status, _message, body) => codeOf(body) === 'REPORT_NOT_AVAILABLE'],
    ['quota', says(/quota/i)],
    ['too-large', (status, message) => status === 413 || /too large|maximum (file )?size/i.test(message)],
    ['unsupported', says(UNSUPPORTED)],
    ['not-found', (status, _message, body) => status === 404 || codeOf(body) === 'NOT_FOUND'],
  ],
);

/** The Triage connector as the registry lists it. */
export const triageConnectorInfo = registryEntry(
  'triage',
  'Hatching Triage / Recorded Future Sandbox (API v0)',
  ['delete'],
  TriageConnector,
);

const TriageSignature = z
  .object({
    name: z.unknown().optional(),
    score: z.unknown().optional(),
    desc: z.unknown().optional(),
    ttp: z.unknown().optional(),
  })
  .loose();

/**
 * The parts of a Triage document findings come from, whichever it is: the v1 overview the connector
 * stores (`analysis.family`, `tasks[]` as `TaskSummary` with `tags` and `ttp`, `signatures[]` with
 * `name`, `desc`, `score` 1–10 and `ttp`, `targets[].iocs.domains`/`ips`, `extracted[].config.family`),
 * the v0 summary it falls back to (`tasks.<task>.tags`, where `family:<name>` names a family, and
 * `tasks.<task>.ttp`; no signatures or hosts) or a task's `report_triage.json` (`analysis.tags`,
 * `analysis.ttp`, `signatures[]`, `network.flows[].domain`, `extracted[].config.family`).
 */
const TriageDocument = z.object({
  tags: z.unknown().optional(),
  tasks: z.unknown().optional(),
  analysis: lenient(
    z.object({ tags: z.unknown().optional(), ttp: z.unknown().optional(), family: z.unknown().optional() }).loose(),
  ),
  signatures: lenient(z.array(z.unknown())),
  network: lenient(z.object({ flows: z.unknown().optional() }).loose()),
  extracted: lenient(z.array(z.unknown())),
  targets: lenient(z.array(z.unknown())),
});

/** `family:<name>` tags, as Triage names families. */
function familyTags(tags: unknown): string[] {
  return (Array.isArray(tags) ? tags : []).flatMap((tag) =>
    typeof tag === 'string' && tag.startsWith('family:') ? [tag.slice('family:'.length)] : [],
  );
}

/** What a Triage summary, task report or overview concluded; a score from 5 is medium, from 8 high, 10 critical. */
export function triageFindings(report: unknown): RawFindings {
  const parsed = TriageDocument.safeParse(report);
  if (!parsed.success) return {};
  const d = parsed.data;
  const tasks = d.tasks && typeof d.tasks === 'object' ? Object.values(d.tasks as object) : [];
  const signatures = (d.signatures ?? []).flatMap((s) => {
    const signature = TriageSignature.safeParse(s);
    return signature.success ? [signature.data] : [];
  });
  const record = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
  const iocs = (d.targets ?? []).map((t) => record(record(t).iocs));
  return {
    families: [
      ...familyTags(d.tags),
      ...tasks.flatMap((task) => familyTags(record(task).tags)),
      ...familyTags(d.analysis?.tags),
      ...(Array.isArray(d.analysis?.family) ? d.analysis.family : []),
      ...(d.extracted ?? []).map((e) => record(record(e).config).family),
    ],
    signatures: signatures.map((s) => ({
      name: s.name,
      severity: severityFrom(s.score ?? 0, [5, 8, 10]),
      description: s.desc,
    })),
    attack: [
      ...tasks.flatMap((task) => techniquesOf(record(task).ttp)),
      ...techniquesOf(d.analysis?.ttp),
      ...signatures.flatMap((s) => techniquesOf(s.ttp)),
    ],
    hosts: [...hostsOf([d.network?.flows, 'domain']), ...iocs.flatMap((i) => hostsOf([i.domains], [i.ips]))],
  };
}
