import { lookupTechnique, type TechniqueInfo } from '../attack/techniques';
import { TACTICS, type Tactic, type TacticShortName } from '../attack/tactics';
import { BEHAVIOR_KEYS, type Behavior, type BehaviorKey, type Indicator } from '../contracts/detonation-report';

/**
 * The report's view of indicators by ATT&CK tactic. Each indicator is filed once, under one tactic,
 * so that counts per tactic add up to the number of indicators: many techniques serve several
 * tactics (a cron entry is Execution, Persistence and Privilege Escalation), and listing such an
 * indicator under each would read as three findings where there is one.
 */

/**
 * The tactics each behaviour key stands for, most telling first. The rule that raised an indicator
 * sits under one key, which says why the behaviour matters to us: a cron entry raised under
 * `persistence` is filed under Persistence, not under Execution, the first tactic of its technique.
 */
const BEHAVIOR_TACTICS: Record<BehaviorKey, readonly TacticShortName[]> = {
  persistence: ['persistence'],
  privilegeEscalation: ['privilege-escalation'],
  evasion: ['defense-evasion'],
  dataHarvesting: ['credential-access', 'collection', 'discovery'],
  network: ['command-and-control', 'exfiltration', 'discovery', 'lateral-movement'],
  destructive: ['impact', 'defense-evasion'],
  execution: ['execution'],
  cryptomining: ['impact'],
};

/** One indicator with the behaviour key it was raised under and what its technique ids mean. */
export interface FiledIndicator {
  key: BehaviorKey;
  indicator: Indicator;
  techniques: readonly TechniqueInfo[];
  /** Tactics of its techniques other than the one it is filed under, in kill-chain order. */
  otherTactics: readonly Tactic[];
}

/** Where an indicator is filed: a tactic, or one of the two groups for indicators without one. */
export type TacticGroupKind = 'tactic' | 'unmapped' | 'no-technique';

/** The indicators filed under one tactic (or without one). */
export interface TacticGroup {
  kind: TacticGroupKind;
  /** The tactic, for a `tactic` group. */
  tactic: Tactic | null;
  indicators: readonly FiledIndicator[];
}

/**
 * The tactic an indicator is filed under: the first of its behaviour key's tactics that one of its
 * techniques serves; failing that, the earliest tactic of its first technique that has any (rule
 * authors list the main technique first). `null` when no technique maps to a tactic.
 */
export function primaryTactic(key: BehaviorKey, techniques: readonly TechniqueInfo[]): Tactic | null {
  const served = new Set(techniques.flatMap((t) => t.tactics.map((x) => x.shortName)));
  const preferred = BEHAVIOR_TACTICS[key].find((shortName) => served.has(shortName));
  if (preferred) return TACTICS.find((t) => t.shortName === preferred) ?? null;
  return techniques.find((t) => t.tactics.length > 0)?.tactics[0] ?? null;
}

/**
 * Every indicator of a behaviour, filed once: tactic groups in kill-chain order, then indicators
 * whose techniques the catalogue cannot place (`unmapped`), then indicators without a technique.
 * Empty groups are left out; within a group, indicators keep the order `compare` gives them.
 */
export function indicatorsByTactic(behavior: Behavior, compare: (a: Indicator, b: Indicator) => number): TacticGroup[] {
  const byTactic = new Map<string, FiledIndicator[]>();
  const unmapped: FiledIndicator[] = [];
  const none: FiledIndicator[] = [];
  for (const key of BEHAVIOR_KEYS) {
    for (const indicator of behavior[key]) {
      const techniques = indicator.attack.map(lookupTechnique);
      const primary = primaryTactic(key, techniques);
      const otherTactics = TACTICS.filter(
        (t) => t !== primary && techniques.some((x) => x.tactics.some((y) => y.id === t.id)),
      );
      const filed = { key, indicator, techniques, otherTactics };
      if (primary) byTactic.set(primary.id, [...(byTactic.get(primary.id) ?? []), filed]);
      else (indicator.attack.length ? unmapped : none).push(filed);
    }
  }
  const sorted = (list: FiledIndicator[]) => [...list].sort((a, b) => compare(a.indicator, b.indicator));
  const groups: TacticGroup[] = TACTICS.flatMap((tactic) => {
    const list = byTactic.get(tactic.id);
    return list ? [{ kind: 'tactic' as const, tactic, indicators: sorted(list) }] : [];
  });
  if (unmapped.length) groups.push({ kind: 'unmapped', tactic: null, indicators: sorted(unmapped) });
  if (none.length) groups.push({ kind: 'no-technique', tactic: null, indicators: sorted(none) });
  return groups;
}
