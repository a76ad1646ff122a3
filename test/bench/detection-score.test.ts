import { describe, expect, it } from 'vitest';
import { type CorpusEntry, CorpusEntrySchema } from '../../bench/detection-corpus';
import {
  detectionMetrics,
  outcomeOfFailure,
  type RaisedIndicator,
  type SampleOutcome,
  scoreDetection,
  scoreSample,
  verdictInBand,
} from '../../bench/detection-score';
import { sampleTable } from '../../bench/detection-table';
import { meetsTarget } from '../../bench/metric';

/** The detection metrics on hand-made outcomes, where every number can be worked out by hand. */

const entry = (input: Record<string, unknown>): CorpusEntry => CorpusEntrySchema.parse(input);

const cron = entry({
  file: 'techniques/persistence-crontab.sh',
  keys: ['persistence'],
  techniques: ['T1053.003'],
  verdict: 'suspicious',
});
const decode = entry({
  file: 'techniques/evasion-decode-base64-sh.sh',
  keys: ['evasion', 'execution'],
  techniques: ['T1140', 'T1059.004'],
  incidental: ['T1027.010'],
  verdict: 'suspicious',
});
const rotate = entry({ file: 'benign/rotate-logs.sh', keys: [], techniques: [], verdict: 'benign' });
const backup = entry({ file: 'benign/backup-directory.sh', keys: [], techniques: [], verdict: 'benign' });

const indicator = (key: RaisedIndicator['key'], severity: RaisedIndicator['severity'], ...attack: string[]) => ({
  key,
  id: `${key}.rule-${attack.join('-').toLowerCase() || 'none'}`,
  severity,
  attack,
});
const outcome = (verdict: SampleOutcome['verdict'], ...indicators: RaisedIndicator[]): SampleOutcome => ({
  verdict,
  indicators,
  endReason: 'exited',
  timedOut: false,
});

describe('scoring one sample', () => {
  it('finds an expected technique only by its exact id: a parent technique does not match a sub-technique', () => {
    const score = scoreSample(cron, outcome('suspicious', indicator('persistence', 'medium', 'T1053')));
    expect(score.missingTechniques).toEqual(['T1053.003']);
    expect(score.unexpected).toEqual(['T1053']);
    expect(score.missingKeys).toEqual([]);
  });

  it('counts an unexpected low-severity id against nothing, and an expected one as correct', () => {
    const score = scoreSample(
      decode,
      outcome(
        'suspicious',
        indicator('execution', 'medium', 'T1140', 'T1027.010'),
        indicator('dataHarvesting', 'low', 'T1057'),
        indicator('execution', 'low', 'T1059.004'),
      ),
    );
    expect(score.correct).toEqual(['T1027.010', 'T1059.004', 'T1140']);
    expect(score.unexpected).toEqual([]);
    expect(score.raised).toEqual(['T1027.010', 'T1057', 'T1059.004', 'T1140']);
    expect(score.missingKeys).toEqual(['evasion']);
  });

  it('places verdicts in bands: benign exactly, suspicious at least', () => {
    expect(verdictInBand('benign', 'benign')).toBe(true);
    expect(verdictInBand('benign', 'suspicious')).toBe(false);
    expect(verdictInBand('suspicious', 'malicious')).toBe(true);
    expect(verdictInBand('suspicious', 'benign')).toBe(false);
    expect(verdictInBand('malicious', 'suspicious')).toBe(false);
    expect(verdictInBand('suspicious', 'unknown')).toBe(false);
  });

  it('calls a run ended by the deadline, or not made at all, incomplete; the idle timer is a normal end', () => {
    expect(scoreSample(rotate, { ...outcome('benign'), endReason: 'idle' }).incomplete).toBe(false);
    expect(scoreSample(rotate, { ...outcome('benign'), endReason: 'timeout', timedOut: true }).incomplete).toBe(true);
    expect(scoreSample(rotate, { ...outcome('benign'), endReason: 'limit' }).incomplete).toBe(false);
    const failed = scoreSample(cron, outcomeOfFailure(new Error('no report uploaded')));
    expect(failed).toMatchObject({ incomplete: true, verdict: 'unknown', error: 'no report uploaded' });
  });
});

