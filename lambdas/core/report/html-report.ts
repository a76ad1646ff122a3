import {
  BEHAVIOR_KEYS,
  IndicatorSchema,
  type Behavior,
  type BoundedList,
  type DetonationReport,
  type Indicator,
  type ProcessRecord,
  type Severity,
  FileOperationKindSchema,
} from '../contracts/detonation-report';
import { ATTACK_VERSION, tacticUrl } from '../attack/tactics';
import { html, safeHref, type HtmlValue, type SafeHtml } from './html-escape';
import {
  basename,
  techniqueLink,
  BEHAVIOR_LABELS,
  bytes,
  duration,
  empty,
  facts,
  offset,
  plural,
  section,
  SEVERITY_RANK,
  severityPill,
  shellJoin,
  shown,
  table,
  thousands,
  timestamp,
  verdictPill,
  type Section,
} from './html-blocks';
import { staticSection } from './static-section';
import { extractIocs } from '../indicators/extract';
import { indicatorsSection, recommendationsSection } from './action-sections';
import { recommendationsOf } from './recommendations';
import { besideReport } from '../contracts/report-keys';
import { indicatorsByTactic, type FiledIndicator, type TacticGroup } from './indicators-by-tactic';
import type { EngineId, EngineResult, EngineStatus, VerdictDocument } from '../contracts/pipeline';

/**
 * The HTML report: one self-contained file an analyst opens from disk or from a presigned link, and
 * prints to PDF. It holds no script and loads nothing (inline CSS and SVG only, a CSP that forbids
 * the rest), because every name, path and line in it comes from a sample or a vendor.
 */

/** What a report is made of. */
export interface HtmlReportInput {
  /** The verdict document (`reports/<sha256>/verdict.json`). */
  document: VerdictDocument;
  /** The detonation report, when the detonation engine ran. */
  detonation?: DetonationReport;
  /** Vendor report URLs by engine id; only absolute http(s) URLs become links. */
  reportLinks?: Record<string, string>;
  /** When the report is made: passed in so that the same input always gives the same file. */
  generatedAt: Date;
}

/**
 * The Content-Security-Policy of every report: nothing may load or run, inline styles and `data:`
 * images aside. `base-uri` and `form-action` are not covered by `default-src`, so they are named.
 */
export const REPORT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const ENGINE_NAMES: Record<EngineId, string> = {
  static: 'Static analysis',
  cuckoo: 'Cuckoo',
  cape: 'CAPE',
  falcon: 'CrowdStrike Falcon Sandbox',
  fireeye: 'FireEye / Trellix AX',
  joe: 'Joe Sandbox',
  vmray: 'VMRay',
  wildfire: 'Palo Alto WildFire',
  triage: 'Hatching Triage',
  opswat: 'OPSWAT MetaDefender',
  detonation: 'Sandtrap detonation',
};

const STATUS_LABELS: Record<EngineStatus, string> = {
  completed: 'completed',
  failed: 'failed',
  timeout: 'timed out',
  error: 'error',
  unsupported: 'unsupported',
  too_large: 'too large',
  quota_exceeded: 'quota exceeded',
  auth_failed: 'auth failed',
};

// ---------------------------------------------------------------- behaviour

/** Indicators by behaviour key, with how many entries of the document could not be read as one. */
interface BehaviorView {
  behavior: Behavior;
  unreadable: number;
}

/**
 * The detonation report's behaviour, or else the verdict document's copy of it (a document read
 * back from the store carries `behavior` without the report). The document types it loosely, so
 * each entry is checked and the ones that are not indicators are counted instead of shown.
 */
function behaviorOf(input: HtmlReportInput): BehaviorView | null {
  if (input.detonation) return { behavior: input.detonation.behavior, unreadable: 0 };
  const loose = input.document.behavior;
  if (!loose) return null;
  let unreadable = 0;
  const behavior = Object.fromEntries(
    BEHAVIOR_KEYS.map((key) => {
      const items: Indicator[] = [];
      for (const entry of loose[key] ?? []) {
        const parsed = IndicatorSchema.safeParse(entry);
        if (parsed.success) items.push(parsed.data);
        else unreadable++;
      }
      return [key, items];
    }),
  ) as Behavior;
  return { behavior, unreadable };
}

/** strace -ttt prefixes each trace line with epoch seconds, e.g. `1234 1717171717.123456 execve(…)`. */
const EPOCH = /(?:^|\s)(\d{10}\.\d{1,9})(?=\s)/;

/**
 * When an indicator was first seen, in seconds since the start, read from the first evidence line
 * that carries a trace timestamp; indicators have no time field of their own.
 */
function firstSeen(indicator: Indicator, detonation: DetonationReport | undefined): number | null {
  if (!detonation) return null;
  const end = timelineEnd(detonation);
  const start = Date.parse(detonation.startedAt) / 1000;
  for (const line of indicator.evidence) {
    const match = EPOCH.exec(line);
    if (!match) continue;
    const t = Number(match[1]) - start;
    // A second of slack either way: the trace clock and the agent's start time are read apart.
    if (t >= -1 && t <= end + 1) return Math.min(Math.max(t, 0), end);
  }
  return null;
}

function bySeverity(a: Indicator, b: Indicator): number {
  return SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.id.localeCompare(b.id);
}

function maxSeverity(items: readonly Indicator[]): Severity | null {
  return items.reduce<Severity | null>(
    (m, i) => (m === null || SEVERITY_RANK[i.severity] > SEVERITY_RANK[m] ? i.severity : m),
    null,
  );
}

/** A technique id as a link to its ATT&CK page, named; a malformed id stays plain text. */

function indicatorArticle(filed: FiledIndicator, input: HtmlReportInput): SafeHtml {
  const { indicator, techniques, otherTactics, key } = filed;
  const seen = firstSeen(indicator, input.detonation);
  const attack = techniques.length
    ? html`ATT&amp;CK ${techniques.map((t, i) => html`${i ? '; ' : ''}${techniqueLink(t)}`)}${otherTactics.length ? html` · also ${otherTactics.map((t) => t.name).join(', ')}` : null}`
    : 'No ATT&CK technique';
  return html`<article class="indicator sev-${indicator.severity}">
<header>${severityPill(indicator.severity)} <strong>${indicator.title}</strong> <code class="muted">${indicator.id}</code> <span class="muted small">${BEHAVIOR_LABELS[key]}</span></header>
<p class="meta">${attack} · ${plural(indicator.occurrences, 'occurrence')}${seen === null ? '' : html` · first seen ${offset(seen)}`}${indicator.truncated ? ' · evidence shortened' : ''}</p>
<pre class="evidence">${indicator.evidence.map((line, i) => html`${i ? '\n' : ''}${line}`)}</pre>
</article>`;
}

