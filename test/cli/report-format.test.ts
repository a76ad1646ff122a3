import { describe, expect, it } from 'vitest';
import { formatReportText, REPORT_RENDERERS } from '../../cli/report-format';
import { DOCUMENT, SHA } from '../deployed/fakes';

describe('the verdict report', () => {
  it('renders as text and JSON', async () => {
    const document = { ...DOCUMENT, behavior: { network: [{}, {}], persistence: [] } };
    const text = formatReportText(document);
    expect(text).toContain(
      `object    s3://ingest/mail/invoice.js (version v1)\nverdict   malicious (score 92)\nanalyzed  2026-11-22T17:36:29.101Z in 301.6 s`,
    );
    expect(text).toContain(`  cape       completed      malicious  92   reports/${SHA}/cape/1.json.gz`);
    expect(text).toContain('behaviour:\n  network              2 observations\n');
    expect(text).not.toContain('persistence');
    expect(
      JSON.parse(
        String(await REPORT_RENDERERS.json({ document, source: 's3://x', read: async () => new Uint8Array() })),
      ),
    ).toEqual(document);
  });
});
