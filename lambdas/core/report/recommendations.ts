import { BEHAVIOR_KEYS, type Behavior, type Indicator } from '../contracts/detonation-report';
import type { VerdictDocument } from '../contracts/pipeline';
import type { IocList, IocType } from '../indicators/extract';

/**
 * What to do with the file, derived from the verdict and what the engines saw: the last part of the
 * report, the part an analyst acts on. Each recommendation names the evidence that calls for it,
 * so nothing is advised that the analysis does not show (a benign verdict is never told to
 * quarantine; credentials are only rotated when the sample was seen reading them).
 */

export type RecommendationPriority = 'now' | 'next' | 'consider';

export interface Recommendation {
  /** Stable id, for tests and for automation reading the report. */
  id:
    | 'quarantine'
    | 'hold'
    | 'block-hashes'
    | 'block-network'
    | 'hunt'
    | 'rotate-credentials'
    | 'check-persistence'
    | 'check-damage'
    | 'check-mining'
    | 'logs-tampered'
    | 'second-opinion'
    | 'no-action';
  priority: RecommendationPriority;
  title: string;
  detail: string;
  /** The evidence or values it is about (bounded; the indicators section has the full list). */
  items: string[];
}

/** Values listed under one recommendation; the rest is in the indicators section and the exports. */
const ITEMS_SHOWN = 8;

/** ATT&CK techniques of credential theft: unsecured credentials, password stores, OS credential dumping. */
const CREDENTIAL_TECHNIQUE = /^T(1552|1555|1003|1528|1539)(\.|$)/;
/** Detonation rules that fire on reading a credential, whatever technique ids they carry. */
const CREDENTIAL_RULE = /credential|ssh-key|password|shadow|cookie|token|secret|keychain|metadata-endpoint|environment/;

function indicatorsOf(behavior: Behavior | null): Array<[keyof Behavior, Indicator]> {
  if (!behavior) return [];
  return BEHAVIOR_KEYS.flatMap((key) => behavior[key].map((i) => [key, i] as [keyof Behavior, Indicator]));
}

const count = (iocs: IocList, ...types: IocType[]) => iocs.items.filter((i) => types.includes(i.type)).length;

function titles(list: ReadonlyArray<[keyof Behavior, Indicator]>): string[] {
  return [...new Set(list.map(([, i]) => i.title))].slice(0, ITEMS_SHOWN);
}