/** The heading of a tactic group; its anchor is what the kill-chain strip links to. */
function tacticGroupHeading(group: TacticGroup): { anchor: string; label: string; heading: SafeHtml } {
  const count = html`<span class="muted">· ${plural(group.indicators.length, 'indicator')}</span>`;
  if (group.tactic) {
    const t = group.tactic;
    return {
      anchor: `tactic-${t.id}`,
      label: t.name,
      heading: html`${t.name} <a class="tactic-id" href="${tacticUrl(t)}" rel="noopener noreferrer" target="_blank"><code>${t.id}</code></a> ${count}`,
    };
  }
  return group.kind === 'unmapped'
    ? {
        anchor: 'tactic-unmapped',
        label: 'Unmapped',
        heading: html`Unmapped <span class="muted">(techniques the report cannot place in a tactic)</span> ${count}`,
      }
    : { anchor: 'tactic-none', label: 'No technique', heading: html`No ATT&amp;CK technique ${count}` };
}

function behaviorSection(input: HtmlReportInput, view: BehaviorView | null): Section | null {
  if (!view) return null;
  const title = 'Behaviour indicators';
  const { behavior, unreadable } = view;
  const total = BEHAVIOR_KEYS.reduce((n, k) => n + behavior[k].length, 0);
  const tiles = BEHAVIOR_KEYS.map((key) => {
    const items = behavior[key];
    const top = maxSeverity(items);
    return html`<div class="tile ${top ? `s-${top}` : 'none'}"><span class="tile-label">${BEHAVIOR_LABELS[key]}</span><span class="tile-count">${items.length}</span><span class="tile-sev">${top ?? 'none'}</span></div>`;
  });
  const tacticGroups = indicatorsByTactic(behavior, bySeverity).map((group) => ({
    group,
    ...tacticGroupHeading(group),
  }));
  const chain = html`<ol class="killchain">${tacticGroups.map(
    ({ group, anchor, label }) =>
      html`<li class="s-${maxSeverity(group.indicators.map((f) => f.indicator)) ?? 'none'}"><a href="#${anchor}">${label}</a> <span class="muted">${group.indicators.length}</span></li>`,
  )}</ol>
<p class="note">Indicators by ATT&amp;CK tactic (${ATTACK_VERSION}), in kill-chain order. Each indicator is listed once, under the tactic its behaviour key stands for; other tactics its techniques serve follow "also". Technique ids link to their ATT&amp;CK pages.</p>`;
  const groups = tacticGroups.map(
    ({ group, anchor, heading }) =>
      html`<div class="group"><h3 id="${anchor}">${heading}</h3>${group.indicators.map((filed) => indicatorArticle(filed, input))}</div>`,
  );
  const quiet = BEHAVIOR_KEYS.filter((k) => behavior[k].length === 0).map((k) => BEHAVIOR_LABELS[k]);
  return section(
    'behavior',
    title,
    html`<div class="tiles">${tiles}</div>
${total === 0 ? empty('No indicators were raised under any behaviour key.') : html`${chain}${groups}`}
${total > 0 && quiet.length ? html`<p class="note">No indicators for: ${quiet.join(', ')}.</p>` : null}
${unreadable ? html`<p class="note">Left out ${plural(unreadable, 'behaviour entry', 'behaviour entries')} of the verdict document that could not be read as indicators.</p>` : null}`,
  );
}

// ---------------------------------------------------------------- header, triage, engines

function banner(input: HtmlReportInput, view: BehaviorView | null): SafeHtml {
  const d = input.document;
  const completed = d.engineResults.filter((e) => e.status === 'completed').length;
  const indicators = view ? BEHAVIOR_KEYS.reduce((n, k) => n + view.behavior[k].length, 0) : null;
  const width = d.score === null ? 0 : d.score;
  return html`<header class="banner v-${d.verdict}">
<div class="banner-main">
<div><div class="label">Verdict</div><div class="verdict">${d.verdict.toUpperCase()}</div></div>
<div><div class="label">Score</div><div class="score">${d.score === null ? '—' : d.score}<span class="of">/100</span></div>
<div class="gauge" aria-hidden="true"><div style="width:${width}%"></div></div></div>
</div>
<div class="banner-facts">
<div class="file-name">${basename(d.key)}</div>
<div class="mono">${d.sha256}</div>
<div>${d.fileType} · ${bytes(d.size)} · ${completed} of ${plural(d.engineResults.length, 'engine')} completed${indicators === null ? '' : html` · ${plural(indicators, 'indicator')}`}${d.cached ? ' · cached verdict' : ''}</div>
${d.score === null ? html`<div>No engine produced a score, so the verdict is unknown, not benign.</div>` : null}
</div>
</header>`;
}

function triageSection(d: VerdictDocument): Section {
  return section(
    'triage',
    'Sample',
    facts([
      ['SHA-256', html`<code>${d.sha256}</code>`, 'wide'],
      ['SHA-1', html`<code>${d.sha1}</code>`],
      ['MD5', html`<code>${d.md5}</code>`],
      ['File type', d.fileType],
      ['MIME type', html`<code>${d.mimeType}</code>`],
      ['Size', `${bytes(d.size)} (${thousands(d.size)} bytes)`],
      ['Bucket', html`<code>${d.bucket}</code>`],
      ['Key', html`<code>${d.key}</code>`, 'wide'],
      ['Version', d.versionId === null ? 'unversioned' : html`<code>${d.versionId}</code>`],
      ['Analysed at', timestamp(d.analyzedAt)],
      ['Analysis time', duration(d.durationMs)],
      ...(d.reason
        ? [
            [
              'Basis',
              d.reason === 'empty'
                ? 'an empty object: nothing in it can do harm'
                : d.reason === 'released'
                  ? 'released by an analyst (sandtrap release): benign whatever the engines below scored'
                  : 'static evidence only: no engine that runs the file applied',
            ] as const,
          ]
        : []),
      [
        'Threats',
        d.threats.length
          ? html`${d.threats.map((t, i) => html`${i ? ', ' : ''}<strong>${t.name}</strong> <span class="muted">(${ENGINE_NAMES[t.engine] ?? t.engine}${t.family ? `, ${t.family}` : ''})</span>`)}`
          : html`<span class="muted">none named</span>`,
        'wide',
      ],
      [
        'Cached',
        d.cached ? 'yes: the verdict of an earlier analysis of the same content' : 'no: analysed for this upload',
      ],
    ]),
  );
}

