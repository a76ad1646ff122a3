import { lookupTechnique } from '../attack/techniques';
import { BEHAVIOR_KEYS } from '../contracts/behavior-keys';
import type { DetonationReport, Indicator } from '../contracts/detonation-report';
import type { StaticConfirmation } from '../contracts/static-confirmation';
import type { StaticFinding } from '../contracts/static-report';

/**
 * Static and dynamic findings of one sample, side by side: a static finding is confirmed when the
 * detonation did what it predicted. Two kinds of agreement count:
 * - an address: a host or IP address in the finding's evidence (a URL in a script, a macro's
 *   download location) that the run looked up or contacted;
 * - a technique: the run raised an indicator with the same ATT&CK technique (a packer found in the
 *   file and the run unpacking itself, a download-and-run line and the run fetching and executing).
 * Everything compared comes from the sample, so the comparison is exact, bounded and case-folded
 * only for host names; nothing is matched as a pattern.
 */

/** Most confirmations kept per finding; the first ones name the clearest agreement. */
const MAX_HOW = 3;
/** Hosts read from one finding's evidence. */
const MAX_HOSTS_PER_FINDING = 20;

const URL_HOST = /\b(?:https?|ftp):\/\/(?:[^\s/@'"<>]*@)?(\[[0-9a-f:.]+\]|[a-z0-9.-]+)/gi;
const IPV4 = /\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b/g;

/** Host names and addresses named in a finding's evidence, lower-cased, without brackets. */
export function hostsIn(evidence: readonly string[]): string[] {
  const hosts = new Set<string>();
  for (const line of evidence) {
    for (const match of line.matchAll(URL_HOST)) hosts.add((match[1] ?? '').replace(/^\[|\]$/g, '').toLowerCase());
    for (const match of line.matchAll(IPV4)) hosts.add(match[0]);
    if (hosts.size >= MAX_HOSTS_PER_FINDING) break;
  }
  hosts.delete('');
  return [...hosts].slice(0, MAX_HOSTS_PER_FINDING);
}

/** Every host the run looked up or reached, lower-cased, with what it did with each (first seen). */
function contactedHosts(report: DetonationReport): Map<string, string> {
  const contacted = new Map<string, string>();
  const add = (host: string | null | undefined, what: string) => {
    const key = host?.toLowerCase();
    if (key && !contacted.has(key)) contacted.set(key, what);
  };
  const n = report.network;
  for (const q of n.dnsQueries.items) add(q.name, `looked up ${q.name}`);
  for (const c of n.connections.items) {
    const where = `${c.hostname ?? c.address ?? '?'}${c.port === null ? '' : `:${c.port}`}`;
    add(c.hostname, `connected to ${where} (${c.action})`);
    add(c.address, `connected to ${where} (${c.action})`);
  }
  for (const h of n.httpRequests.items) add(h.host, `sent ${h.method} ${h.host}${h.path}`);
  for (const t of n.tlsServerNames.items) add(t.serverName, `opened TLS to ${t.serverName}`);
  return contacted;
}

/** The technique a sub-technique belongs to (`T1027.002` → `T1027`). */
const techniqueOf = (id: string) => id.split('.')[0] ?? id;

/** Whether two ATT&CK ids agree: the same id, or one is the other's parent technique. */
function sameTechnique(a: string, b: string): boolean {
  if (a === b) return true;
  return (!a.includes('.') || !b.includes('.')) && techniqueOf(a) === techniqueOf(b);
}

function indicatorsOf(report: DetonationReport): Indicator[] {
  return BEHAVIOR_KEYS.flatMap((key) => report.behavior[key]);
}

/** How the detonation confirmed one finding of a summary (matched by id and place), if it did. */
export function confirmationOf(
  confirmed: readonly StaticConfirmation[] | undefined,
  finding: Pick<StaticFinding, 'id' | 'path'>,
): StaticConfirmation | undefined {
  return confirmed?.find((c) => c.findingId === finding.id && c.path === finding.path);
}

/** The static findings the detonation confirmed, each with how; findings it did not confirm are left out. */
export function confirmStaticFindings(
  findings: readonly StaticFinding[],
  report: DetonationReport,
): StaticConfirmation[] {
  const contacted = contactedHosts(report);
  const indicators = indicatorsOf(report);
  const confirmations: StaticConfirmation[] = [];
  for (const finding of findings) {
    const how: string[] = [];
    for (const host of hostsIn(finding.evidence)) {
      const seen = contacted.get(host);
      if (seen) how.push(`the run ${seen}`);
      if (how.length >= MAX_HOW) break;
    }
    for (const indicator of indicators) {
      if (how.length >= MAX_HOW) break;
      const shared = indicator.attack.find((id) => finding.attack.some((own) => sameTechnique(own, id)));
      if (!shared) continue;
      const name = lookupTechnique(shared).name;
      how.push(`the run raised "${indicator.title}" (${shared}${name ? ` ${name}` : ''})`);
    }
    if (how.length > 0) confirmations.push({ findingId: finding.id, path: finding.path, how: how.slice(0, MAX_HOW) });
  }
  return confirmations;
}
