import { beforeAll, describe, expect, it } from 'vitest';
import { emptyBehavior, scoreBehavior } from '../../container/agent/report';
import { BEHAVIOR_KEYS, type Indicator, type Severity } from '../../lambdas/core/contracts/detonation-report';
import { bandOf } from '../../lambdas/core/contracts/scoring';
import { ensureVenv, python } from './engine';

/**
 * The static engine scores its findings with the detonation engine's formula (score.py is a port
 * of `scoreBehavior`), so that a static 70 and a detonation 70 mean the same to the verdict policy.
 * Both are run over one table of generated finding sets: Python once, with every case on stdin.
 */

const SEVERITIES: Severity[] = ['low', 'medium', 'high', 'critical'];

interface StaticFinding {
  category: (typeof BEHAVIOR_KEYS)[number];
  severity: Severity;
}

/** mulberry32: a small seeded generator, so the table is the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generated(count: number, seed: number): StaticFinding[][] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  return Array.from({ length: count }, (_, index) => {
    // Few categories in some cases, so that several findings share one (the half-weight rule).
    const categories = BEHAVIOR_KEYS.slice(0, 1 + (index % BEHAVIOR_KEYS.length));
    return Array.from({ length: Math.floor(next() * 9) }, () => ({
      category: pick(categories),
      severity: pick(SEVERITIES),
    }));
  });
}

/** Hand-picked sets whose scores the formula's documentation states. */
const KNOWN: { findings: StaticFinding[]; score: number }[] = [
  { findings: [], score: 0 },
  { findings: [{ category: 'execution', severity: 'critical' }], score: 90 },
  { findings: [{ category: 'network', severity: 'medium' }], score: 45 },
  {
    findings: [
      { category: 'network', severity: 'medium' },
      { category: 'execution', severity: 'high' },
    ],
    score: 78,
  },
  {
    findings: Array.from({ length: 12 }, () => ({ category: 'evasion' as const, severity: 'low' as const })),
    score: 30,
  },
];

const CASES: StaticFinding[][] = [...KNOWN.map((k) => k.findings), ...generated(40, 20_240_601)];

function detonationScore(findings: StaticFinding[]): number {
  const behavior = emptyBehavior();
  findings.forEach((finding, index) => {
    const indicator: Indicator = {
      id: `${finding.category}.generated-${index}`,
      title: 'generated',
      severity: finding.severity,
      attack: [],
      evidence: ['generated'],
      occurrences: 1,
      truncated: false,
    };
    behavior[finding.category].push(indicator);
  });
  return scoreBehavior(behavior);
}

const SCORE_ALL = `
import json, sys
from sandtrap_static.score import score
print(json.dumps([score(case) for case in json.load(sys.stdin)]))
`;

let pythonScores: number[];

beforeAll(() => {
  ensureVenv();
  // The Python side gets full findings, as analyze() reports them.
  const cases = CASES.map((findings) =>
    findings.map((f, i) => ({ id: `x.${i}`, title: 't', evidence: [], attack: [], path: null, ...f })),
  );
  pythonScores = JSON.parse(python(SCORE_ALL, [], JSON.stringify(cases))) as number[];
}, 420_000);

describe('score() and scoreBehavior agree', () => {
  it('on a table of generated finding sets (0–8 findings, all severities, shared categories)', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    // The table exercises what it should: every severity, and a category holding several findings.
    const all = CASES.flat();
    expect(new Set(all.map((f) => f.severity))).toEqual(new Set(SEVERITIES));
    expect(CASES.some((c) => c.filter((f) => f.category === c[0]?.category).length >= 3)).toBe(true);
    expect(pythonScores).toEqual(CASES.map(detonationScore));
  });

  it('on the documented scores', () => {
    KNOWN.forEach((known, index) => {
      expect(pythonScores[index]).toBe(known.score);
      expect(detonationScore(known.findings)).toBe(known.score);
    });
  });
});

describe('verdict_of', () => {
  const EDGES: [number, number, number][] = [
    [0, 40, 70],
    [39, 40, 70],
    [40, 40, 70],
    [69, 40, 70],
    [70, 40, 70],
    [100, 40, 70],
    [49, 50, 80],
    [50, 50, 80],
    [79, 50, 80],
    [80, 50, 80],
  ];

  it('places the band edges as the pipeline does (bandOf), with the defaults 40 and 70', () => {
    const out = python(
      `
import json, sys
from sandtrap_static.score import verdict_of
edges = json.loads(sys.argv[1])
print(json.dumps({
    "custom": [verdict_of(s, a, b) for s, a, b in edges],
    "defaults": [verdict_of(s) for s, _a, _b in edges[:6]],
    "none": verdict_of(None),
}))
`,
      [JSON.stringify(EDGES)],
    );
    const expected = EDGES.map(([score, suspiciousAt, maliciousAt]) => bandOf(score, { suspiciousAt, maliciousAt }));
    expect(expected).toEqual([
      'benign',
      'benign',
      'suspicious',
      'suspicious',
      'malicious',
      'malicious',
      'benign',
      'suspicious',
      'suspicious',
      'malicious',
    ]);
    expect(JSON.parse(out)).toEqual({ custom: expected, defaults: expected.slice(0, 6), none: 'unknown' });
  });
});
