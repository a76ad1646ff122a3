import { describe, expect, it } from 'vitest';
import { HOME, sample, type TraceScript } from './trace-script';

/** One step of a sample, named by what it does. */
export type Case = [string, (s: TraceScript) => TraceScript];

/** A rule, the ATT&CK ids it must report, samples that must raise it and near-misses that must not. */
export interface RuleCases {
  id: string;
  attack: string[];
  positive: Case[];
  benign: Case[];
}

/**
 * Checks each rule of `table` against its samples: every positive raises the rule with exactly its
 * ATT&CK ids, every benign near-miss leaves it silent.
 */
export function describeRules(table: RuleCases[]): void {
  describe.each(table)('$id', ({ id, attack, positive, benign }) => {
    it.each(positive)(`raises ${attack.join(' ')} when the sample %s`, (_, act) => {
      expect(
        act(sample())
          .judge([`${HOME}/s`], ['/opt/sandtrap'])
          .get(id),
      ).toEqual(attack);
    });
    it.each(benign)('stays silent when the sample %s', (_, act) => {
      expect(
        act(sample())
          .judge([`${HOME}/s`], ['/opt/sandtrap'])
          .has(id),
      ).toBe(false);
    });
  });
}