/** The recommendations for a verdict, most urgent first. */
export function recommendationsOf(
  document: VerdictDocument,
  behavior: Behavior | null,
  iocs: IocList,
): Recommendation[] {
  const out: Recommendation[] = [];
  const { verdict } = document;
  const hostile = verdict === 'malicious' || verdict === 'suspicious';
  const where = `s3://${document.bucket}/${document.key}`;
  const indicators = indicatorsOf(behavior);

  if (verdict === 'malicious')
    out.push({
      id: 'quarantine',
      priority: 'now',
      title: 'Quarantine the file',
      detail: document.quarantinedTo
        ? `It was moved to s3://${document.quarantinedTo.bucket}/${document.quarantinedTo.key}; keep it there, and remove any copy taken from ${where} before the move.`
        : `Move ${where} out of reach (quarantine bucket, or delete it) and remove every copy that was downloaded or shared.`,
      items: [],
    });
  if (verdict === 'suspicious')
    out.push({
      id: 'hold',
      priority: 'now',
      title: 'Keep the file out of use until an analyst has reviewed it',
      detail: `The evidence is not conclusive: do not run or share ${where} until the findings above are reviewed.`,
      items: [],
    });
  if (hostile) {
    const hashes = iocs.items.filter((i) => i.type === 'sha256').map((i) => i.value);
    out.push({
      id: 'block-hashes',
      priority: verdict === 'malicious' ? 'now' : 'next',
      title: "Block the file's hashes",
      detail:
        'Add the SHA-256 (and the unpacked members’ hashes) to the endpoint and mail-gateway block lists, so other copies are stopped wherever they arrive.',
      items: hashes.slice(0, ITEMS_SHOWN),
    });
    const network = count(iocs, 'domain', 'ipv4', 'ipv6', 'url');
    if (network > 0)
      out.push({
        id: 'block-network',
        priority: verdict === 'malicious' ? 'now' : 'next',
        title: 'Block the hosts it contacted',
        detail: `${network === 1 ? 'One host or URL' : `${network} hosts and URLs`} among the indicators above: block them at the DNS resolver and egress proxy.`,
        items: iocs.items
          .filter((i) => i.type === 'domain' || i.type === 'ipv4' || i.type === 'ipv6')
          .map((i) => i.value)
          .slice(0, ITEMS_SHOWN),
      });
    const hunted = count(iocs, 'domain', 'ipv4', 'ipv6', 'url', 'file-path', 'sha256', 'sha1', 'md5');
    out.push({
      id: 'hunt',
      priority: 'next',
      title: 'Hunt for the listed indicators',
      detail: `Search DNS, proxy and endpoint logs for the ${hunted} indicators listed above (exported as STIX 2.1 and CSV beside this report) since the file first arrived, and isolate the hosts that match.`,
      items: [],
    });
  }

  const credentialIndicators = indicators.filter(
    ([, i]) => i.attack.some((t) => CREDENTIAL_TECHNIQUE.test(t)) || CREDENTIAL_RULE.test(i.id),
  );
  const vendorCredential = document.engineResults.some((e) =>
    e.findings?.attack.some((t) => CREDENTIAL_TECHNIQUE.test(t)),
  );
  if (hostile && (credentialIndicators.length > 0 || vendorCredential))
    out.push({
      id: 'rotate-credentials',
      priority: 'now',
      title: 'Rotate the credentials the sample read',
      detail:
        'It read credential files or stores (ATT&CK T1552 and related). On every host and account where it ran, rotate SSH keys, cloud access keys, tokens and passwords found there, and review their recent use.',
      items: credentialIndicators.length ? titles(credentialIndicators) : ['named by a vendor’s ATT&CK findings'],
    });

  if (hostile) {
    const persistence = indicators.filter(([key]) => key === 'persistence');
    if (persistence.length)
      out.push({
        id: 'check-persistence',
        priority: 'next',
        title: 'Remove what it set up to survive a restart',
        detail:
          'On hosts where it ran, check and clean the places below (cron, shell start-up files, services); the file activity lists the paths.',
        items: titles(persistence),
      });
    const destructive = indicators.filter(([key]) => key === 'destructive');
    if (destructive.length)
      out.push({
        id: 'check-damage',
        priority: 'next',
        title: 'Check for damaged or encrypted data',
        detail: 'It deleted, overwrote or encrypted files: verify backups before restoring affected hosts.',
        items: titles(destructive),
      });
    const mining = indicators.filter(([key]) => key === 'cryptomining');
    if (mining.length)
      out.push({
        id: 'check-mining',
        priority: 'next',
        title: 'Look for miners on hosts where it ran',
        detail:
          'Sustained CPU use and connections to mining pools are the signs; the pools are among the indicators above.',
        items: titles(mining),
      });
    const tampering = indicators.filter(
      ([key, i]) => (key === 'evasion' || key === 'destructive') && /log|history|audit|forensic/.test(i.id),
    );
    if (tampering.length)
      out.push({
        id: 'logs-tampered',
        priority: 'consider',
        title: 'Do not trust local logs alone',
        detail: 'It cleared or disabled logging: prefer central logs when reconstructing what happened.',
        items: titles(tampering),
      });
  }

  if (verdict === 'unknown' || document.reason === 'static-only')
    out.push({
      id: 'second-opinion',
      priority: verdict === 'unknown' ? 'next' : 'consider',
      title: verdict === 'unknown' ? 'Get a verdict another way' : 'Confirm with a run of the file',
      detail:
        verdict === 'unknown'
          ? 'No engine could judge this file: submit it to an engine that supports its type, or review it by hand before use.'
          : 'The verdict rests on static evidence only, since no engine that runs the file applied: a detonation would show what it does.',
      items: [],
    });
  if (verdict === 'benign' && out.length === 0)
    out.push({
      id: 'no-action',
      priority: 'consider',
      title: 'No action needed',
      detail: 'Nothing in this analysis calls for one. A benign verdict is not a guarantee: keep the usual controls.',
      items: [],
    });
  return out;
}
