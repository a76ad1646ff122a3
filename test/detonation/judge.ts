import { TraceParser, type TraceEvent } from '../../container/agent';
import { type ExecObservation, type Observation, TraceCollector } from '../../container/agent/observations';
import { RuleEngine } from '../../container/agent/rules';

/** The home of the sample whose trace lines {@link judgeTrace} reads. */
export const JUDGED_HOME = '/run/home';

/**
 * Runs strace lines through the collector and the rules as the agent does, and returns the
 * indicators raised (id → ATT&CK ids), every observation and the execs among them.
 */
export function judgeTrace(trace: string): {
  ids: Map<string, string[]>;
  observations: Observation[];
  execs: ExecObservation[];
} {
  const observations: Observation[] = [];
  const engine = new RuleEngine({
    home: JUDGED_HOME,
    placed: new Set(),
    hidden: [],
    written: new Set(),
    read: new Set(),
    samplePids: new Set(),
  });
  const collector = new TraceCollector(
    (o) => {
      observations.push(o);
      engine.observe(o);
    },
    { sandboxUid: 10001, wrapperExecs: 0, cwd: JUDGED_HOME, maxArgv: 32, followChildren: true },
  );
  const events: TraceEvent[] = [];
  const parser = new TraceParser((e) => events.push(e));
  parser.push(trace);
  parser.end();
  for (const e of events) collector.handle(e);
  const ids = new Map(
    Object.values(engine.behavior())
      .flat()
      .map((i) => [i.id, i.attack] as [string, string[]]),
  );
  return { ids, observations, execs: observations.filter((o): o is ExecObservation => o.type === 'exec') };
}
