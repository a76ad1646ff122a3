import '../local/polyfills';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { meetsTarget, type Benchmark, type Metric } from './metric';
import { formatValue } from '../scripts/write-bench-section';
import { bundleBenchmark } from './bundles';
import { costBenchmark } from './cost';
import { detonationBenchmark } from './detonation';
import { pipelineBenchmark } from './pipeline';

/**
 * `npm run bench [-- --quick]`: runs every benchmark in one process, prints a markdown table and
 * writes bench/results.json as {"metrics": [{name, value, unit, target?}]}. Ratios are taken within
 * one run, so machines of different speed can still be compared.
 */
const BENCHMARKS: Benchmark[] = [pipelineBenchmark, detonationBenchmark, costBenchmark, bundleBenchmark];

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const metrics: Metric[] = [];
  const sections: { title: string; metrics: Metric[] }[] = [];
  for (const benchmark of BENCHMARKS) {
    process.stderr.write(`running: ${benchmark.title}\n`);
    const taken = await benchmark.run({ quick });
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
  writeFileSync(fileURLToPath(new URL('./results.json', import.meta.url)), `${JSON.stringify({ metrics }, null, 2)}\n`);
}

await main();
