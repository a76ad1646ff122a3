import {
  BEHAVIOR_KEYS,
  REPORT_LIMITS,
  type Behavior,
  type Indicator,
} from '../../../lambdas/core/contracts/detonation-report';
import type { Observation } from '../observations';
import { cryptominingRules } from './cryptomining';
import { dataHarvestingRules } from './data-harvesting';
import { destructiveRules } from './destructive';
import { evasionRules } from './evasion';
import { executionRules } from './execution';
import { networkRules } from './network';
import { obfuscationRules } from './obfuscation';
import { persistenceRules } from './persistence';
import { privilegeEscalationRules } from './privilege-escalation';
import { provenance, writtenPaths, type Rule, type RuleContext } from './rule';
import { wrappedExec } from './wrapped-command';

export type { Rule, RuleContext } from './rule';

/** Every rule, by behaviour key. */
export const RULES: readonly Rule[] = [
  ...persistenceRules,
  ...privilegeEscalationRules,
  ...evasionRules,
  ...obfuscationRules,
  ...dataHarvestingRules,
  ...networkRules,
  ...destructiveRules,
  ...executionRules,
  ...cryptominingRules,
];

interface Tally {
  occurrences: number;
  distinct: Set<string>;
  evidence: string[];
}

/** The rules, matched against observations as they stream past. */
export class RuleEngine {
  private readonly tallies = new Map<Rule, Tally>();

  constructor(
    readonly context: RuleContext,
    private readonly rules: readonly Rule[] = RULES,
  ) {}

  observe(observation: Observation): void {
    if (observation.pid !== null) this.context.samplePids.add(observation.pid);
    this.match(observation);
    // What a wrapper (sudo, timeout, nohup, env) was asked to run is judged as that program's exec,
    // whether or not the program exists to be exec'd (nested wrappers unwrap a few levels).
    let wrapped = observation.type === 'exec' ? wrappedExec(observation) : null;
    for (let depth = 0; wrapped !== null && depth < 4; depth++) {
      this.match(wrapped);
      wrapped = wrappedExec(wrapped);
    }
    // After matching: "executes a file it wrote" must not fire on the write itself.
    provenance(this.context).note(observation, this.context.read);
    if (observation.type === 'file' && observation.ok) {
      for (const path of writtenPaths(observation)) this.context.written.add(path);
      if (observation.op === 'read') this.context.read.add(observation.path);
    }
  }

  /** Tallies the rules `observation` matches. */
  private match(observation: Observation): void {
    for (const rule of this.rules) {
      if (!rule.match(observation, this.context)) continue;
      let tally = this.tallies.get(rule);
      if (!tally) {
        tally = { occurrences: 0, distinct: new Set(), evidence: [] };
        this.tallies.set(rule, tally);
      }
      tally.occurrences++;
      if (rule.distinct && tally.distinct.size < 10_000) tally.distinct.add(rule.distinct(observation));
      if (tally.evidence.length < REPORT_LIMITS.evidence && !tally.evidence.includes(observation.line))
        tally.evidence.push(observation.line);
    }
  }

  /** The indicators, under every behaviour key (empty keys included). */
  behavior(): Behavior {
    const behavior = Object.fromEntries(BEHAVIOR_KEYS.map((key) => [key, [] as Indicator[]])) as Behavior;
    for (const rule of this.rules) {
      const tally = this.tallies.get(rule);
      if (!tally) continue;
      const count = rule.distinct ? tally.distinct.size : tally.occurrences;
      if (count < (rule.minimum ?? 1)) continue;
      behavior[rule.key].push({
        id: rule.id,
        title: rule.title,
        severity: rule.severity,
        attack: rule.attack,
        evidence: tally.evidence.map((line) =>
          line.length > REPORT_LIMITS.text ? `${line.slice(0, REPORT_LIMITS.text - 3)}...` : line,
        ),
        occurrences: tally.occurrences,
        truncated: tally.occurrences > tally.evidence.length,
      });
    }
    return behavior;
  }
}
