import type { Metric } from './metric';

/**
 * The results after a run of some benchmarks only: each metric the run took replaces the one of
 * the same name where it stood, metrics the run did not take are kept as they were, and metrics new
 * to the file follow at the end. So `npm run bench -- --detection` refreshes its own numbers
 * without dropping the other benchmarks' from `bench/results.json` (and the README section built
 * from it); a full run writes the file afresh.
 */
export function mergeMetrics(previous: readonly Metric[], taken: readonly Metric[]): Metric[] {
  const fresh = new Map(taken.map((m) => [m.name, m]));
  const known = new Set(previous.map((m) => m.name));
  return [...previous.map((m) => fresh.get(m.name) ?? m), ...taken.filter((m) => !known.has(m.name))];
}
