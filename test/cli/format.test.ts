import { describe, expect, it } from 'vitest';
import { formatOutcomes } from '../../cli/format';
import type { VerdictDocument } from '../../lambdas/core/contracts/pipeline';
import { multiVendorMalicious } from '../fixtures/reports/documents';

function withBehavior(behavior: Record<string, unknown[]>): VerdictDocument {
  return { ...multiVendorMalicious().document, behavior } as VerdictDocument;
}

const indicator = (attack: string[]) => ({ id: 'k.x', title: 'Does a thing', severity: 'high', attack });

describe('formatOutcomes', () => {
  it("names each indicator's ATT&CK ids and the tactic it is filed under", () => {
    const text = formatOutcomes([
      {
        file: 'a.sh',
        ok: true,
        document: withBehavior({
          persistence: [indicator(['T1053.003'])],
          execution: [indicator(['T1105', 'T1059.004'])],
          network: [indicator(['T9999']), indicator([])],
        }),
      },
    ]);
    expect(text).toContain('  persistence         high     Does a thing [T1053.003 · Persistence]\n');
    expect(text).toContain('  execution           high     Does a thing [T1105, T1059.004 · Execution]\n');
    // An id the catalogue cannot place, or none, prints without a tactic.
    expect(text).toContain('  network             high     Does a thing [T9999]\n');
    expect(text).toContain('  network             high     Does a thing\n');
  });

  it('prints no tactic for a behaviour key it does not know', () => {
    const text = formatOutcomes([
      { file: 'a.sh', ok: true, document: withBehavior({ other: [indicator(['T1105'])] }) },
    ]);
    expect(text).toContain('  other               high     Does a thing [T1105]');
  });
});

describe('the table', () => {
  it('aligns columns, escapes control characters in file names, and wraps the widest column to the width', async () => {
    const { table } = await import('../../cli/format');
    const rows = [
      ['FILE', 'VERDICT'],
      ['evil\x1b[2J.sh', 'malicious'],
      ['a/long/path/to/a/sample.bin', 'benign'],
    ];
    expect(table(rows)).toBe(
      [
        'FILE                         VERDICT',
        'evil\\x1b[2J.sh               malicious',
        'a/long/path/to/a/sample.bin  benign',
      ].join('\n'),
    );
    const narrow = table(rows, 30).split('\n');
    expect(Math.max(...narrow.map((l) => l.length))).toBeLessThanOrEqual(30);
    expect(narrow.join('')).toContain('evil\\x1b[2J.sh');
  });
});
