import { runScaleScenario, SCALE_LIMITS } from '../test/scale-scenario';
import type { Benchmark, Metric } from './metric';

/**
 * The scale scenario of test/scale.test.ts at the acceptance's size: 2,000 uploads against a vendor
 * allowing 30 requests a minute and 500 submissions a day, and 50 detonations against 3 task slots.
 * It prints the most transitions one analysis took and the history events of the longest execution:
 * both must stay where one analysis alone puts them, whatever the queue. `--quick` runs 400.
 */
export const scaleBenchmark: Benchmark = {
  id: 'scale',
  title: `Scale: uploads against ${SCALE_LIMITS.perMinute} requests/min and a daily quota, ${SCALE_LIMITS.detonations} detonations against ${SCALE_LIMITS.taskSlots} task slots`,
  async run({ quick }): Promise<Metric[]> {
    const outcome = await runScaleScenario(quick ? 400 : 2000);
    try {
      const engines = outcome.verdicts.flatMap((v) => v.engines);
      const notCompleted = engines.filter((e) => e.status !== 'completed').length;
      const unit = `${outcome.uploads} uploads (${outcome.perDay}/day) + ${SCALE_LIMITS.detonations} detonations`;
      return [
        { name: 'scale_max_transitions_per_analysis', value: outcome.maxTransitions, unit, target: '<= 24' },
        { name: 'scale_max_history_events', value: outcome.maxHistoryEvents, unit, target: '<= 80' },
        { name: 'scale_engines_not_completed', value: notCompleted, unit, target: '<= 0' },
        {
          name: 'scale_failed_executions',
          value: Object.values(outcome.failures).reduce((sum, n) => sum + n, 0),
          unit,
          target: '<= 0',
        },
        { name: 'scale_verdict_events', value: outcome.verdicts.length, unit },
        { name: 'scale_run_seconds', value: Math.round(outcome.realSeconds), unit: 's of real time, virtual clock' },
      ];
    } finally {
      await outcome.harness.stop();
    }
  },
};