function nativeScore(e: EngineResult): HtmlValue {
  if (!e.native || e.native.value === null) return html`<span class="muted">—</span>`;
  return html`${String(e.native.value)} <span class="muted">(${e.native.scale})</span>`;
}

/** Signatures shown in an engine's row; the verdict document has the rest. */
const SIGNATURES_SHOWN = 3;

/**
 * What a vendor concluded, in its row: the families, its strongest signatures with their severity,
 * and the ATT&CK ids it named. All of it comes from the vendor's report, which the sample can shape:
 * escaped like everything else, never a link.
 */
function findingsCell(e: EngineResult): HtmlValue {
  const f = e.findings;
  if (!f || (f.families.length === 0 && f.signatures.length === 0 && f.attack.length === 0))
    return html`<span class="muted">—</span>`;
  const families =
    f.families.length > 0
      ? html`<div>${f.families.map((n, i) => html`${i ? ', ' : ''}<strong>${n}</strong>`)}</div>`
      : null;
  const shown = f.signatures.slice(0, SIGNATURES_SHOWN);
  const more = f.signatures.length - shown.length;
  const signatures =
    shown.length > 0
      ? html`<div class="small">${shown.map((sig, i) => html`${i ? '; ' : ''}${sig.name} <span class="muted">(${sig.severity})</span>`)}${more > 0 ? html` <span class="muted">and ${more} more</span>` : null}</div>`
      : null;
  const attack = f.attack.length > 0 ? html`<div><code class="small">${f.attack.join(' ')}</code></div>` : null;
  return html`${families}${signatures}${attack}`;
}

function reportCell(e: EngineResult, sha256: string, links: Record<string, string> | undefined): HtmlValue {
  // A link given with the report wins; else the vendor's own page, built from its configured URL.
  const given = links?.[e.engine] ?? e.findings?.reportUrl;
  const href = given === undefined ? null : safeHref(given);
  if (href) return html`<a href="${href}" rel="noopener noreferrer" target="_blank">vendor report</a>`;
  // The sample's hash is in the banner already; shortened, the stored key fits its column.
  const key = e.reportKey
    ? html`<code class="small">${e.reportKey.replace(sha256, `${sha256.slice(0, 8)}…`)}</code>`
    : null;
  if (given !== undefined)
    return html`<span class="muted">link withheld (not http/https)</span>${key ? html`<br>${key}` : null}`;
  return key ?? html`<span class="muted">—</span>`;
}

function enginesSection(d: VerdictDocument, links: Record<string, string> | undefined): Section {
  const title = 'Engines';
  if (d.engineResults.length === 0)
    return section('engines', title, empty('No engine analysed this sample: the verdict comes from triage only.'));
  // Vendors the upload's source may not disclose files to: listed, so a reader sees why they are missing.
  const withheld = (d.withheld ?? []).map(
    (w) => html`<tr>
<td><strong>${ENGINE_NAMES[w.engine] ?? w.engine}</strong><br><code class="muted small">${w.engine}</code></td>
<td><span class="status st-bad">not sent</span></td>
<td><span class="muted">—</span></td>
<td><span class="muted">—</span></td>
<td>withheld by the disclosure rule of <code>${w.source}</code></td>
<td><span class="muted">—</span></td>
<td><span class="muted">—</span></td>
</tr>`,
  );
  const rows = d.engineResults.map(
    (e) => html`<tr>
<td><strong>${ENGINE_NAMES[e.engine] ?? e.engine}</strong><br><code class="muted small">${e.engine}</code></td>
<td><span class="status st-${e.status === 'completed' ? 'ok' : 'bad'}">${STATUS_LABELS[e.status] ?? e.status}</span></td>
<td>${verdictPill(e.verdict)}${e.score === null ? html`<div class="scored muted">no score</div>` : html`<div class="scored"><span>${e.score}</span><div class="gauge small v-${e.verdict}" aria-hidden="true"><div style="width:${e.score}%"></div></div></div>`}</td>
<td>${nativeScore(e)}</td>
<td>${e.reason ?? html`<span class="muted">—</span>`}</td>
<td>${findingsCell(e)}</td>
<td>${reportCell(e, d.sha256, links)}</td>
</tr>`,
  );
  return section(
    'engines',
    title,
    table(
      ['Engine', 'Status', 'Verdict and score', 'Native score', 'Reason', 'Vendor findings', 'Report'],
      [...rows, ...withheld],
      'engines',
      [14, 11, 14, 14, 18, 19, 10],
    ),
  );
}

// ---------------------------------------------------------------- detonation

/**
 * The detonation's run. Without one, this section says so once and the sections that only a
 * detonation fills (timeline, processes, files, network) are left out rather than each repeating it.
 */
/**
 * The packet capture's line: a link to the file beside the report where its key sits under the
 * report's own folder (`reports/<sha256>/`, where the HTML report is stored), and its key either way.
 */
function captureFact(
  caps: DetonationReport['capabilities'],
  captureKey: string | undefined,
  sha256: string,
): HtmlValue {
  if (caps.pcap === 'disabled') return 'not asked for';
  if (caps.pcap === 'unsupported') return html`not captured: ${caps.pcapReason ?? 'unsupported here'}`;
  const file = caps.pcapFile;
  const summary = file
    ? `${file.packets} packets, ${bytes(file.bytes)}, ${file.attributed} of ${file.conversations} conversations with the destination the sample asked for${file.truncated ? ', truncated at its limits' : ''}`
    : 'captured';
  if (!captureKey) return summary;
  const href = besideReport(captureKey, sha256);
  return html`${href ? html`<a href="${href}" download>${href.split('/').pop()}</a> · ` : null}${summary}<br><code class="small">${captureKey}</code>`;
}

