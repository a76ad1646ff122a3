import { IOC_LIMITS, type IocList, type IocType } from '../indicators/extract';
import { empty, plural, section, table, type Section } from './html-blocks';
import { html } from './html-escape';
import type { Recommendation } from './recommendations';

/**
 * The report's two parts an analyst acts on: the indicators of compromise (what to block and hunt
 * for, also exported as STIX 2.1 and CSV) and the recommendations. Values come from the sample, so
 * everything goes through the escaping `html` tag, and the table is bounded.
 */

const TYPE_LABELS: Record<IocType, string> = {
  sha256: 'SHA-256',
  sha1: 'SHA-1',
  md5: 'MD5',
  domain: 'Domain',
  ipv4: 'IPv4',
  ipv6: 'IPv6',
  url: 'URL',
  'file-path': 'File path',
};

/** Rows shown in the page; the exports hold every indicator kept. */
const ROWS_SHOWN = 300;

export function indicatorsSection(iocs: IocList): Section {
  const title = 'Indicators of compromise';
  const rows = iocs.items
    .slice(0, ROWS_SHOWN)
    .map(
      (i) =>
        html`<tr><td>${TYPE_LABELS[i.type]}</td><td><code>${i.value}</code></td><td class="small">${i.sources.join(', ')}</td></tr>`,
    );
  const left = iocs.count - Math.min(iocs.items.length, ROWS_SHOWN);
  return section(
    'iocs',
    title,
    html`<p class="note">Values to block and hunt for, from every engine; each validated and listed once. Private, loopback and fake-network addresses are left out. Export: <code>sandtrap report &lt;sha256&gt; --iocs stix</code> (STIX 2.1 bundle) or <code>--iocs csv</code>.</p>
${rows.length ? table(['Type', 'Value', 'Seen by'], rows, 'iocs', [12, 64, 24]) : empty('No indicators beyond what the verdict shows.')}
${left > 0 ? html`<p class="note">Showing ${rows.length} of ${plural(iocs.count, 'indicator')}${iocs.truncated ? `; the exports keep at most ${IOC_LIMITS.perType} of each type` : ''}.</p>` : null}`,
  );
}

const PRIORITY_LABELS: Record<Recommendation['priority'], string> = { now: 'now', next: 'next', consider: 'consider' };

export function recommendationsSection(recommendations: readonly Recommendation[]): Section {
  return section(
    'recommendations',
    'Recommendations',
    recommendations.length
      ? html`<ol class="recs">${recommendations.map(
          (r) =>
            html`<li class="rec p-${r.priority}" data-rec="${r.id}"><span class="prio">${PRIORITY_LABELS[r.priority]}</span> <strong>${r.title}</strong><p>${r.detail}</p>${r.items.length ? html`<ul class="rec-items">${r.items.map((x) => html`<li><code>${x}</code></li>`)}</ul>` : null}</li>`,
        )}</ol>`
      : empty('No recommendation follows from this analysis.'),
  );
}
