import { describe, expect, it } from 'vitest';
import { BEHAVIOR_KEYS, type Behavior } from '../../../../lambdas/core/contracts/detonation-report';
import { extractIocs } from '../../../../lambdas/core/indicators';
import { recommendationsOf } from '../../../../lambdas/core/report/recommendations';
import type { HtmlReportInput } from '../../../../lambdas/core/report/html-report';
import {
  benignTriageOnly,
  detonatedDropper,
  multiVendorMalicious,
  staticOnly,
} from '../../../fixtures/reports/documents';

function recommend(input: HtmlReportInput, overrides: Partial<HtmlReportInput['document']> = {}) {
  const document = { ...input.document, ...overrides };
  return recommendationsOf(document, input.detonation?.behavior ?? null, extractIocs(document, input.detonation));
}

const ids = (input: HtmlReportInput, overrides: Partial<HtmlReportInput['document']> = {}) =>
  recommend(input, overrides).map((r) => r.id);

describe('recommendations', () => {
  it('tell a malicious verdict to quarantine, block, hunt and rotate the credentials it read', () => {
    const recs = recommend(detonatedDropper());
    expect(recs.map((r) => r.id)).toEqual([
      'quarantine',
      'block-hashes',
      'block-network',
      'hunt',
      'rotate-credentials',
      'check-persistence',
      'check-damage',
      'check-mining',
      'logs-tampered',
    ]);
    const rotate = recs.find((r) => r.id === 'rotate-credentials');
    // The detonation's indicators say which credentials were read (T1552.004: SSH keys).
    expect(rotate?.items.join(' ')).toMatch(/SSH/i);
    expect(recs.find((r) => r.id === 'block-hashes')?.items).toEqual([detonatedDropper().document.sha256]);
    expect(recs.find((r) => r.id === 'block-network')?.items).toContain('pool.supportxmr.com');
  });

  it('rotate credentials on a vendor naming a credential-theft technique, without a detonation', () => {
    // Falcon's findings name T1555.003 (credentials from web browsers).
    expect(ids(multiVendorMalicious())).toContain('rotate-credentials');
  });

  it('say where a quarantined file went', () => {
    const recs = recommend(detonatedDropper(), {
      quarantinedTo: { bucket: 'quarantine-1', key: 'q/update.sh', versionId: null },
    });
    expect(recs[0]?.detail).toContain('s3://quarantine-1/q/update.sh');
  });

  it('never tell a benign verdict to quarantine, block or rotate anything', () => {
    const benign = benignTriageOnly();
    const recs = ids(benign, { verdict: 'benign', score: 5 });
    expect(recs).toEqual(['no-action']);
    // Even when the run showed behaviour, a benign verdict keeps its hands off.
    const quietDropper = ids(detonatedDropper(), { verdict: 'benign', score: 10 });
    expect(quietDropper).not.toContain('quarantine');
    expect(quietDropper).not.toContain('rotate-credentials');
  });

  it('hold a suspicious file for review rather than quarantine it', () => {
    const recs = ids(detonatedDropper(), { verdict: 'suspicious', score: 55 });
    expect(recs[0]).toBe('hold');
    expect(recs).not.toContain('quarantine');
  });

  it('ask for a second opinion on an unknown verdict and for a run on a static-only one', () => {
    expect(ids(benignTriageOnly())).toEqual(['second-opinion']);
    const staticRecs = ids(staticOnly());
    expect(staticRecs).toContain('quarantine');
    expect(staticRecs.at(-1)).toBe('second-opinion');
  });

  it('rotate nothing when no credential was read', () => {
    const input = detonatedDropper();
    const behavior = Object.fromEntries(
      BEHAVIOR_KEYS.map((k) => [k, k === 'dataHarvesting' ? [] : input.detonation!.behavior[k]]),
    ) as Behavior;
    const recs = recommendationsOf(input.document, behavior, extractIocs(input.document, input.detonation));
    expect(recs.map((r) => r.id)).not.toContain('rotate-credentials');
  });
});