function detonationSection(
  r: DetonationReport | undefined,
  view: BehaviorView | null,
  captureKey?: string,
  sha256 = '',
): Section {
  const title = 'Detonation';
  if (!r)
    return section(
      'detonation',
      title,
      empty(
        view
          ? 'The detonation report is not attached: there is no timeline, process tree, file or network activity to show. The behaviour below comes from the verdict document.'
          : 'The detonation did not run for this sample: there is no behaviour, timeline, process tree, file or network activity to show.',
      ),
    );
  const prep = r.sample.preparation;
  const hit = Object.entries(r.limitsHit)
    .filter(([, v]) => v)
    .map(([k]) => k);
  const caps = r.capabilities;
  const members = prep.members;
  return section(
    'detonation',
    title,
    html`${facts([
      ['Status', html`${r.status}${r.error ? html` · ${r.error}` : null}`],
      ['Verdict', html`${verdictPill(r.verdict)} ${r.score === null ? 'no score' : `score ${r.score}`}`],
      ['Sample name', html`<code>${r.sample.name}</code>`],
      [
        'Prepared as',
        [
          prep.method,
          prep.interpreter && ` with ${prep.interpreter}`,
          prep.compiler && ` compiled by ${prep.compiler}`,
          prep.reason && ` (${prep.reason})`,
        ],
      ],
      ['Started', timestamp(r.startedAt)],
      ['Ran for', `${duration(r.durationMs)}, ended: ${r.endReason}${r.timedOut ? ' (timed out)' : ''}`],
      [
        'Limits',
        `${r.limits.cpus} CPU, ${bytes(r.limits.memoryBytes)} memory, ${r.limits.processes} processes, ${r.limits.timeoutSeconds} s timeout`,
      ],
      ['Limits hit', hit.length ? html`<strong>${hit.join(', ')}</strong>` : 'none'],
      [
        'Monitoring',
        `tracer ${caps.tracer}, seccomp-bpf ${caps.seccompBpf ? 'on' : 'off'}, network guard ${caps.networkGuard ? 'on' : 'off'}, mount namespace ${caps.mountNamespace ? 'on' : 'off'}, pcap ${caps.pcap}`,
      ],
      ['Packet capture', captureFact(caps, captureKey, sha256)],
    ])}
${r.notes.items.length ? html`<h3>Notes</h3><ul class="notes">${r.notes.items.map((n) => html`<li>${n}</li>`)}</ul>${shown(r.notes, 'note')}` : null}
${
  members
    ? html`<h3>Archive members</h3>${
        members.items.length
          ? table(
              ['Path', 'Type', 'Size', 'Action'],
              members.items.map(
                (m) =>
                  html`<tr><td><code>${m.path}</code></td><td>${m.fileType}</td><td class="num">${bytes(m.size)}</td><td>${m.action}${m.reason ? html`<br><span class="muted">${m.reason}</span>` : null}</td></tr>`,
              ),
            )
          : empty('The archive has no members.')
      }${shown(members, 'member')}`
    : null
}
<h3>Output (end of stdout and stderr, ${bytes(r.output.bytes)} in all)</h3>
${r.output.tail ? html`<pre class="output">${r.output.tail}</pre>` : empty('The sample wrote nothing to stdout or stderr.')}`,
  );
}

/**
 * The tree by parent pid; a process whose parent was not recorded is a root. Every record is drawn
 * exactly once, even when a malformed report makes parents a cycle or reuses a pid: what cannot be
 * reached from a root becomes a root of its own.
 */
function processTree(processes: readonly ProcessRecord[]): SafeHtml {
  const pids = new Set(processes.map((p) => p.pid));
  const children = new Map<number | null, ProcessRecord[]>();
  for (const p of processes) {
    const parent = p.ppid !== null && p.ppid !== p.pid && pids.has(p.ppid) ? p.ppid : null;
    children.set(parent, [...(children.get(parent) ?? []), p]);
  }
  const drawn = new Set<ProcessRecord>();
  const draw = (candidates: readonly ProcessRecord[]): SafeHtml | null => {
    const list = candidates.filter((p) => !drawn.has(p)).sort((a, b) => a.start - b.start || a.pid - b.pid);
    if (list.length === 0) return null;
    for (const p of list) drawn.add(p);
    return html`<ul>${list.map((p) => {
      const ended =
        p.end === null
          ? 'still running at the end'
          : `${offset(p.end)}${p.signal ? `, killed by ${p.signal}` : p.exitCode === null ? '' : `, exit ${p.exitCode}`}`;
      return html`<li><div class="proc"><span class="pid">${p.pid}</span> <code class="exe">${p.exe ?? '(unknown executable)'}</code>${p.argv.length ? html` <code class="argv">${shellJoin(p.argv)}</code>` : null}
<div class="meta">uid ${p.uid ?? '?'} · ${offset(p.start)} → ${ended}${p.member ? html` · from <code>${p.member}</code>` : null}</div></div>${draw(children.get(p.pid) ?? [])}</li>`;
    })}</ul>`;
  };
  const trees = [draw(children.get(null) ?? [])];
  for (const p of processes) if (!drawn.has(p)) trees.push(draw([p]));
  return html`<div class="tree">${trees}</div>`;
}

function processSection(r: DetonationReport): Section {
  const title = 'Process tree';
  if (r.processes.items.length === 0)
    return section(
      'processes',
      title,
      empty(
        r.capabilities.tracer === 'none'
          ? 'No processes were recorded: the system-call tracer was not available.'
          : 'No processes were recorded.',
      ),
    );
  return section(
    'processes',
    title,
    html`${processTree(r.processes.items)}${shown(r.processes, 'process', 'processes')}`,
  );
}

/** The operations that only look at a path; every other one changes the file system and is highlighted. */
const LOOKING: ReadonlySet<string> = new Set(['read', 'exec', 'access', 'readlink', 'chdir']);
const MUTATING = new Set(FileOperationKindSchema.options.filter((op) => !LOOKING.has(op)));

function filesSection(r: DetonationReport): Section {
  const title = 'File activity';
  const list = r.fileOperations;
  if (list.items.length === 0)
    return section('files', title, empty('No file activity was recorded in the watched directories.'));
  const rows = [...list.items]
    .sort((a, b) => a.first - b.first)
    .map(
      (f) => html`<tr><td class="num">${offset(f.first)}</td><td><code>${f.path}</code></td>
<td>${f.operations.map((op) => html`<span class="op${MUTATING.has(op) ? ' mut' : ''}">${op}</span>`)}</td>
<td class="num">${thousands(f.count)}</td><td class="num">${f.failures ? html`<strong>${thousands(f.failures)}</strong>` : '0'}</td></tr>`,
    );
  return section(
    'files',
    title,
    html`${table(['First', 'Path', 'Operations', 'Count', 'Failed'], rows, 'files')}${shown(list, 'path')}`,
  );
}

