import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BENCH_MARKERS,
  BenchResultsSchema,
  extractBenchSection,
  formatValue,
  renderBenchSection,
  replaceBenchSection,
  type BenchResults,
} from '../../scripts/write-bench-section';

const results: BenchResults = {
  metrics: [
    { name: 'transitions_vendor_5min', value: 11, unit: 'transitions', target: '<= 12' },
    { name: 'bundle_kb_max', value: 312.44, unit: 'KB', target: '< 300' },
    { name: 'cost_usd_lambda_per_1000', value: 0.003257, unit: 'USD / 1,000 verdicts' },
  ],
};

describe('the README performance and cost section', () => {
  it('renders one row per metric with its value, unit, target and whether it is met', () => {
    const lines = renderBenchSection(results).split('\n');
    expect(lines.slice(0, 5)).toEqual([
      '| metric | value | unit | target | met |',
      '| --- | ---: | --- | --- | --- |',
      '| transitions_vendor_5min | 11 | transitions | <= 12 | yes |',
      '| bundle_kb_max | 312.4 | KB | < 300 | no |',
      '| cost_usd_lambda_per_1000 | 0.003257 | USD / 1,000 verdicts |  |  |',
    ]);
  });

  it('follows the table with one paragraph on how the numbers were taken, and no run date', () => {
    const [, paragraph, ...rest] = renderBenchSection(results).split('\n\n');
    expect(rest).toEqual([]);
    expect(paragraph).toMatch(/bench\/prices\.json/);
    expect(paragraph).not.toMatch(/\d{4}-\d{2}-\d{2}/);
  });

  it('sets the four verdict paths beside GuardDuty and ClamAV in Lambda, in that order, before the table', () => {
    const costs: BenchResults = {
      metrics: [
        { name: 'clamav_lambda_usd_per_1000', value: 1.5, unit: 'USD' },
        { name: 'cost_usd_per_1000_vendor_5min', value: 0.2874, unit: 'USD', target: '<= 0.30' },
        { name: 'cost_usd_per_1000_cached', value: 0.01739, unit: 'USD', target: '<= 0.02' },
        { name: 'guardduty_usd_per_1000_objects', value: 0.3029, unit: 'USD' },
        { name: 'cost_usd_per_1000_static_only', value: 0.044, unit: 'USD', target: '<= 0.05' },
        { name: 'cost_usd_per_1000_vendor_detonation', value: 0.9, unit: 'USD', target: '<= 1.00' },
      ],
    };
    const [title, comparison, table] = renderBenchSection(costs).split('\n\n');
    expect(title).toBe('**Cost per 1,000 verdicts beside the alternatives (USD)**');
    expect(comparison?.split('\n')).toEqual([
      '| path | USD / 1,000 | target |',
      '| --- | ---: | --- |',
      '| Sandtrap: the same bytes again (cached verdict) | 0.01739 | <= 0.02 |',
      '| Sandtrap: static engine only (no vendor, no detonation) | 0.044 | <= 0.05 |',
      '| Sandtrap: static engine and a vendor taking 5 minutes | 0.2874 | <= 0.30 |',
      '| Sandtrap: as above, plus our detonation (the cheapest task size that completed the detonation suite) | 0.9 | <= 1.00 |',
      '| GuardDuty Malware Protection for S3 (1 MB objects) | 0.3029 |  |',
      '| ClamAV in Lambda (one scan each) | 1.5 |  |',
    ]);
    expect(table?.startsWith('| metric | value |')).toBe(true);
    // Without cost metrics there is no comparison.
    expect(renderBenchSection(results).startsWith('| metric | value |')).toBe(true);
  });

  it('renders the same results to the same text', () => {
    expect(renderBenchSection(structuredClone(results))).toBe(renderBenchSection(results));
  });

  it('keeps small costs readable: four significant digits, integers whole', () => {
    expect(formatValue(0.00012346)).toBe('0.0001235');
    expect(formatValue(2.957123)).toBe('2.957');
    expect(formatValue(743)).toBe('743');
  });

  it('escapes pipes so a unit cannot break the table', () => {
    const section = renderBenchSection({ metrics: [{ name: 'x', value: 1, unit: 'a | b' }] });
    expect(section).toContain('| x | 1 | a \\| b |  |  |');
  });

  it('replaces only what is between the markers', () => {
    const readme = `# Title\n\n## Performance and cost\n\n${BENCH_MARKERS.start}\nold\n${BENCH_MARKERS.end}\n\n## Next\n`;
    expect(replaceBenchSection(readme, 'new')).toBe(
      `# Title\n\n## Performance and cost\n\n${BENCH_MARKERS.start}\nnew\n${BENCH_MARKERS.end}\n\n## Next\n`,
    );
  });

  it('appends a Performance and cost section with the markers when README has none', () => {
    const written = replaceBenchSection('# Title\n\nText.\n', 'table');
    expect(written).toBe(
      `# Title\n\nText.\n\n## Performance and cost\n\n${BENCH_MARKERS.start}\ntable\n${BENCH_MARKERS.end}\n`,
    );
    expect(extractBenchSection(written)).toBe('table');
  });

  it('matches bench/results.json in README.md (regenerate with scripts/write-bench-section.ts)', (ctx) => {
    const root = join(import.meta.dirname, '..', '..');
    const resultsPath = join(root, 'bench', 'results.json');
    ctx.skip(!existsSync(resultsPath), 'bench/results.json does not exist yet: run `npm run bench` first');
    const section = extractBenchSection(readFileSync(join(root, 'README.md'), 'utf8'));
    ctx.skip(
      section === undefined,
      `README.md has no ${BENCH_MARKERS.start} … ${BENCH_MARKERS.end} markers yet (the lead adds them)`,
    );
    const committed = BenchResultsSchema.parse(JSON.parse(readFileSync(resultsPath, 'utf8')));
    expect(section).toBe(renderBenchSection(committed));
  });
});
