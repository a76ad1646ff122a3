import type { Behavior } from '../../lambdas/core/contracts/detonation-report';
import { TraceParser } from '../../container/agent';
import { type ExecObservation, type Observation, TraceCollector } from '../../container/agent/observations';
import { RuleEngine } from '../../container/agent/rules';
import type { RuleContext } from '../../container/agent/rules/rule';
import type { TraceStats } from '../../container/agent/trace-parser';

/** The home of the sample whose trace lines {@link judgeTrace} reads, unless the context names another. */
export const JUDGED_HOME = '/run/home';

/**
 * Runs strace lines through the collector and the rules as the agent does (the context's home is
 * also the sample's working directory), and returns the behaviour, the indicators raised (id →
 * ATT&CK ids), every observation, the execs among them and the parser's counts. `after` are
 * observations the agent adds once the trace is read (network records, the run's CPU use).
 */
export function judgeTrace(
  trace: string,
  context: Partial<Pick<RuleContext, 'home' | 'placed' | 'hidden'>> = {},
  after: readonly Observation[] = [],
): {
  behavior: Behavior;
  ids: Map<string, string[]>;
  observations: Observation[];
  execs: ExecObservation[];
  stats: TraceStats;
} {
  const home = context.home ?? JUDGED_HOME;
  const observations: Observation[] = [];
  const engine = new RuleEngine({
    home,
    placed: context.placed ?? new Set(),
    hidden: context.hidden ?? [],
    written: new Set(),
    read: new Set(),
    samplePids: new Set(),
  });
  const collector = new TraceCollector(
    (o) => {
      observations.push(o);
      engine.observe(o);
    },
    { sandboxUid: 10001, wrapperExecs: 0, cwd: home, maxArgv: 32, followChildren: true },
  );
  const parser = new TraceParser((e) => collector.handle(e));
  parser.push(trace);
  const stats = parser.end();
  for (const o of after) {
    observations.push(o);
    engine.observe(o);
  }
  const behavior = engine.behavior();
  const ids = new Map(
    Object.values(behavior)
      .flat()
      .map((i) => [i.id, i.attack] as [string, string[]]),
  );
  return {
    behavior,
    ids,
    observations,
    execs: observations.filter((o): o is ExecObservation => o.type === 'exec'),
    stats,
  };
}