function networkSection(r: DetonationReport): Section {
  const title = 'Network activity';
  const n = r.network;
  const part = <T>(
    heading: string,
    list: BoundedList<T>,
    noun: string,
    none: string,
    head: string[],
    row: (item: T) => SafeHtml,
  ): SafeHtml =>
    html`<h3>${heading}</h3>${list.items.length ? html`${table(head, list.items.map(row))}${shown(list, noun)}` : empty(none)}`;
  const where = (address: string | null, port: number | null) => `${address ?? '?'}${port === null ? '' : `:${port}`}`;
  const strings = r.staticStrings;
  return section(
    'network',
    title,
    html`${r.capabilities.networkGuard ? null : html`<p class="note">The network guard was not available: connections may be missing.</p>`}
${part('DNS queries', n.dnsQueries, 'query', 'No DNS queries.', ['Time', 'Name', 'Type', 'Answer'], (q) => html`<tr><td class="num">${offset(q.time)}</td><td><code>${q.name}</code></td><td>${q.type}</td><td><code>${q.answer ?? '—'}</code></td></tr>`)}
${part('Connections', n.connections, 'connection', 'No connection attempts.', ['Time', 'PID', 'Protocol', 'Destination', 'Host name', 'Action', 'Result'], (c) => html`<tr><td class="num">${offset(c.time)}</td><td class="num">${c.pid ?? '—'}</td><td>${c.protocol}</td><td><code>${where(c.address, c.port)}</code></td><td>${c.hostname ? html`<code>${c.hostname}</code>` : '—'}</td><td><span class="act act-${c.action}">${c.action}</span>${c.reason ? html`<br><span class="muted">${c.reason}</span>` : null}</td><td>${c.result}</td></tr>`)}
${part('HTTP requests', n.httpRequests, 'request', 'No HTTP requests.', ['Time', 'Request', 'User agent', 'Body'], (h) => html`<tr><td class="num">${offset(h.time)}</td><td><code>${h.method} ${h.host}${h.port === null ? '' : `:${h.port}`}${h.path}</code></td><td>${h.userAgent ? html`<code class="small">${h.userAgent}</code>` : '—'}</td><td>${bytes(h.bodyBytes)}${h.bodyPreview ? html`<pre class="preview">${h.bodyPreview}</pre>` : null}</td></tr>`)}
${part('TLS server names (SNI)', n.tlsServerNames, 'server name', 'No TLS handshakes.', ['Time', 'Server name', 'Port'], (t) => html`<tr><td class="num">${offset(t.time)}</td><td><code>${t.serverName}</code></td><td class="num">${t.port ?? '—'}</td></tr>`)}
${part('Other payloads', n.payloads, 'payload', 'No unrecognised traffic.', ['Time', 'Destination', 'Bytes', 'Start of payload'], (p) => html`<tr><td class="num">${offset(p.time)}</td><td><code>${p.protocol} ${where(p.hostname ?? p.address, p.port)}</code></td><td class="num">${thousands(p.bytes)}</td><td><pre class="preview">${p.preview}</pre></td></tr>`)}
<h3>Addresses in the sample's strings</h3>
${
  strings.urls.items.length || strings.ipAddresses.items.length
    ? html`<ul class="strings">${strings.urls.items.map((u) => html`<li><code>${u}</code></li>`)}${strings.ipAddresses.items.map((ip) => html`<li><code>${ip}</code></li>`)}</ul>${shown(strings.urls, 'URL')}${shown(strings.ipAddresses, 'IP address', 'IP addresses')}`
    : empty('No URLs or IP addresses among the printable strings.')
}`,
  );
}

// ---------------------------------------------------------------- timeline

/** Up to this many resource readings, each is also marked with a dot (a short run has few). */
const SAMPLE_DOTS = 5;

const CHART = { width: 960, left: 144, right: 20, top: 8, panel: 66, gap: 14, lane: 24, axis: 28 } as const;

/** A tick step giving at most about eight ticks over `span` seconds. */
function tickStep(span: number): number {
  for (const step of [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800]) if (span / step <= 8) return step;
  return 3600;
}

interface Marker {
  time: number;
  label: string;
  className: string;
}

/** Where the timeline ends, in seconds: the run's duration, or the last sample if one came later. */
function timelineEnd(r: DetonationReport): number {
  return Math.max(r.durationMs / 1000, ...r.resourceUsage.items.map((s) => s.time), 1);
}

