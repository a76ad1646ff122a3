import '../local/polyfills';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { meetsTarget, type Benchmark, type Metric } from './metric';
import { BenchResultsSchema, formatValue } from '../scripts/write-bench-section';
import { bundleBenchmark } from './bundles';
import { costBenchmark } from './cost';
import { detectionBenchmark } from './detection';
import { detonationBenchmark } from './detonation';
import { mergeMetrics } from './merge-results';
import { pipelineBenchmark } from './pipeline';
import { scaleBenchmark } from './scale';
import { staticBenchmark } from './static';
import { taskSizeBenchmark } from './task-sizes';

/**
 * `npm run bench [-- --quick] [-- --<id> ...]`: runs every benchmark (or only those named by id, e.g.
 * `--detection`) in one process, prints a markdown table and writes bench/results.json as
 * {"metrics": [{name, value, unit, target?}]}; a run of some benchmarks only merges its metrics into
 * the file. Ratios are taken within one run, so machines of different speed can still be compared.
 */
const BENCHMARKS: Benchmark[] = [
  pipelineBenchmark,
  detonationBenchmark,
  staticBenchmark,
  taskSizeBenchmark,
  costBenchmark,
  bundleBenchmark,
  detectionBenchmark,
  scaleBenchmark,
];

const RESULTS = fileURLToPath(new URL('./results.json', import.meta.url));

/** The benchmarks the command line names, or all of them; an unknown flag is an error, not a full run. */
function selectBenchmarks(args: readonly string[]): Benchmark[] {
  const flags = args.filter((a) => a.startsWith('--') && a !== '--quick').map((a) => a.slice(2));
  const unknown = flags.filter((f) => !BENCHMARKS.some((b) => b.id === f));
  if (unknown.length > 0)
    throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.id).join(', ')}`);
  return flags.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => flags.includes(b.id));
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const selected = selectBenchmarks(process.argv.slice(2));
  const metrics: Metric[] = [];
  const sections: { title: string; metrics: Metric[] }[] = [];
  const recorded = existsSync(RESULTS)
    ? BenchResultsSchema.parse(JSON.parse(readFileSync(RESULTS, 'utf8'))).metrics
    : [];
  for (const benchmark of selected) {
    process.stderr.write(`running: ${benchmark.title}\n`);
    const taken = await benchmark.run({ quick, earlier: mergeMetrics(recorded, metrics) });
    sections.push({ title: benchmark.title, metrics: taken });
    metrics.push(...taken);
  }
  const lines = ['| metric | value | unit | target | met |', '| --- | ---: | --- | --- | --- |'];
  for (const section of sections) {
    lines.push(`| **${section.title}** | | | | |`);
    for (const m of section.metrics) {
      lines.push(
        `| ${m.name} | ${formatValue(m.value)} | ${m.unit} | ${m.target ?? ''} | ${m.target ? (meetsTarget(m) ? 'yes' : 'no') : ''} |`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  const written = selected.length < BENCHMARKS.length ? mergeMetrics(recorded, metrics) : metrics;
  writeFileSync(RESULTS, `${JSON.stringify({ metrics: written }, null, 2)}\n`);
}

await main();
