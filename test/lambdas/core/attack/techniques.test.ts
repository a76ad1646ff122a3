import { describe, expect, it } from 'vitest';
import { RULES } from '../../../../container/agent/rules';
import { TACTICS, tactic, tacticUrl } from '../../../../lambdas/core/attack/tactics';
import {
  CATALOGUED_TECHNIQUE_IDS,
  isTechniqueId,
  lookupTechnique,
  techniqueUrl,
} from '../../../../lambdas/core/attack/techniques';

describe('ATT&CK tactics', () => {
  it('are the fourteen Enterprise tactics in kill-chain order', () => {
    expect(TACTICS.map((t) => `${t.id} ${t.name}`)).toEqual([
      'TA0043 Reconnaissance',
      'TA0042 Resource Development',
      'TA0001 Initial Access',
      'TA0002 Execution',
      'TA0003 Persistence',
      'TA0004 Privilege Escalation',
      'TA0005 Defense Evasion',
      'TA0006 Credential Access',
      'TA0007 Discovery',
      'TA0008 Lateral Movement',
      'TA0009 Collection',
      'TA0011 Command and Control',
      'TA0010 Exfiltration',
      'TA0040 Impact',
    ]);
    expect(TACTICS.map((t) => t.order)).toEqual([...TACTICS.keys()]);
  });

  it('link to their ATT&CK page', () => {
    expect(tacticUrl(tactic('command-and-control'))).toBe('https://attack.mitre.org/tactics/TA0011/');
  });
});

describe('the ATT&CK technique catalogue', () => {
  it('holds every technique id a behaviour rule raises', () => {
    const used = [...new Set(RULES.flatMap((r) => r.attack))].sort();
    expect(used.length).toBeGreaterThan(20);
    const missing = used.filter((id) => lookupTechnique(id).source !== 'catalogue');
    expect(missing, 'add these to lambdas/core/attack/techniques.ts').toEqual([]);
  });

  it('holds the parent of every sub-technique, with the same tactics, in kill-chain order', () => {
    for (const id of CATALOGUED_TECHNIQUE_IDS) {
      expect(isTechniqueId(id), id).toBe(true);
      const info = lookupTechnique(id);
      expect(info.tactics.length, id).toBeGreaterThan(0);
      expect(
        info.tactics.map((t) => t.order),
        id,
      ).toEqual(info.tactics.map((t) => t.order).sort((a, b) => a - b));
      if (!id.includes('.')) continue;
      const parent = lookupTechnique(id.slice(0, 5));
      expect(parent.source, `parent of ${id}`).toBe('catalogue');
      expect(info.tactics, id).toEqual(parent.tactics);
      expect(info.name?.startsWith(`${parent.name}: `), id).toBe(true);
    }
  });

  it('names a sub-technique after its parent, as ATT&CK does, with its tactics', () => {
    expect(lookupTechnique('T1053.003')).toEqual({
      id: 'T1053.003',
      name: 'Scheduled Task/Job: Cron',
      tactics: [tactic('execution'), tactic('persistence'), tactic('privilege-escalation')],
      source: 'catalogue',
    });
    expect(lookupTechnique('T1105')).toMatchObject({ name: 'Ingress Tool Transfer', source: 'catalogue' });
    expect(lookupTechnique('T1055.008').tactics.map((t) => t.name)).toEqual([
      'Privilege Escalation',
      'Defense Evasion',
    ]);
  });

  it("falls back to the parent's name and tactics for a sub-technique it does not hold", () => {
    expect(lookupTechnique('T1053.099')).toEqual({
      id: 'T1053.099',
      name: 'Scheduled Task/Job',
      tactics: [tactic('execution'), tactic('persistence'), tactic('privilege-escalation')],
      source: 'parent',
    });
  });

  it.each([['T9999'], ['T9999.001'], ['T1053.3'], ['t1053'], ['TA0003'], [''], ['__proto__'], ['constructor']])(
    'reads %j as unknown, without throwing',
    (id) => {
      expect(lookupTechnique(id)).toEqual({ id, name: null, tactics: [], source: 'unknown' });
    },
  );
});

describe('techniqueUrl', () => {
  it('gives the ATT&CK page of a technique and of a sub-technique', () => {
    expect(techniqueUrl('T1053.003')).toBe('https://attack.mitre.org/techniques/T1053/003/');
    expect(techniqueUrl('T1105')).toBe('https://attack.mitre.org/techniques/T1105/');
  });

  it('links a well-formed id the catalogue does not hold: ATT&CK has the page', () => {
    expect(techniqueUrl('T1651')).toBe('https://attack.mitre.org/techniques/T1651/');
  });

  it.each([['T1053.3'], ['T1053/003'], ['T1053.003/../../x'], ['javascript:alert(1)'], [' T1105'], ['T1105\n']])(
    'gives no URL for %j',
    (id) => {
      expect(techniqueUrl(id)).toBeNull();
    },
  );
});