function timelineSection(r: DetonationReport, view: BehaviorView | null): Section {
  const title = 'Timeline';
  const samples = r.resourceUsage.items;
  const end = timelineEnd(r);
  const lanes: Array<{ name: string; markers: Marker[] }> = [
    {
      name: 'Executions',
      markers: r.executions.items.map((e) => ({
        time: e.time,
        label: `${offset(e.time)} exec ${shellJoin(e.argv.length ? e.argv : [e.path])} (${e.result})`,
        className: e.result === 'ok' ? 'm-exec' : 'm-fail',
      })),
    },
    {
      name: 'Network',
      markers: [
        ...r.network.dnsQueries.items.map((q) => ({
          time: q.time,
          label: `${offset(q.time)} DNS ${q.type} ${q.name}`,
          className: 'm-net',
        })),
        ...r.network.connections.items.map((c) => ({
          time: c.time,
          label: `${offset(c.time)} ${c.protocol} ${c.address}${c.port === null ? '' : `:${c.port}`} ${c.action}`,
          className: 'm-net',
        })),
        ...r.network.httpRequests.items.map((h) => ({
          time: h.time,
          label: `${offset(h.time)} HTTP ${h.method} ${h.host}${h.path}`,
          className: 'm-net',
        })),
        ...r.network.tlsServerNames.items.map((t) => ({
          time: t.time,
          label: `${offset(t.time)} TLS ${t.serverName}`,
          className: 'm-net',
        })),
      ],
    },
  ];
  const indicators = view ? BEHAVIOR_KEYS.flatMap((k) => view.behavior[k]) : [];
  const timed: Marker[] = [];
  for (const i of indicators) {
    const t = firstSeen(i, r);
    if (t !== null)
      timed.push({
        time: t,
        label: `${offset(t)} ${i.severity}: ${i.title} (${i.id})`,
        className: `m-ind s-${i.severity}`,
      });
  }
  lanes.push({ name: 'Indicators', markers: timed });
  if (samples.length === 0 && lanes.every((l) => l.markers.length === 0))
    return section('timeline', title, empty('No resource samples or timed events were recorded.'));

  const plotWidth = CHART.width - CHART.left - CHART.right;
  const x = (t: number) => CHART.left + (Math.min(Math.max(t, 0), end) / end) * plotWidth;
  const cpu = samples.map((s, i) => {
    // The first reading counts from the start, when no CPU time had been spent: without that a run
    // with a single reading (any run shorter than the sampling interval) had no CPU value at all.
    const prev = samples[i - 1] ?? { time: 0, cpuSeconds: 0 };
    // cpuSeconds covers the live processes only, so it drops when one exits; a drop is not negative work.
    return s.time > prev.time ? Math.max(0, ((s.cpuSeconds - prev.cpuSeconds) / (s.time - prev.time)) * 100) : 0;
  });
  const series = [
    { name: 'CPU', unit: '% of a core', values: cpu, format: (v: number) => `${Math.round(v)}%`, className: 'l-cpu' },
    { name: 'Memory', unit: 'resident', values: samples.map((s) => s.rssBytes), format: bytes, className: 'l-mem' },
    {
      name: 'Processes',
      unit: 'live',
      values: samples.map((s) => s.processes),
      format: (v: number) => String(v),
      className: 'l-proc',
    },
  ];

  const parts: SafeHtml[] = [];
  let y = CHART.top;
  if (samples.length > 0) {
    for (const s of series) {
      const peak = Math.max(...s.values, 0);
      const scale = peak > 0 ? peak : 1;
      const level = (v: number) => (y + CHART.panel - (v / scale) * CHART.panel).toFixed(1);
      const readings = samples.map((sample, i) => ({ x: x(sample.time), y: level(s.values[i] ?? 0) }));
      // One reading, or all at one instant, makes a line of no length: it is drawn level across the
      // run instead, so a short run still shows its CPU and memory (each reading also gets a dot).
      const flat = new Set(readings.map((p) => p.x.toFixed(1))).size < 2;
      const line = flat
        ? [
            { x: x(0), y: readings[0]?.y ?? level(0) },
            { x: x(end), y: readings[readings.length - 1]?.y ?? level(0) },
          ]
        : readings;
      const points = line.map((p) => `${p.x.toFixed(1)},${p.y}`);
      const area = `${(line[0]?.x ?? CHART.left).toFixed(1)},${y + CHART.panel} ${points.join(' ')} ${(line[line.length - 1]?.x ?? CHART.left).toFixed(1)},${y + CHART.panel}`;
      const dots = readings.length <= SAMPLE_DOTS ? readings : [];
      parts.push(html`<g class="${s.className}">
<rect class="panel" x="${CHART.left}" y="${y}" width="${plotWidth}" height="${CHART.panel}"/>
<text class="name" x="${CHART.left - 8}" y="${y + 17}" text-anchor="end">${s.name}</text>
<text x="${CHART.left - 8}" y="${y + 32}" text-anchor="end">${s.unit}</text>
<text x="${CHART.left - 8}" y="${y + 47}" text-anchor="end">peak ${s.format(peak)}</text>
<polygon class="area" points="${area}"/><polyline class="line" points="${points.join(' ')}"/>${dots.map((p) => html`<circle class="dot" cx="${p.x.toFixed(1)}" cy="${p.y}" r="3"/>`)}
</g>`);
      y += CHART.panel + CHART.gap;
    }
  }
  for (const lane of lanes) {
    const mid = y + CHART.lane / 2;
    parts.push(html`<g><rect class="panel" x="${CHART.left}" y="${y}" width="${plotWidth}" height="${CHART.lane}"/>
<text class="name" x="${CHART.left - 8}" y="${mid + 4}" text-anchor="end">${lane.name} (${lane.markers.length})</text>
${lane.markers.map((m) => html`<circle class="${m.className}" cx="${x(m.time).toFixed(1)}" cy="${mid}" r="5"><title>${m.label}</title></circle>`)}</g>`);
    y += CHART.lane + 6;
  }
  const step = tickStep(end);
  const ticks: SafeHtml[] = [];
  for (let t = 0; t <= end + 1e-9; t += step)
    ticks.push(
      html`<line class="tick" x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${CHART.top}" y2="${y}"/><text class="axis" x="${x(t).toFixed(1)}" y="${y + 16}" text-anchor="middle">${t}s</text>`,
    );
  const height = y + CHART.axis;
  const untimed = indicators.length - timed.length;
  return section(
    'timeline',
    title,
    html`<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${CHART.width} ${height}" width="100%" role="img" aria-label="Resource usage and events over ${duration(r.durationMs)}">${ticks}${parts}</svg>
<figcaption>Seconds since the sample started. Each panel is scaled to its own peak. A hollow execution marker is a failed exec; indicator markers take their severity's colour; hover a marker for its detail.${samples.length === 0 ? ' No resource samples were recorded.' : samples.length === 1 ? ' One resource reading was taken (the run was shorter than the sampling interval); it is drawn level across the run.' : ''}${untimed > 0 ? ` ${plural(untimed, 'indicator')} carry no trace timestamp and are not placed.` : ''}${r.resourceUsage.truncated ? ` Showing ${r.resourceUsage.items.length} of ${r.resourceUsage.count} resource samples.` : ''}</figcaption></figure>`,
  );
}

// ---------------------------------------------------------------- page

