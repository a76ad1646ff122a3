import { lookupTechnique } from '../attack/techniques';
import { STATIC_ENGINE, type VerdictDocument } from '../contracts/pipeline';
import { confirmationOf } from '../correlation/static-dynamic';
import type { StaticConfirmation } from '../contracts/static-confirmation';
import type { StaticFinding } from '../contracts/static-report';
import {
  BEHAVIOR_LABELS,
  bytes,
  empty,
  type Section,
  SEVERITY_RANK,
  section,
  severityPill,
  table,
  techniqueLink,
} from './html-blocks';
import { html, type HtmlValue } from './html-escape';

/**
 * The static engine's part of the report: findings with their evidence, YARA matches with the
 * offsets of the strings that matched, and what was unpacked. Every value here comes from the file
 * (names, strings, paths) or from a user's rule, so all of it goes through the escaping `html` tag.
 */

function where(path: string | null): HtmlValue {
  return path === null ? html`<span class="muted">the file</span>` : html`<code>${path}</code>`;
}

function findingRow(f: StaticFinding, confirmed: StaticConfirmation | undefined): HtmlValue {
  const attack = f.attack.length
    ? html`<div class="small">${f.attack.map((id, i) => html`${i ? ' · ' : ''}${techniqueLink(lookupTechnique(id))}`)}</div>`
    : null;
  const evidence = f.evidence.length
    ? html`<ul class="evidence">${f.evidence.map((e) => html`<li><code class="small">${e}</code></li>`)}</ul>`
    : null;
  const confirmation = confirmed
    ? html`<div class="confirmed"><strong>Confirmed by the detonation:</strong> ${confirmed.how.join('; ')}</div>`
    : null;
  return html`<tr><td>${severityPill(f.severity)}</td><td>${BEHAVIOR_LABELS[f.category]}</td>
<td><strong>${f.title}</strong> <code class="muted small">${f.id}</code>${attack}${evidence}${confirmation}</td><td>${where(f.path)}</td></tr>`;
}

/** The static engine's section; null when the static engine did not run for this document. */
export function staticSection(d: VerdictDocument): Section | null {
  const title = 'Static analysis';
  const ran = d.engineResults.find((e) => e.engine === STATIC_ENGINE);
  if (!ran) return null;
  const s = d.static;
  if (!s)
    return section(
      'static',
      title,
      empty(
        ran.status === 'completed'
          ? "The static engine's report could not be read; its score above still counts."
          : `The static engine did not complete (${ran.status}${ran.reason ? `: ${ran.reason}` : ''}).`,
      ),
    );
  const findings = [...s.findings].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
  const confirmedOf = (f: StaticFinding) => confirmationOf(s.confirmed, f);
  const confirmedCount = findings.filter((f) => confirmedOf(f)).length;
  const yara = s.yara.map(
    (m) => html`<tr><td><strong>${m.rule}</strong><br><code class="muted small">${m.namespace}</code></td>
<td>${m.tags.length ? m.tags.map((t, i) => html`${i ? ', ' : ''}<code class="small">${t}</code>`) : html`<span class="muted">—</span>`}</td>
<td>${m.strings.length ? html`<ul class="evidence">${m.strings.map((x) => html`<li><code class="small">${x.identifier}</code> at offset ${x.offset} (${x.length} bytes)</li>`)}</ul>` : html`<span class="muted">condition only</span>`}</td>
<td>${where(m.path)}</td></tr>`,
  );
  const members = s.members.map(
    (m) =>
      html`<tr><td><code>${m.path}</code></td><td>${m.fileType}</td><td class="num">${bytes(m.size)}</td><td>${m.sha256 ? html`<code class="small">${m.sha256}</code>` : html`<span class="muted">not read</span>`}</td></tr>`,
  );
  return section(
    'static',
    title,
    html`<p class="note">Type by content: <code>${s.fileType.type}</code> (<code>${s.fileType.mime}</code>)${s.encrypted ? html` · <strong>encrypted content</strong> (tried with the customary passwords)` : null}. The file was read, never run.</p>
<h3>Findings</h3>
${s.confirmed ? html`<p class="note">The sample was also detonated: ${confirmedCount} of ${findings.length} static findings were confirmed by what it did.</p>` : null}
${
  findings.length
    ? table(
        ['Severity', 'Behaviour', 'Finding and evidence', 'Where'],
        findings.map((f) => findingRow(f, confirmedOf(f))),
        'static-findings',
        [11, 15, 56, 18],
      )
    : empty('No static finding.')
}
<h3>YARA matches</h3>
${yara.length ? table(['Rule', 'Tags', 'Strings matched', 'Where'], yara, 'yara', [22, 14, 44, 20]) : empty('No rule matched.')}
${members.length ? html`<h3>Unpacked members</h3>${table(['Path', 'Type', 'Size', 'SHA-256'], members, 'members', [40, 12, 10, 38])}` : null}
${s.errors.length ? html`<h3>Engine notes</h3><ul class="notes">${s.errors.map((e) => html`<li>${e}</li>`)}</ul>` : null}`,
  );
}
