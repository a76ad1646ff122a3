import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../../../../lambdas/core/report/html-report';
import {
  benignTriageOnly,
  detonatedDropper,
  hostileSample,
  oneSecondDetonation,
  staticOnly,
} from '../../../fixtures/reports/documents';

/** The report's indicators, recommendations and resource chart, read from the rendered HTML. */

const sectionOf = (doc: string, id: string) =>
  new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`).exec(doc)?.[1] ?? '';

/** The points of each resource panel's line, by series class. */
function chartLines(doc: string): Record<string, Array<[number, number]>> {
  const svg = /<svg [\s\S]*?<\/svg>/.exec(doc)?.[0] ?? '';
  return Object.fromEntries(
    [...svg.matchAll(/<g class="(l-\w+)">[\s\S]*?<polyline class="line" points="([^"]*)"/g)].map((m) => [
      m[1],
      (m[2] as string)
        .split(' ')
        .filter(Boolean)
        .map((p) => p.split(',').map(Number) as [number, number]),
    ]),
  );
}

describe('renderHtmlReport: indicators and recommendations', () => {
  it('lists the indicators, then ends with the recommendations', () => {
    const doc = renderHtmlReport(detonatedDropper());
    const ids = [...doc.matchAll(/<section id="([\w-]+)">/g)].map((m) => m[1]);
    expect(ids.slice(-2)).toEqual(['iocs', 'recommendations']);
    const iocs = sectionOf(doc, 'iocs');
    expect(iocs).toContain('<code>pool.supportxmr.com</code>');
    expect(iocs).toContain('<code>185.225.74.9</code>');
    expect(iocs).toContain('--iocs stix');
    const recs = sectionOf(doc, 'recommendations');
    expect([...recs.matchAll(/data-rec="([\w-]+)"/g)].map((m) => m[1])).toEqual(
      expect.arrayContaining(['quarantine', 'block-hashes', 'hunt', 'rotate-credentials']),
    );
  });

  it('recommends no quarantine for a verdict that is not malicious', () => {
    const recs = sectionOf(renderHtmlReport(benignTriageOnly()), 'recommendations');
    expect(recs).not.toContain('data-rec="quarantine"');
    expect(recs).toContain('data-rec="second-opinion"');
  });

  it('has indicators and recommendations for a static-only verdict, from the static findings', () => {
    const doc = renderHtmlReport(staticOnly());
    expect(sectionOf(doc, 'iocs')).toContain('<code>http://invoice-portal.example-billing.com/a/stage2.exe</code>');
    expect(sectionOf(doc, 'recommendations')).toContain('data-rec="quarantine"');
  });

  it("escapes a hostile sample's indicators", () => {
    const doc = renderHtmlReport(hostileSample());
    const iocs = sectionOf(doc, 'iocs');
    expect(iocs).not.toMatch(/<script|<img|<iframe/);
    expect(iocs).toContain('&lt;script&gt;');
  });
});

describe('renderHtmlReport: resource chart of a short run', () => {
  it('draws CPU and memory for a run with one resource reading', () => {
    const doc = renderHtmlReport(oneSecondDetonation());
    const lines = chartLines(doc);
    for (const series of ['l-cpu', 'l-mem', 'l-proc']) {
      const points = lines[series] ?? [];
      // A line of length, level at the one reading, above the panel's floor (a non-zero value).
      expect(points.length).toBeGreaterThanOrEqual(2);
      const xs = points.map(([x]) => x);
      expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThan(700);
      expect(new Set(points.map(([, y]) => y)).size).toBe(1);
    }
    const svg = /<svg [\s\S]*?<\/svg>/.exec(doc)?.[0] ?? '';
    // CPU: 0.21 s over the first 0.5 s is 42% of a core.
    expect(svg).toContain('peak 42%');
    expect(svg.match(/<circle class="dot"/g)).toHaveLength(3);
    expect(doc).toContain('One resource reading was taken');
  });

  it('draws each reading of a longer run as a point of its own, with no dots', () => {
    const input = detonatedDropper();
    const lines = chartLines(renderHtmlReport(input));
    const cpu = lines['l-cpu'] ?? [];
    expect(cpu).toHaveLength(input.detonation!.resourceUsage.items.length);
    expect(renderHtmlReport(input)).not.toContain('class="dot"');
  });
});