/** Colours name the verdict bands; `print-color-adjust` keeps them in the PDF. */
const STYLE = html`
:root{--ink:#1d2433;--muted:#5d6778;--line:#dfe3ea;--bg:#f5f6f8;--card:#fff;--mal:#b42318;--sus:#b54708;--ben:#067647;--unk:#475467;--low:#3e7bd6;--med:#c27c0e;--high:#d1461f;--crit:#9b1c1c}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans","DejaVu Sans",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:20px 24px 32px}
code,pre,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"Liberation Mono","DejaVu Sans Mono",monospace;font-size:12.5px}
code,.mono{overflow-wrap:anywhere}
.top{display:flex;justify-content:space-between;align-items:baseline;margin-bottom:10px;color:var(--muted)}
.top .brand{font-weight:700;color:var(--ink);letter-spacing:.02em}
.banner{color:#fff;border-radius:10px;padding:18px 22px;display:flex;gap:28px;align-items:center;flex-wrap:wrap}
.banner.v-malicious{background:var(--mal)}.banner.v-suspicious{background:var(--sus)}.banner.v-benign{background:var(--ben)}.banner.v-unknown{background:var(--unk)}
.banner-main{display:flex;gap:28px;align-items:flex-end}
.banner .label{text-transform:uppercase;font-size:11px;letter-spacing:.1em;opacity:.85}
.banner .verdict{font-size:38px;font-weight:800;letter-spacing:.04em;line-height:1.1}
.banner .score{font-size:38px;font-weight:800;line-height:1.1}.banner .of{font-size:16px;font-weight:600;opacity:.8;margin-left:2px}
.banner .gauge{width:130px;height:6px;background:rgba(255,255,255,.3);border-radius:3px;margin-top:6px}.banner .gauge div{height:100%;background:#fff;border-radius:3px}
.banner-facts{flex:1;min-width:220px;overflow-wrap:anywhere;border-left:1px solid rgba(255,255,255,.35);padding-left:22px}
.banner-facts .file-name{font-size:18px;font-weight:700;overflow-wrap:anywhere}
.banner-facts .mono{opacity:.9;font-size:12px}
nav.toc{margin:14px 0 0;font-size:13px;color:var(--muted)}nav.toc a{color:var(--muted);margin-right:14px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 18px 16px;margin-top:16px}
h2{font-size:16px;margin:0 0 10px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:16px 0 6px}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:0 28px;margin:0}
.facts .wide{grid-column:1/-1}
.facts div{display:flex;gap:10px;padding:3px 0;border-bottom:1px dashed var(--line)}
.facts dt{flex:0 0 110px;color:var(--muted)}.facts dd{margin:0;min-width:0}
table{width:100%;border-collapse:collapse;font-size:13px}
ul.evidence{margin:4px 0 0;padding-left:16px}ul.evidence li{overflow-wrap:anywhere}
.confirmed{margin-top:4px;padding:3px 6px;border-left:3px solid var(--mal);background:rgba(0,0,0,.03);font-size:12px}
th{text-align:left;font-weight:600;color:var(--muted);font-size:12px;border-bottom:2px solid var(--line);padding:6px 7px}
td{border-bottom:1px solid var(--line);padding:6px 7px;vertical-align:top;overflow-wrap:break-word}
td.num{text-align:right;white-space:nowrap;width:1%}
table.fixed{table-layout:fixed}
.small{font-size:11.5px}.muted{color:var(--muted)}
.pill{display:inline-block;white-space:nowrap;padding:1px 8px;border-radius:999px;font-size:11.5px;font-weight:700;text-transform:uppercase;letter-spacing:.04em;color:#fff}
.pill.v-malicious{background:var(--mal)}.pill.v-suspicious{background:var(--sus)}.pill.v-benign{background:var(--ben)}.pill.v-unknown{background:var(--unk)}
.pill.s-low{background:var(--low)}.pill.s-medium{background:var(--med)}.pill.s-high{background:var(--high)}.pill.s-critical{background:var(--crit)}
.status{font-size:11.5px;padding:1px 5px;border-radius:4px;overflow-wrap:normal}.st-ok{background:#e7f5ee;color:#05603a}.st-bad{background:#fdf0e7;color:#93370d}
.scored{display:flex;align-items:center;gap:6px;margin-top:3px;font-size:12.5px;font-weight:600}.scored span{min-width:22px;text-align:right}
.gauge.small{width:56px;height:4px;background:var(--line);border-radius:2px}.gauge.small div{height:100%;border-radius:2px;background:var(--unk)}
.gauge.small.v-malicious div{background:var(--mal)}.gauge.small.v-suspicious div{background:var(--sus)}.gauge.small.v-benign div{background:var(--ben)}
.empty{color:var(--muted);font-style:italic;margin:6px 0}
.note{color:var(--muted);font-size:12.5px;margin:6px 0}
.tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;margin-bottom:8px}
.tile{border:1px solid var(--line);border-left-width:5px;border-radius:6px;padding:6px 10px;display:grid;grid-template-columns:1fr auto;row-gap:0}
.tile-label{font-weight:600;font-size:13px}.tile-count{font-size:20px;font-weight:800;grid-row:span 2;align-self:center}.tile-sev{font-size:11px;color:var(--muted);text-transform:uppercase}
.tile.none{color:var(--muted)}.tile.s-low{border-left-color:var(--low)}.tile.s-medium{border-left-color:var(--med)}.tile.s-high{border-left-color:var(--high)}.tile.s-critical{border-left-color:var(--crit)}
.group h3{margin-top:18px}
.killchain{list-style:none;display:flex;flex-wrap:wrap;gap:4px 0;margin:10px 0 4px;padding:0;font-size:12.5px}
.killchain li{border:1px solid var(--line);border-left-width:4px;padding:1px 8px;margin-right:20px;position:relative}
.killchain li:not(:last-child)::after{content:"→";position:absolute;right:-16px;color:var(--muted)}
.killchain li.s-low{border-left-color:var(--low)}.killchain li.s-medium{border-left-color:var(--med)}.killchain li.s-high{border-left-color:var(--high)}.killchain li.s-critical{border-left-color:var(--crit)}
a.tactic-id code,a.technique code{color:inherit}
.indicator{border:1px solid var(--line);border-left:4px solid var(--line);border-radius:6px;padding:8px 12px;margin:8px 0}
.indicator.sev-low{border-left-color:var(--low)}.indicator.sev-medium{border-left-color:var(--med)}.indicator.sev-high{border-left-color:var(--high)}.indicator.sev-critical{border-left-color:var(--crit)}
.indicator .meta{margin:4px 0;color:var(--muted);font-size:12.5px}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0;background:#f3f4f7;border-radius:4px;padding:6px 8px}
pre.evidence{font-size:11.5px}pre.preview{font-size:11px;padding:3px 6px}pre.output{max-height:24em;overflow:auto}
.tree ul{list-style:none;margin:0;padding-left:22px;border-left:1px dashed #c5ccd8}
.tree>ul{padding-left:0;border-left:0}
.tree li{margin:4px 0}
.proc{padding:3px 8px;border-radius:4px;background:#f7f8fa}
.proc .pid{display:inline-block;min-width:52px;font-weight:700;font-variant-numeric:tabular-nums}
.proc .exe{font-weight:600}.proc .argv{color:#344054}.proc .meta{font-size:12px;color:var(--muted)}
.op{display:inline-block;font-size:11px;padding:0 5px;margin:1px 2px 1px 0;border-radius:3px;background:#eef1f5}.op.mut{background:#fde8e4;color:#912018}
.act{font-size:12px;font-weight:600}.act-blocked{color:var(--mal)}.act-allowed{color:var(--sus)}.act-redirected{color:var(--low)}
ul.strings{columns:2;margin:4px 0;padding-left:18px}ul.notes{margin:4px 0;padding-left:18px}
.chart{margin:0}.chart svg{display:block}
.chart figcaption{font-size:12px;color:var(--muted);margin-top:4px}
.chart .panel{fill:#fafbfc;stroke:var(--line)}
.chart .tick{stroke:#e6e9ef}
/* The chart scales with the page; these sizes stay legible when it shrinks to A4 width. */
.chart text{font-size:12.5px;fill:var(--muted)}.chart text.name{font-size:13.5px;font-weight:600;fill:var(--ink)}.chart text.axis{font-size:12.5px}
.chart .line{fill:none;stroke-width:1.6}.chart .area{opacity:.15}
.l-cpu .line{stroke:#7a3ee6}.l-cpu .area,.l-cpu .dot{fill:#7a3ee6}.l-mem .line{stroke:#0e7490}.l-mem .area,.l-mem .dot{fill:#0e7490}.l-proc .line{stroke:#c2410c}.l-proc .area,.l-proc .dot{fill:#c2410c}
.m-exec{fill:#344054}.m-fail{fill:#fff;stroke:#344054;stroke-width:1.5}.m-net{fill:var(--low);opacity:.8}
.m-ind{stroke:#fff;stroke-width:1}.m-ind.s-low{fill:var(--low)}.m-ind.s-medium{fill:var(--med)}.m-ind.s-high{fill:var(--high)}.m-ind.s-critical{fill:var(--crit)}
table.iocs code{word-break:break-all}
ol.recs{margin:0;padding-left:22px}ol.recs>li{margin:10px 0}ol.recs p{margin:2px 0 4px}
.prio{display:inline-block;min-width:64px;text-align:center;font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.04em;padding:0 6px;border-radius:3px;background:#eef1f5;color:var(--muted)}
.p-now .prio{background:var(--mal);color:#fff}.p-next .prio{background:var(--sus);color:#fff}
ul.rec-items{margin:2px 0;padding-left:18px;font-size:12.5px}ul.rec-items li{overflow-wrap:anywhere}
footer{margin-top:18px;font-size:12px;color:var(--muted);text-align:center}
a{color:#1849a9}
@page{size:A4;margin:12mm 10mm}
@media print{body{background:#fff;font-size:12px}table{font-size:12px}.pill{letter-spacing:.02em}main{max-width:none;padding:0}section{break-inside:auto;border-color:#ccc}
h2,h3{break-after:avoid}tr,.indicator,.proc,.tile,.chart{break-inside:avoid}thead{display:table-header-group}
nav.toc{display:none}pre.output{max-height:none}a{color:inherit;text-decoration:none}
/* Paper is narrower than a screen: long values break anywhere rather than widen a column, short
   cells (times, counts, pills, headings) never break inside a word, and two-column layouts become
   one, so that no column is squeezed to a letter per line, in portrait or landscape. */
td,th,dd,li,p{overflow-wrap:anywhere}td code,td pre,dd code{word-break:break-all}
th,td.num,.pill,.status,.op,.prio{white-space:nowrap;word-break:normal;overflow-wrap:normal}
.facts{grid-template-columns:1fr}ul.strings{columns:1}.tiles{grid-template-columns:repeat(4,minmax(0,1fr))}
table{table-layout:auto}table.fixed{table-layout:fixed}.chart svg{max-width:100%;height:auto}
ol.recs>li{break-inside:avoid}
/* The engines table has seven columns: on paper the short ones give width to the stored key and the findings. */
table.engines{font-size:11px}table.engines td,table.engines th{padding:4px 5px}table.engines col:nth-child(1){width:16%!important}table.engines col:nth-child(2){width:9%!important}
table.engines col:nth-child(3){width:10%!important}table.engines col:nth-child(4){width:12%!important}table.engines col:nth-child(5){width:17%!important}
table.engines col:nth-child(6){width:21%!important}table.engines col:nth-child(7){width:15%!important}}
`;

