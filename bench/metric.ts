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
  run(options: { quick: boolean }): Promise<Metric[]>;
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
