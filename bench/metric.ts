/** One number a benchmark reports; names are stable snake_case so that runs can be compared. */
export interface Metric {
  name: string;
  value: number;
  unit: string;
  /** The goal, as text: `<= 1.05`, `>= 700000`, `< 300`. */
  target?: string;
}

/** A group of measurements taken in one run. */
export interface Benchmark {
  /** Selects the benchmark alone on the command line: `npm run bench -- --<id>`. */
  id: string;
  /** Shown as the section of the table. */
  title: string;
  /**
   * `earlier`: what this run took before this benchmark, over what `bench/results.json` holds from
   * earlier runs, for a benchmark that builds on another's measurement (the cost model on the task
   * sizes that completed the detonation suite).
   */
  run(options: { quick: boolean; earlier: readonly Metric[] }): Promise<Metric[]>;
}

/** True when a value meets its target (no target: always). */
export function meetsTarget(metric: Metric): boolean {
  if (!metric.target) return true;
  const match = metric.target.match(/^(<=|>=|<|>)\s*([0-9.]+)$/);
  if (!match) return true;
  const bound = Number(match[2]);
  switch (match[1]) {
    case '<=':
      return metric.value <= bound;
    case '>=':
      return metric.value >= bound;
    case '<':
      return metric.value < bound;
    default:
      return metric.value > bound;
  }
}
