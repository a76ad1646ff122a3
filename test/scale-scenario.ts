import {
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_VERDICT,
  type SampleVerdictDetail,
  SampleVerdictDetailSchema,
} from '../lambdas/core/contracts/pipeline';
import { CapeEmulator } from '../emulators/cape';
import { STATES } from '../lib/workflow';
import { type ExecutionReport, historyEventsOf, type LocalPipelineOptions } from '../local/runtime';
import { standInDetonator } from './stand-in-detonator';
import { startVendorHarness, type VendorHarness } from './support';

/** The scale scenario's limits: a vendor's rate and daily quota, and the detonation task slots. */
export const SCALE_LIMITS = { perMinute: 30, taskSlots: 3, detonations: 50 } as const;

/** The failure path's first states: the state before them is the one that failed. */
const FAILURE_PATH: ReadonlySet<string> = new Set([STATES.engineFailed, STATES.recordFailure]);

/** Failed executions counted by `error: cause (at the state that failed)`, to tell a scale failure's causes apart. */
export function failuresOf(runs: readonly ExecutionReport[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const run of runs) {
    if (run.status === 'SUCCEEDED') continue;
    const entered = run.transitions.findIndex((t) => FAILURE_PATH.has(t.name));
    const failedAt = run.transitions[entered > 0 ? entered - 1 : run.transitions.length - 1]?.name ?? 'start';
    const key = `${run.error}: ${(run.cause ?? '').slice(0, 120)} (at ${failedAt})`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** What one run of the scenario left behind, for the test's assertions and the benchmark's numbers. */
export interface ScaleOutcome {
  harness: VendorHarness<CapeEmulator>;
  uploads: number;
  perDay: number;
  runs: ExecutionReport[];
  verdicts: SampleVerdictDetail[];
  failedEvents: number;
  /** Executions that did not succeed, counted by error, cause and the state before the failure path. */
  failures: Record<string, number>;
  maxTransitions: number;
  maxHistoryEvents: number;
  realSeconds: number;
}

/**
 * `uploads` script uploads for a vendor allowing 30 requests a minute and a quarter of the uploads a
 * day (four days of queue, whatever the count), and 50 shell uploads for our detonation against 3
 * task slots on a Fargate that refuses a fourth task, all at once on the virtual clock. `options`
 * go to the local pipeline (a benchmark's timing hooks).
 */
export async function runScaleScenario(
  uploads: number,
  options: Partial<LocalPipelineOptions> = {},
): Promise<ScaleOutcome> {
  const started = Date.now();
  const perDay = Math.ceil(uploads / 4);
  const { perMinute, taskSlots, detonations } = SCALE_LIMITS;
  const harness = await startVendorHarness(
    (clock) =>
      new CapeEmulator({
        clock,
        token: 't',
        requestsPerMinute: perMinute,
        queueSeconds: 5,
        processingSeconds: 10,
        runSeconds: 30,
      }),
    {
      // The queues are under test: the static engine (tested on its own) is off.
      static: { enabled: false },
      detonation: { maxConcurrentTasks: taskSlots, fileTypes: ['script-sh'], agent: { timeout: 60 } },
    },
    { detonator: standInDetonator, fargateTaskCapacity: taskSlots, ...options },
    {
      requestsPerMinute: perMinute,
      submissionsPerDay: perDay,
      whenDailyQuotaSpent: 'wait',
      // Four days of submissions: the queue may be that long.
      maxQueueSeconds: 5 * 86_400,
      fileTypes: ['script-js'],
      requestTimeoutMs: 60_000,
    },
  );
  const vendorUploads = Array.from({ length: uploads }, (_, i) =>
    harness.pipeline.upload({
      key: `scale/${i}.js`,
      body: `// upload ${i}${i % 10 === 0 ? ' SANDTRAP-TEST-MALICIOUS' : ''}\n`,
    }),
  );
  const detonationUploads = Array.from({ length: detonations }, (_, i) =>
    harness.pipeline.upload({ key: `scale/${i}.sh`, body: `#!/bin/sh\n# detonation ${i}\necho hello\n` }),
  );
  const events = await Promise.all([...vendorUploads, ...detonationUploads]);
  const runs = await Promise.all(events.map((event) => harness.pipeline.run(event)));
  const verdicts = harness.pipeline.events(DETAIL_TYPE_VERDICT).map((e) => SampleVerdictDetailSchema.parse(e.detail));
  return {
    harness,
    uploads,
    perDay,
    runs,
    verdicts,
    failedEvents: harness.pipeline.events(DETAIL_TYPE_FAILED).length,
    failures: failuresOf(runs),
    maxTransitions: Math.max(...runs.map((r) => r.transitions.length)),
    maxHistoryEvents: Math.max(...runs.map((r) => historyEventsOf(r.transitions))),
    realSeconds: (Date.now() - started) / 1000,
  };
}
