import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMULATORS } from '../emulators';
import { EMULATED_FINDINGS } from '../emulators/findings';
import {
  DETAIL_TYPE_VERDICT,
  SampleVerdictDetailSchema,
  VENDOR_IDS,
  VerdictDocumentSchema,
} from '../lambdas/core/contracts/pipeline';
import { startVendorHarness, type VendorHarness } from './support';

/**
 * Issue #15 item 3: each vendor's findings, served by its emulator in that vendor's report shape, reach
 * the verdict document in the reports bucket and the published `Sample Verdict` event. The emulators'
 * malicious reports take the shape and the names of reports captured from the real products where
 * one was found (VMRay, WildFire, FireEye, Falcon, CAPE, Cuckoo, OPSWAT, Triage; which names per vendor
 * in emulators/findings.ts, checked against the captured bodies in test/vendors/findings.test.ts), so
 * this follows a real report's names from the vendor's answer to the event.
 */
const vendors = VENDOR_IDS.filter((id) => EMULATORS[id]);

describe.each(vendors)('%s findings through the local pipeline', (vendor) => {
  const expected = EMULATED_FINDINGS[vendor];
  let h: VendorHarness;
  beforeAll(async () => {
    h = await startVendorHarness(EMULATORS[vendor]!, { static: { enabled: false } });
  });
  afterAll(async () => h?.stop());

  it('carries the family, signatures and ATT&CK ids into the verdict document and the event', async () => {
    const key = `${vendor}/findings.js`;
    const run = await h.pipeline.run(
      await h.pipeline.upload({ key, body: `// SANDTRAP-TEST-MALICIOUS inert marker\n// ${key}\n` }),
    );
    expect(run.status).toBe('SUCCEEDED');
    const event = h.pipeline.events(DETAIL_TYPE_VERDICT).find((e) => e.detail.key === key);
    const detail = SampleVerdictDetailSchema.parse(event?.detail);
    const deps = h.pipeline.deps('FinalizeFn');
    const stored = await deps.clients.s3.send(
      new GetObjectCommand({ Bucket: deps.config.reportsBucket, Key: `reports/${detail.sha256}/verdict.json` }),
    );
    const document = VerdictDocumentSchema.parse(JSON.parse(await stored.Body!.transformToString()));
    const findings = document.engineResults.find((r) => r.engine === vendor)?.findings;

    // The signatures (names as the connector reads them) in the document's engine result.
    expect(findings?.signatures.map((s) => s.name)).toEqual(expect.arrayContaining([...expected.signatures]));
    expect(findings?.hosts).toEqual(expect.arrayContaining([...expected.hosts]));
    if (expected.family) {
      // The family, as a threat of this engine, in both.
      const threat = expect.objectContaining({ engine: vendor, family: expected.family, name: expected.family });
      expect(detail.threats).toEqual(expect.arrayContaining([threat]));
      expect(document.threats).toEqual(expect.arrayContaining([threat]));
      expect(findings?.families).toContain(expected.family);
    } else {
      // WildFire names no family (its verdict is a code, its report says malware yes/no): no threat.
      expect(detail.threats.filter((t) => t.engine === vendor)).toEqual([]);
      expect(findings?.signatures.length).toBeGreaterThanOrEqual(2);
    }
    // ATT&CK ids where the vendor's report lists them (not WildFire, not FireEye classic results).
    expect(detail.attack ?? []).toEqual(expect.arrayContaining([...expected.attack]));
    expect(document.attack ?? []).toEqual(expect.arrayContaining([...expected.attack]));
    expect(findings?.attack).toEqual(expect.arrayContaining([...expected.attack]));
  });
});
