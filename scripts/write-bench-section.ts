import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as z from 'zod';
import { meetsTarget } from '../bench/metric';

/** The shape `npm run bench` writes to `bench/results.json`. */
export const BenchResultsSchema = z.object({
  metrics: z.array(
    z.object({
      name: z.string(),
      value: z.number(),
      unit: z.string(),
      target: z.string().optional(),
    }),
  ),
});

/** The contents of `bench/results.json`. */
export type BenchResults = z.infer<typeof BenchResultsSchema>;

/** The markers that delimit the generated section in README.md. */
export const BENCH_MARKERS = { start: '<!-- bench:start -->', end: '<!-- bench:end -->' } as const;

const HOW_TAKEN =
  'Generated from `bench/results.json` by `npx tsx scripts/write-bench-section.ts` after `npm run bench`. ' +
  'Latency and throughput come from the whole pipeline running locally (the synthesized state machine, ' +
  'the Lambda handlers in-process, S3 on s3rver, DynamoDB on dynalite) against emulated vendors on a ' +
  'virtual clock, so Wait states cost no real time; they compare runs of this code, not AWS latency. ' +
  'Transitions and invocations are counted per execution. Costs price what one analysis measurably ' +
  'uses locally (state transitions, Lambda invocations and their in-process durations at the ' +
  'configured memory sizes, S3 and DynamoDB requests counted by SDK middleware, published events, log ' +
  'bytes) at the us-east-1 on-demand list prices in `bench/prices.json`, which gives the date each ' +
  'price was read and its source; the Fargate detonation is modelled, not run. Bundle sizes are the ' +
  'minified handlers as the CDK app bundles them, without the shared dependency layer (undici, ' +
  "Powertools' Tracer with the X-Ray SDK, fast-xml-parser: deployed once per stack), whose size is " +
  'given beside them, with what a vendor handler loads in all at a cold start. Detection metrics come ' +
  'from detonating every sample of `samples/detection/` (one inert procedure per ATT&CK technique, and ' +
  'benign scripts of the kinds found in upload and build buckets) under the agent, two at a time, scored ' +
  'against `samples/detection/manifest.json`: technique ids match exactly (T1053 does not match T1053.003), ' +
  'and the ids of low-severity indicators count against precision only when expected; ' +
  '`npm run bench -- --detection` runs that benchmark alone and merges its metrics into the file. ' +
  'Task sizes (`--task-sizes`) detonate the same corpus in the detonation image under Docker with each ' +
  "x86_64 Fargate size's CPU and memory limits; a size completes the suite when every sample ends by " +
  'itself and the detection targets hold, and the vendor-and-detonation cost is priced on the cheapest ' +
  'option that did (Fargate Spot runs the same size, with an assumed 5% of tasks interrupted and run ' +
  'again on demand). arm64 cannot run here, so its sizes are priced but never chosen.';

/** A value as the table shows it: integers whole, everything else to four significant digits. */
export function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

/** Escapes what would break a markdown table cell. */
const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The four paths a verdict takes, and the alternatives they are set beside: `[metric, what it is]`. */
export const COST_COMPARISON: readonly (readonly [string, string])[] = [
  ['cost_usd_per_1000_cached', 'Sandtrap: the same bytes again (cached verdict)'],
  ['cost_usd_per_1000_static_only', 'Sandtrap: static engine only (no vendor, no detonation)'],
  ['cost_usd_per_1000_vendor_5min', 'Sandtrap: static engine and a vendor taking 5 minutes'],
  [
    'cost_usd_per_1000_vendor_detonation',
    'Sandtrap: as above, plus our detonation (the cheapest task size that completed the detonation suite)',
  ],
  ['cost_usd_per_1000_vendor_detonation_default_task', 'Sandtrap: as above, on the default task (2 vCPU, 4 GB)'],
  ['guardduty_usd_per_1000_objects', 'GuardDuty Malware Protection for S3 (1 MB objects)'],
  ['clamav_lambda_usd_per_1000', 'ClamAV in Lambda (one scan each)'],
];

/** The comparison table of {@link COST_COMPARISON}, with the rows the results have; empty without any. */
function renderCostComparison(results: BenchResults): string[] {
  const byName = new Map(results.metrics.map((m) => [m.name, m]));
  const rows = COST_COMPARISON.flatMap(([name, what]) => {
    const metric = byName.get(name);
    return metric ? [`| ${cell(what)} | ${formatValue(metric.value)} | ${cell(metric.target ?? '')} |`] : [];
  });
  if (rows.length === 0) return [];
  return [
    '**Cost per 1,000 verdicts beside the alternatives (USD)**',
    '',
    '| path | USD / 1,000 | target |',
    '| --- | ---: | --- |',
    ...rows,
    '',
  ];
}

/**
 * The README's "Performance and cost" section body for a results file: the cost of the four verdict
 * paths beside GuardDuty's and ClamAV-in-Lambda's, a table of every metric (value, unit, target and
 * whether it is met) and a paragraph on how the numbers were taken. It depends on the file's content
 * only, so regenerating from the same results changes nothing.
 */
export function renderBenchSection(results: BenchResults): string {
  const rows = results.metrics.map((m) => {
    const met = m.target ? (meetsTarget(m) ? 'yes' : 'no') : '';
    return `| ${cell(m.name)} | ${formatValue(m.value)} | ${cell(m.unit)} | ${cell(m.target ?? '')} | ${met} |`;
  });
  return [
    ...renderCostComparison(results),
    '| metric | value | unit | target | met |',
    '| --- | ---: | --- | --- | --- |',
    ...rows,
    '',
    HOW_TAKEN,
  ].join('\n');
}

/** The generated text between the markers, or undefined when README has no (well-ordered) markers. */
export function extractBenchSection(readme: string): string | undefined {
  const start = readme.indexOf(BENCH_MARKERS.start);
  const end = readme.indexOf(BENCH_MARKERS.end);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start + BENCH_MARKERS.start.length, end).trim();
}

/**
 * README with the section replaced between the markers; without markers, a `## Performance and cost`
 * section holding them is appended at the end.
 */
export function replaceBenchSection(readme: string, section: string): string {
  const block = `${BENCH_MARKERS.start}\n${section}\n${BENCH_MARKERS.end}`;
  const start = readme.indexOf(BENCH_MARKERS.start);
  const end = readme.indexOf(BENCH_MARKERS.end);
  if (start < 0 || end < start) return `${readme.trimEnd()}\n\n## Performance and cost\n\n${block}\n`;
  return readme.slice(0, start) + block + readme.slice(end + BENCH_MARKERS.end.length);
}

function main(): void {
  const resultsPath = fileURLToPath(new URL('../bench/results.json', import.meta.url));
  const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
  const results = BenchResultsSchema.parse(JSON.parse(readFileSync(resultsPath, 'utf8')));
  const readme = readFileSync(readmePath, 'utf8');
  writeFileSync(readmePath, replaceBenchSection(readme, renderBenchSection(results)));
  process.stdout.write(`README.md: Performance and cost section written from ${results.metrics.length} metrics\n`);
}

// Run only as a script, so the test can import the pure functions.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
