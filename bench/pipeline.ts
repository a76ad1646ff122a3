import { performance } from 'node:perf_hooks';
import { STATES } from '../lib/workflow';
import { CapeEmulator } from '../emulators/cape';
import { startVendorHarness } from '../test/support';
import type { Benchmark, Metric } from './metric';

/**
 * Transitions inside the vendor engine (its Map iteration) of one analysis. An analysis's transitions
 * are those of both workflows, and the Express front's Map has iterations of the same indexes (the
 * static engine's), so the iteration is named by its workflow too.
 */
const vendorTransitions = (transitions: { name: string; index?: number; workflow: string }[]) => {
  const submit = transitions.find((t) => t.name === STATES.submit);
  return transitions.filter(
    (t) => t.index !== undefined && t.index === submit?.index && t.workflow === submit?.workflow,
  ).length;
};

async function transitionsFor(minutes: number, naive: boolean): Promise<{ transitions: number; invocations: number }> {
  // CAPE queues 20 s, runs what we ask (180 s), then processes for the rest of the given minutes.
  const processingSeconds = Math.max(0, minutes * 60 - 200);
  const h = await startVendorHarness(
    (clock) => new CapeEmulator({ clock, queueSeconds: 20, processingSeconds }),
    naive ? { poll: { scheduleSeconds: [10], useVendorHints: false, elapsedFraction: 0, minWaitSeconds: 1 } } : {},
  );
  try {
    const run = await h.pipeline.run(
      await h.pipeline.upload({ key: `t${minutes}.bin`, body: `transitions ${minutes} ${naive}` }),
    );
    if (run.status !== 'SUCCEEDED') throw new Error(`transition run failed: ${run.error} ${run.cause}`);
    const lambdaStates = new Set<string>([
      STATES.triage,
      STATES.submit,
      STATES.poll,
      STATES.collect,
      STATES.finalize,
      STATES.checkPeer,
    ]);
    return {
      transitions: vendorTransitions(run.transitions),
      invocations: run.transitions.filter((t) => lambdaStates.has(t.name)).length,
    };
  } finally {
    await h.stop();
  }
}

/**
 * The local pipeline with an emulated CAPE: latency per verdict (fresh and cached), throughput for a
 * burst of uploads, and state transitions and Lambda invocations per analysis for vendors of
 * different speeds, beside a naive fixed 10-second polling loop.
 */
export const pipelineBenchmark: Benchmark = {
  id: 'pipeline',
  title: 'Local pipeline (emulated CAPE, virtual time)',
  async run({ quick }) {
    const metrics: Metric[] = [];
    const h = await startVendorHarness(
      (clock) => new CapeEmulator({ clock, queueSeconds: 0, processingSeconds: 0, runSeconds: 1 }),
    );
    try {
      const fresh: number[] = [];
      const cached: number[] = [];
      const samples = quick ? 10 : 30;
      for (let i = 0; i < samples; i++) {
        const body = `latency sample ${i} ${Date.now()}`;
        const event = await h.pipeline.upload({ key: `latency/${i}.txt`, body });
        let t = performance.now();
        await h.pipeline.run(event);
        fresh.push(performance.now() - t);
        // The same content uploaded again: a new upload whose verdict comes from the cache.
        const again = await h.pipeline.upload({ key: `latency/${i}-again.txt`, body });
        t = performance.now();
        await h.pipeline.run(again);
        cached.push(performance.now() - t);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
      metrics.push({ name: 'local_latency_fresh_ms', value: Math.round(median(fresh) * 10) / 10, unit: 'ms (median)' });
      metrics.push({
        name: 'local_latency_cached_ms',
        value: Math.round(median(cached) * 10) / 10,
        unit: 'ms (median)',
      });

      const uploads = quick ? 50 : 200;
      const events = await Promise.all(
        Array.from({ length: uploads }, (_, i) =>
          h.pipeline.upload({ key: `burst/${i}.txt`, body: `burst ${i} ${Date.now()}` }),
        ),
      );
      const t = performance.now();
      const runs = await Promise.all(events.map((e) => h.pipeline.run(e)));
      const seconds = (performance.now() - t) / 1000;
      const ok = runs.filter((r) => r.status === 'SUCCEEDED').length;
      metrics.push({
        name: 'local_throughput_per_min',
        value: Math.round((ok / seconds) * 60),
        unit: `verdicts/min (${uploads} uploads)`,
      });
    } finally {
      await h.stop();
    }
    for (const minutes of [1, 5, 15]) {
      const smart = await transitionsFor(minutes, false);
      const naive = await transitionsFor(minutes, true);
      metrics.push({
        name: `transitions_vendor_${minutes}min`,
        value: smart.transitions,
        unit: 'transitions',
        ...(minutes === 5 ? { target: '<= 12' } : {}),
      });
      metrics.push({ name: `naive_transitions_vendor_${minutes}min`, value: naive.transitions, unit: 'transitions' });
      metrics.push({ name: `lambda_invocations_vendor_${minutes}min`, value: smart.invocations, unit: 'invocations' });
    }
    return metrics;
  },
};