describe('scoring the corpus', () => {
  // cron: key found, technique missed (parent id raised, counted unexpected), verdict in band.
  // decode: evasion key missed, execution found; T1140 found, T1059.004 found through a low
  //   indicator; counted ids T1140, T1027.010 (incidental), T1059.004, plus an unexpected T1105.
  // rotate: benign, judged benign. backup: benign, judged suspicious (a false positive).
  const runs = [
    { entry: cron, outcome: outcome('suspicious', indicator('persistence', 'high', 'T1053')) },
    {
      entry: decode,
      outcome: outcome(
        'malicious',
        indicator('execution', 'medium', 'T1140', 'T1027.010'),
        indicator('execution', 'low', 'T1059.004'),
        indicator('network', 'high', 'T1105'),
      ),
    },
    { entry: rotate, outcome: outcome('benign', indicator('dataHarvesting', 'low', 'T1057')) },
    {
      entry: backup,
      outcome: { ...outcome('suspicious', indicator('destructive', 'medium', 'T1485')), endReason: 'timeout' as const },
    },
  ];
  const score = scoreDetection(runs);

  it('computes key recall over the technique samples: 2 of 3 expected keys', () => {
    expect(score.keyRecall).toBeCloseTo(2 / 3, 10);
  });

  it('computes technique recall: 2 of 3 expected ids', () => {
    expect(score.techniqueRecall).toBeCloseTo(2 / 3, 10);
  });

  it('computes technique precision over the technique samples: 3 of 5 counted ids were expected', () => {
    // Counted: T1053 (unexpected), T1140, T1027.010, T1059.004 (right), T1105 (unexpected). The
    // benign samples' ids do not enter precision: their cost is the false-positive rate.
    expect(score.techniquePrecision).toBeCloseTo(3 / 5, 10);
  });

  it('computes the benign false-positive rate: 1 of 2 benign samples not judged benign', () => {
    expect(score.benignFalsePositiveRate).toBe(0.5);
  });

  it('computes verdict accuracy over all samples: 3 of 4 in band', () => {
    expect(score.verdictAccuracy).toBe(0.75);
  });

  it('counts incomplete samples', () => {
    expect(score.incomplete).toBe(1);
  });

  it('reports the stable metric names with the acceptance targets', () => {
    const metrics = detectionMetrics(score, 83.26);
    expect(metrics.map((m) => [m.name, m.value, m.target])).toEqual([
      ['detection_key_recall', 0.6667, '>= 0.95'],
      ['detection_technique_recall', 0.6667, '>= 0.9'],
      ['detection_technique_precision', 0.6, '>= 0.9'],
      ['detection_benign_fp_rate', 0.5, '<= 0.05'],
      ['detection_verdict_accuracy', 0.75, '>= 0.95'],
      ['detection_samples_timed_out', 1, '<= 0'],
      ['detection_wall_s', 83.3, undefined],
    ]);
    expect(metrics.filter((m) => m.target).every((m) => !meetsTarget(m))).toBe(true);
  });

  it('meets every target on a perfect run', () => {
    const perfect = scoreDetection([
      { entry: cron, outcome: outcome('malicious', indicator('persistence', 'high', 'T1053.003')) },
      {
        entry: decode,
        outcome: outcome(
          'suspicious',
          indicator('evasion', 'medium', 'T1140'),
          indicator('execution', 'medium', 'T1059.004'),
        ),
      },
      { entry: rotate, outcome: outcome('benign', indicator('dataHarvesting', 'low', 'T1057')) },
      { entry: backup, outcome: outcome('benign') },
    ]);
    expect(detectionMetrics(perfect, 1).every(meetsTarget)).toBe(true);
  });

  it('meets no ratio target when nothing was raised', () => {
    const silent = scoreDetection([{ entry: cron, outcome: outcome('benign') }]);
    expect(silent.techniquePrecision).toBe(0);
    expect(silent.techniqueRecall).toBe(0);
  });
});

describe('the per-sample table', () => {
  it('shows what each sample expected and raised, what is missing and what was not expected', () => {
    const table = sampleTable(
      scoreDetection([
        { entry: cron, outcome: outcome('suspicious', indicator('persistence', 'high', 'T1053')) },
        { entry: rotate, outcome: { ...outcomeOfFailure(new Error('no report | uploaded')) } },
      ]),
    ).split('\n');
    expect(table).toEqual([
      '| sample | expected | raised | verdict | missing | unexpected |',
      '| --- | --- | --- | --- | --- | --- |',
      '| techniques/persistence-crontab.sh | key:persistence T1053.003 | T1053 | suspicious | T1053.003 | T1053 |',
      '| benign/rotate-logs.sh | - | - | unknown (want benign) [incomplete: no report \\| uploaded] | - | - |',
    ]);
  });
});
