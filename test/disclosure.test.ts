import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapeEmulator } from '../emulators/cape';
import type { SourceDisclosure } from '../lambdas/core/config/runtime-config';
import { DETAIL_TYPE_VERDICT, SampleVerdictDetailSchema } from '../lambdas/core/contracts/pipeline';
import { disclosureRuleOf } from '../lambdas/core/triage/routing';
import { startVendorHarness, type VendorHarness } from './support';

/**
 * Disclosure rules per source (issue #16): a vendor sandbox is a third party, so a source marked
 * confidential sends its files to none unless its rule names one; the static engine (in the account)
 * still judges them, and the verdict says which vendors were withheld and why.
 */
describe('disclosure rules per source', () => {
  let h: VendorHarness<CapeEmulator>;
  beforeAll(async () => {
    h = await startVendorHarness((clock) => new CapeEmulator({ clock, queueSeconds: 5, processingSeconds: 10 }), {
      sources: [
        { prefix: 'hr/', confidential: true },
        // A sub-prefix may open a vendor again (a self-hosted CAPE, say): the longest prefix decides.
        { prefix: 'hr/cape-ok/', confidential: true, vendors: ['cape'] },
      ],
    });
  });
  afterAll(async () => h?.stop());

  const verdictOf = (key: string) =>
    h.pipeline
      .events(DETAIL_TYPE_VERDICT)
      .map((e) => SampleVerdictDetailSchema.parse(e.detail))
      .find((d) => d.key === key);

  it("never sends a confidential source's file to a vendor, and says which vendor was withheld", async () => {
    const key = 'hr/payroll.js';
    const run = await h.pipeline.run(await h.pipeline.upload({ key, body: '// SANDTRAP-TEST-MALICIOUS payroll\n' }));
    expect(run.status).toBe('SUCCEEDED');
    expect(h.emulator.submissions).toBe(0);
    expect(h.emulator.count('tasks/create')).toBe(0);
    const detail = verdictOf(key);
    expect(detail?.engines.map((e) => e.engine)).toEqual(['static']);
    expect(detail?.withheld).toEqual([{ engine: 'cape', reason: 'disclosure', source: '*/hr/' }]);
  });

  it('sends the files of other sources, and of a rule that names the vendor, as before', async () => {
    for (const key of ['public/invoice.js', 'hr/cape-ok/form.js']) {
      const run = await h.pipeline.run(await h.pipeline.upload({ key, body: `// ${key}\n` }));
      expect(run.status).toBe('SUCCEEDED');
      expect(verdictOf(key)?.engines.map((e) => e.engine)).toContain('cape');
      expect(verdictOf(key)?.withheld).toBeUndefined();
    }
    expect(h.emulator.submissions).toBe(2);
  }, 60_000);

  it('picks the rule of the longest matching prefix, a bucket’s own before one for every bucket', () => {
    const rules: SourceDisclosure[] = [
      { prefix: '', confidential: false },
      { prefix: 'hr/', confidential: true },
      { bucket: 'mail', prefix: 'hr/', confidential: false, vendors: ['joe'] },
    ];
    expect(disclosureRuleOf({ bucket: 'uploads', key: 'hr/a' }, rules)).toBe(rules[1]);
    expect(disclosureRuleOf({ bucket: 'mail', key: 'hr/a' }, rules)).toBe(rules[2]);
    expect(disclosureRuleOf({ bucket: 'uploads', key: 'x' }, rules)).toBe(rules[0]);
    expect(disclosureRuleOf({ bucket: 'uploads', key: 'x' }, [])).toBeUndefined();
  });
});
