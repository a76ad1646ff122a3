import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../../../lambdas/core/config/runtime-config';
import {
  aggregate,
  bandOf,
  clampScore,
  clampToBand,
  VerdictPolicySchema,
} from '../../../../lambdas/core/contracts/scoring';
import type { EngineResult } from '../../../../lambdas/core/contracts/pipeline';
import { BAND_EDGES } from '../../../fixtures/bands';

describe('verdict policy', () => {
  const policy = parseSettings({}).policy;
  const result = (score: number | null, status: EngineResult['status'] = 'completed'): EngineResult => ({
    engine: 'cape',
    status,
    verdict: bandOf(score, policy),
    score,
  });

  it('bands scores 0–39 benign, 40–69 suspicious, 70–100 malicious', () => {
    expect(BAND_EDGES.map(([score]) => bandOf(score, policy))).toEqual(BAND_EDGES.map(([, verdict]) => verdict));
  });

  it('takes the highest score by default', () => {
    expect(aggregate([result(10), result(75), result(50)], policy)).toEqual({ verdict: 'malicious', score: 75 });
  });

  it('averages with the mean policy', () => {
    expect(aggregate([result(10), result(70)], { ...policy, method: 'mean' })).toEqual({
      verdict: 'suspicious',
      score: 40,
    });
  });

  it('is unknown, not benign, when no engine produced a score', () => {
    expect(aggregate([], policy)).toEqual({ verdict: 'unknown', score: null });
    expect(aggregate([result(null), result(90, 'timeout'), result(80, 'error')], policy)).toEqual({
      verdict: 'unknown',
      score: null,
    });
  });

  it('rejects a policy whose bands overlap', () => {
    expect(() => parseSettings({ policy: { suspiciousAt: 80, maliciousAt: 70 } })).toThrow(
      /suspiciousAt must be below maliciousAt/,
    );
  });

  it('calls a tie what the tied score is, whichever engines share it', () => {
    const tied = [result(70), { ...result(70), engine: 'joe' as const }, result(10)];
    expect(aggregate(tied, policy)).toEqual({ verdict: 'malicious', score: 70 });
    expect(aggregate([result(40), result(40)], { ...policy, method: 'mean' })).toEqual({
      verdict: 'suspicious',
      score: 40,
    });
  });

  it('rounds the mean before banding it: 39.5 is suspicious, 39.4 benign', () => {
    const mean = { ...policy, method: 'mean' as const };
    expect(aggregate([result(39), result(40)], mean)).toEqual({ verdict: 'suspicious', score: 40 });
    expect(aggregate([result(39), result(39), result(39), result(39), result(41)], mean)).toEqual({
      verdict: 'benign',
      score: 39,
    });
  });

  it('lets failed engines count for nothing, even with a score attached, in either method', () => {
    for (const method of ['max', 'mean'] as const) {
      expect(aggregate([result(20), result(95, 'failed'), result(null)], { ...policy, method })).toEqual({
        verdict: 'benign',
        score: 20,
      });
    }
  });

  it('follows custom thresholds', () => {
    const strict = { ...policy, suspiciousAt: 10, maliciousAt: 50 };
    expect([9, 10, 49, 50].map((s) => bandOf(s, strict))).toEqual(['benign', 'suspicious', 'suspicious', 'malicious']);
  });

  it('rejects policies out of range, with equal thresholds, or with unknown fields', () => {
    expect(VerdictPolicySchema.safeParse({ suspiciousAt: 50, maliciousAt: 50 }).success).toBe(false);
    expect(VerdictPolicySchema.safeParse({ maliciousAt: 101 }).success).toBe(false);
    expect(VerdictPolicySchema.safeParse({ suspiciousAt: -1 }).success).toBe(false);
    expect(VerdictPolicySchema.safeParse({ method: 'median' }).success).toBe(false);
    expect(VerdictPolicySchema.safeParse({ threshold: 50 }).success).toBe(false);
    expect(VerdictPolicySchema.parse({})).toEqual({ method: 'max', suspiciousAt: 40, maliciousAt: 70 });
  });
});

describe('score clamping', () => {
  it('clamps into 0–100 and rounds, refusing what is not a number', () => {
    expect([-5, 0, 39.5, 100, 250].map(clampScore)).toEqual([0, 0, 40, 100, 100]);
    expect(() => clampScore(Number.NaN)).toThrow(RangeError);
    expect(() => clampScore(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it("keeps a vendor's score inside the band of the verdict it named", () => {
    expect(clampToBand(95, 'suspicious')).toBe(69);
    expect(clampToBand(5, 'malicious')).toBe(70);
    expect(clampToBand(55, 'benign')).toBe(39);
    expect(clampToBand(50, 'suspicious')).toBe(50);
  });
});
