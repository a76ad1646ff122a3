import { availableParallelism } from 'node:os';
import type { Detonator } from '../local/detonation/detonator';
import { detonateInContainer } from '../local/detonation/docker-detonator';
import { ensureDetonationImage } from '../local/detonation/image';
import { selectDetonator } from '../local/detonation/select';
import { DETONATION_TASK_SETTINGS } from '../lib/detonation-task';
import { loadCorpus } from './detection-corpus';
import { detectionMetrics } from './detection-score';
import { sampleTable } from './detection-table';
import { type DetonatedSample, detonateCorpus, detonateSamples } from './detection';
import { meetsTarget, type Benchmark, type Metric } from './metric';

/**
 * Which detonation task sizes still do the job: the detection corpus detonated in the detonation
 * image under Docker with each size's CPU and memory limits (the settings the Fargate task
 * definition gets), scored as the detection benchmark scores it, and the edge samples below. A size
 * *completes the suite* when every corpus sample ends by itself with a report, the detection
 * benchmark's targets hold (technique recall, precision, key recall, benign false positives, verdict
 * accuracy), and every edge sample gets its report. The cost benchmark prices a task size as a
 * candidate only when it completed the suite here.
 *
 * Only x86_64 can be measured on this machine; arm64 sizes stay unverified (the cost table says so).
 */

/** A Fargate task size (a valid CPU and memory pair) measured here, named as the cost model names it. */
export interface MeasuredTaskSize {
  id: string;
  cpu: number;
  memoryLimitMiB: number;
}

/** The default size and the smaller valid Fargate pairs under it, largest first. */
export const MEASURED_TASK_SIZES: readonly MeasuredTaskSize[] = [
  { id: 'x86_2vcpu_4gb', cpu: DETONATION_TASK_SETTINGS.cpu, memoryLimitMiB: DETONATION_TASK_SETTINGS.memoryLimitMiB },
  { id: 'x86_1vcpu_2gb', cpu: 1024, memoryLimitMiB: 2048 },
  { id: 'x86_half_vcpu_1gb', cpu: 512, memoryLimitMiB: 1024 },
  { id: 'x86_quarter_vcpu_512mb', cpu: 256, memoryLimitMiB: 512 },
];

/**
 * Samples that push a task to its edges within the agent's default limits (the deployed
 * configuration's): memory held just under the whole-sample limit, a fork storm, a write over the
 * file size limit, twenty thousand files. Each must end with the agent's report: a task too small
 * to hold the sample beside the agent loses the agent (the kernel's OOM killer), and the analysis
 * its detonation.
 */
export const EDGE_SAMPLES = [
  'limits/near_memory_limit.py',
  'limits/fork_storm.py',
  'limits/oversize_write.py',
  'limits/many_small_files.py',
] as const;

/**
 * The edge samples through a detonator, one at a time, with the corpus run's settings (its deadline
 * and idle timer, and the deployed defaults for memory, disk, CPU and processes): the names of those
 * that ended without a completed report.
 */
async function edgeFailures(detonator: Detonator): Promise<string[]> {
  const { samples } = await detonateSamples(detonator, EDGE_SAMPLES, 1);
  return EDGE_SAMPLES.flatMap((file, i) => {
    const sample = samples[i] as DetonatedSample;
    if (!('report' in sample)) return [`${file} (${(sample.error as Error).message})`];
    return sample.report.status === 'completed'
      ? []
      : [`${file} (${sample.report.status}: ${sample.report.error ?? ''})`];
  });
}

/** The metric that says whether a size completed the suite (1) or not (0). */
export const suiteCompleteMetric = (id: string) => `task_size_${id}_suite_complete`;

/** The Docker detonator, with a task size's CPU and memory instead of the default's. */
function sizedDetonator(size: MeasuredTaskSize): Detonator {
  return {
    kind: 'docker',
    async run(env) {
      const image = await ensureDetonationImage();
      return detonateInContainer(env, image, {
        ...DETONATION_TASK_SETTINGS,
        cpu: size.cpu,
        memoryLimitMiB: size.memoryLimitMiB,
      });
    },
  };
}

/**
 * Containers at a time for a size: as many as the machine's cores hold without sharing, so that a
 * two-vCPU task gets its two cores as on Fargate (never more than two at once, as in the detection
 * benchmark).
 */
function parallelFor(size: MeasuredTaskSize): number {
  return Math.max(1, Math.min(2, Math.floor(availableParallelism() / (size.cpu / 1024))));
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
};
const tenths = (x: number) => Math.round(x * 10) / 10;

/** `npm run bench -- --task-sizes`; the whole corpus at four sizes takes a quarter of an hour (`--quick`: 12 samples each). */
export const taskSizeBenchmark: Benchmark = {
  id: 'task-sizes',
  title: 'Detonation task sizes (the detection corpus in the detonation image under each size’s CPU and memory)',
  async run({ quick }) {
    const docker = selectDetonator('docker');
    if (!docker.detonator) throw new Error(`the task-size benchmark needs Docker: ${docker.reason}`);
    const corpus = loadCorpus().samples;
    const entries = quick ? corpus.filter((_, i) => i % Math.ceil(corpus.length / 12) === 0) : corpus;
    const metrics: Metric[] = [];
    for (const size of MEASURED_TASK_SIZES) {
      const parallel = parallelFor(size);
      const run = await detonateCorpus(sizedDetonator(size), entries, parallel);
      process.stderr.write(`task size ${size.id}:\n${sampleTable(run.score)}\n`);
      const detection = detectionMetrics(run.score, run.wallSeconds);
      const edges = await edgeFailures(sizedDetonator(size));
      if (edges.length > 0)
        process.stderr.write(`task size ${size.id}: edge samples without a report: ${edges.join('; ')}\n`);
      const failed = [
        ...detection.filter((m) => !meetsTarget(m)).map((m) => m.name.replace(/^detection_/, '')),
        ...(run.score.samples.some((s) => s.error) ? ['a detonation failed'] : []),
        ...(edges.length > 0 ? [`edge samples without a report: ${edges.map((e) => e.split(' ')[0]).join(', ')}`] : []),
      ];
      const complete = failed.length === 0;
      const value = (name: string) => detection.find((m) => m.name === name)?.value ?? 0;
      metrics.push(
        {
          name: suiteCompleteMetric(size.id),
          value: complete ? 1 : 0,
          unit: `1 when all ${entries.length} corpus samples ended by themselves, the detection targets held and the ${EDGE_SAMPLES.length} edge samples got their report${complete ? '' : ` (missed: ${failed.join('; ')})`}`,
        },
        {
          name: `task_size_${size.id}_technique_recall`,
          value: value('detection_technique_recall'),
          unit: `ratio (${size.cpu / 1024} vCPU, ${size.memoryLimitMiB} MiB)`,
        },
        {
          name: `task_size_${size.id}_verdict_accuracy`,
          value: value('detection_verdict_accuracy'),
          unit: `ratio (${entries.length} samples in their expected verdict band)`,
        },
        {
          name: `task_size_${size.id}_samples_incomplete`,
          value: run.score.incomplete,
          unit: 'samples (ended by the deadline, or no report)',
        },
        {
          name: `task_size_${size.id}_median_sample_s`,
          value: tenths(median(run.sampleSeconds)),
          unit: `s per detonation, container start to report (${parallel} at a time)`,
        },
      );
    }
    return metrics;
  },
};
