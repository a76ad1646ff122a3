import { describe, expect, it } from 'vitest';
import { lookupTechnique } from '../../../../lambdas/core/attack/techniques';
import {
  BEHAVIOR_KEYS,
  type Behavior,
  type BehaviorKey,
  type Indicator,
} from '../../../../lambdas/core/contracts/detonation-report';
import { indicatorsByTactic, primaryTactic } from '../../../../lambdas/core/report/indicators-by-tactic';

function indicator(id: string, attack: string[], severity: Indicator['severity'] = 'medium'): Indicator {
  return { id, title: id, severity, attack, evidence: ['line'], occurrences: 1, truncated: false };
}

function behavior(entries: Partial<Record<BehaviorKey, Indicator[]>>): Behavior {
  return Object.fromEntries(BEHAVIOR_KEYS.map((k) => [k, entries[k] ?? []])) as Behavior;
}

const byId = (a: Indicator, b: Indicator) => a.id.localeCompare(b.id);

describe('primaryTactic', () => {
  it.each([
    ['persistence', ['T1053.003'], 'Persistence'],
    ['execution', ['T1053.003'], 'Execution'],
    ['privilegeEscalation', ['T1053.003'], 'Privilege Escalation'],
    ['execution', ['T1105', 'T1059.004'], 'Execution'],
    ['destructive', ['T1070.004'], 'Defense Evasion'],
    ['destructive', ['T1485'], 'Impact'],
    ['dataHarvesting', ['T1057', 'T1552.001'], 'Credential Access'],
    ['network', ['T1048.003'], 'Exfiltration'],
    // No tactic of the key is served: the earliest tactic of the first technique that has one.
    ['evasion', ['T9999', 'T1105', 'T1059.004'], 'Command and Control'],
    ['cryptomining', ['T1053.003'], 'Execution'],
  ] as const)('files a %s indicator with %j under %s', (key, ids, expected) => {
    expect(primaryTactic(key, ids.map(lookupTechnique))?.name).toBe(expected);
  });

  it('has none when no technique maps to a tactic', () => {
    expect(primaryTactic('network', [lookupTechnique('T9999')])).toBeNull();
    expect(primaryTactic('network', [])).toBeNull();
  });
});

describe('indicatorsByTactic', () => {
  it('files every indicator once, tactics in kill-chain order, then unmapped, then without a technique', () => {
    const groups = indicatorsByTactic(
      behavior({
        cryptomining: [indicator('cryptomining.cpu', ['T1496'])],
        persistence: [indicator('persistence.cron', ['T1053.003']), indicator('persistence.odd', ['T0000'])],
        execution: [indicator('execution.z', ['T1059.004']), indicator('execution.a', ['T1204.002'])],
        network: [indicator('network.plain', [])],
      }),
      byId,
    );
    expect(groups.map((g) => [g.kind, g.tactic?.id ?? null, g.indicators.map((f) => f.indicator.id)])).toEqual([
      ['tactic', 'TA0002', ['execution.a', 'execution.z']],
      ['tactic', 'TA0003', ['persistence.cron']],
      ['tactic', 'TA0040', ['cryptomining.cpu']],
      ['unmapped', null, ['persistence.odd']],
      ['no-technique', null, ['network.plain']],
    ]);
  });

  it("keeps each indicator's key and the other tactics its techniques serve", () => {
    const [group] = indicatorsByTactic(behavior({ persistence: [indicator('persistence.cron', ['T1053.003'])] }), byId);
    const filed = group?.indicators[0];
    expect(filed?.key).toBe('persistence');
    expect(filed?.otherTactics.map((t) => t.name)).toEqual(['Execution', 'Privilege Escalation']);
    expect(filed?.techniques.map((t) => t.name)).toEqual(['Scheduled Task/Job: Cron']);
  });

  it('returns no group for a behaviour without indicators', () => {
    expect(indicatorsByTactic(behavior({}), byId)).toEqual([]);
  });
});
