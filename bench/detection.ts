import { performance } from 'node:perf_hooks';
import type { AgentConfigInput } from '../lambdas/core/contracts/agent-config';
import type { DetonationReport } from '../lambdas/core/contracts/detonation-report';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { Detonator } from '../local/detonation/detonator';
import { selectDetonator } from '../local/detonation/select';
import { inParallel, PresignedStandIn, SAMPLES } from '../test/detonation/harness';
import { detonateThrough } from '../test/redteam/harness';
import { CORPUS_DIRECTORY, type CorpusEntry, loadCorpus } from './detection-corpus';
import {
  type DetectionScore,
  detectionMetrics,
  outcomeOfFailure,
  outcomeOfReport,
  scoreDetection,
} from './detection-score';
import { sampleTable } from './detection-table';
import type { Benchmark } from './metric';

/**
 * Detonates every sample of the detection corpus (`samples/detection/`) for real, through the host
 * detonator `sandtrap analyze` uses (the agent in its namespace box, where the victim's stand-in
 * tools are on the PATH as in the image) with the tests' presigned-URL stand-in, two at a time (the
 * machine has two cores and strace wants one), and scores what was raised against the manifest. The per-sample
 * table goes to stderr so that misses can be worked on; the metrics go to the results.
 */

/**
 * The run settings: long enough for a build to finish, with an idle timer that ends a sample
 * which stopped doing anything (a corpus sample should never need it).
 */
export const CORPUS_RUN_CONFIG: AgentConfigInput = { timeout: 30, idle_timeout: 10, sample_interval: 0.25 };

/** Detonations at a time. */
const PARALLEL = 2;

/** A corpus run: the score, the whole run's wall time, and each detonation's own seconds. */
export interface CorpusRun {
  score: DetectionScore;
  wallSeconds: number;
  sampleSeconds: number[];
}

/** One detonated sample file: its report, or why there is none; and the seconds its detonation took. */
export type DetonatedSample = ({ report: DetonationReport } | { error: unknown }) & {
  seconds: number;
};

/**
 * Detonates sample files (paths under `samples/`) through a detonator, `parallel` at a time, with the
 * corpus run's settings and the tests' presigned-URL stand-in; results in the files' order.
 */
export async function detonateSamples(
  detonator: Detonator,
  files: readonly string[],
  parallel: number,
): Promise<{ samples: DetonatedSample[]; wallSeconds: number }> {
  const s3 = new PresignedStandIn();
  await s3.start();
  const start = performance.now();
  try {
    const samples = await inParallel(files, parallel, async (file): Promise<DetonatedSample> => {
      const began = performance.now();
      const seconds = () => (performance.now() - began) / 1000;
      try {
        const sample = { name: posix.basename(file), body: readFileSync(`${SAMPLES}${file}`) };
        const { report } = await detonateThrough(detonator, s3, sample, CORPUS_RUN_CONFIG);
        return { report, seconds: seconds() };
      } catch (error) {
        return { error, seconds: seconds() };
      }
    });
    return { samples, wallSeconds: (performance.now() - start) / 1000 };
  } finally {
    await s3.stop();
  }
}

/** Detonates the corpus entries through a detonator, `parallel` at a time, and scores them against the manifest. */
export async function detonateCorpus(
  detonator: Detonator,
  entries: readonly CorpusEntry[],
  parallel: number,
): Promise<CorpusRun> {
  const { samples, wallSeconds } = await detonateSamples(
    detonator,
    entries.map((entry) => `${CORPUS_DIRECTORY}/${entry.file}`),
    parallel,
  );
  const score = scoreDetection(
    entries.map((entry, i) => {
      const sample = samples[i] as DetonatedSample;
      return {
        entry,
        outcome: 'report' in sample ? outcomeOfReport(sample.report) : outcomeOfFailure(sample.error),
      };
    }),
  );
  return { score, wallSeconds, sampleSeconds: samples.map((sample) => sample.seconds) };
}

/** The benchmark `bench/run.ts` runs (`--detection` alone); the whole corpus takes a few minutes. */
export const detectionBenchmark: Benchmark = {
  id: 'detection',
  title: 'Detection corpus (samples/detection: techniques and benign scripts, detonated)',
  async run() {
    const selection = selectDetonator('host');
    if (!selection.detonator) throw new Error(`the detection benchmark needs the host detonator: ${selection.reason}`);
    const { score, wallSeconds } = await detonateCorpus(selection.detonator, loadCorpus().samples, PARALLEL);
    process.stderr.write(`${sampleTable(score)}\n`);
    return detectionMetrics(score, wallSeconds);
  },
};