/**
 * Renders the report as one self-contained HTML document. Pure: the same input gives the same
 * bytes. Every string from the sample or a vendor is escaped (see `html-escape.ts`), vendor links
 * are kept only when they are http(s), and the CSP forbids script and every load.
 */
export function renderHtmlReport(input: HtmlReportInput): string {
  const d = input.document;
  const view = behaviorOf(input);
  const r = input.detonation;
  const iocs = extractIocs(d, r);
  const sections = [
    triageSection(d),
    enginesSection(d, input.reportLinks),
    staticSection(d),
    detonationSection(r, view, d.engineResults.find((e) => e.engine === 'detonation')?.captureKey, d.sha256),
    behaviorSection(input, view),
    ...(r ? [timelineSection(r, view), processSection(r), filesSection(r), networkSection(r)] : []),
    indicatorsSection(iocs),
    recommendationsSection(recommendationsOf(d, view?.behavior ?? null, iocs)),
  ].filter((x): x is Section => x !== null);
  const page = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${d.verdict.toUpperCase()} · ${basename(d.key)} · Sandtrap report</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<div class="top"><span class="brand">Sandtrap analysis report</span><span>Generated ${timestamp(input.generatedAt)}</span></div>
${banner(input, view)}
<nav class="toc">${sections.map((x) => html`<a href="#${x.id}">${x.title}</a>`)}</nav>
${sections.map(
  (x) => html`<section id="${x.id}"><h2>${x.title}</h2>${x.body}</section>
`,
)}
<footer>Sandtrap · ${d.sha256} · generated ${timestamp(input.generatedAt)} · this file runs no script and loads nothing from the network.</footer>
</main>
</body>
</html>
`;
  return page.value;
}
