/**
 * The tactics of MITRE ATT&CK Enterprise v18, in kill-chain order: the order of the columns of the
 * Enterprise matrix, from preparing an attack to its impact. A report lists tactics in this order,
 * so an analyst reads the indicators as the story of an intrusion.
 *
 * ATT&CK v19 splits Defense Evasion (TA0005) into Stealth and Defense Impairment (TA0112); this
 * table and the technique catalogue beside it still follow v18, where both are Defense Evasion.
 */

/** The ATT&CK Enterprise release the tactics and the technique catalogue follow. */
export const ATTACK_VERSION = 'Enterprise v18';

/** ATT&CK's short name of each tactic (its `x_mitre_shortname`), in kill-chain order. */
export const TACTIC_SHORT_NAMES = [
  'reconnaissance',
  'resource-development',
  'initial-access',
  'execution',
  'persistence',
  'privilege-escalation',
  'defense-evasion',
  'credential-access',
  'discovery',
  'lateral-movement',
  'collection',
  'command-and-control',
  'exfiltration',
  'impact',
] as const;
export type TacticShortName = (typeof TACTIC_SHORT_NAMES)[number];

/** One ATT&CK tactic: why an adversary uses a technique. */
export interface Tactic {
  /** `TA0003` */
  id: string;
  shortName: TacticShortName;
  /** `Persistence` */
  name: string;
  /** Position in kill-chain order, from 0 (Reconnaissance). */
  order: number;
}

const TACTIC_TABLE: Record<TacticShortName, { id: string; name: string }> = {
  reconnaissance: { id: 'TA0043', name: 'Reconnaissance' },
  'resource-development': { id: 'TA0042', name: 'Resource Development' },
  'initial-access': { id: 'TA0001', name: 'Initial Access' },
  execution: { id: 'TA0002', name: 'Execution' },
  persistence: { id: 'TA0003', name: 'Persistence' },
  'privilege-escalation': { id: 'TA0004', name: 'Privilege Escalation' },
  'defense-evasion': { id: 'TA0005', name: 'Defense Evasion' },
  'credential-access': { id: 'TA0006', name: 'Credential Access' },
  discovery: { id: 'TA0007', name: 'Discovery' },
  'lateral-movement': { id: 'TA0008', name: 'Lateral Movement' },
  collection: { id: 'TA0009', name: 'Collection' },
  'command-and-control': { id: 'TA0011', name: 'Command and Control' },
  exfiltration: { id: 'TA0010', name: 'Exfiltration' },
  impact: { id: 'TA0040', name: 'Impact' },
};

/** Every tactic, in kill-chain order. */
export const TACTICS: readonly Tactic[] = TACTIC_SHORT_NAMES.map((shortName, order) => ({
  shortName,
  order,
  ...TACTIC_TABLE[shortName],
}));

/** The tactic of a short name. */
export function tactic(shortName: TacticShortName): Tactic {
  return TACTICS[TACTIC_SHORT_NAMES.indexOf(shortName)] as Tactic;
}

/** `https://attack.mitre.org/tactics/TA0003/` */
export function tacticUrl(t: Tactic): string {
  return `https://attack.mitre.org/tactics/${t.id}/`;
}
