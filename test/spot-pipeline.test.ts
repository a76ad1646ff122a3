import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DETAIL_TYPE_VERDICT,
  type SampleVerdictDetail,
  SampleVerdictDetailSchema,
} from '../lambdas/core/contracts/pipeline';
import type { SandtrapConfigInput } from '../lib/config';
import { STATES } from '../lib/workflow';
import { type ExecutionReport, LocalPipeline, type LocalPipelineOptions } from '../local/runtime';
import { BREAKS_THE_AGENT, standInDetonator } from './stand-in-detonator';

/** Our detonation alone (the static engine is tested on its own), on Fargate Spot. */
const SPOT: SandtrapConfigInput = {
  detonationTask: { capacity: 'spot' },
  settings: { static: { enabled: false }, detonation: { fileTypes: ['script-sh'], agent: { timeout: 60 } } },
};

function startSpotPipeline(options: Partial<LocalPipelineOptions>): Promise<LocalPipeline> {
  return LocalPipeline.start({
    config: SPOT,
    virtualTime: true,
    cachePlan: false,
    detonator: standInDetonator,
    ...options,
  });
}

/** Runs one shell upload of this body; its run, the states of the detonation it entered, and its verdict. */
async function analyse(
  pipeline: LocalPipeline,
  key: string,
  body: string,
): Promise<{ run: ExecutionReport; states: string[]; detail: SampleVerdictDetail }> {
  const run = await pipeline.run(await pipeline.upload({ key, body: `#!/bin/sh\n${body}\n` }));
  const detonation: string[] = [
    STATES.runDetonation,
    STATES.prepareDetonationOnDemand,
    STATES.runDetonationOnDemand,
    STATES.collectDetonation,
    STATES.engineFailed,
  ];
  const states = run.transitions.map((t) => t.name).filter((name) => detonation.includes(name));
  const detail = SampleVerdictDetailSchema.parse(pipeline.events(DETAIL_TYPE_VERDICT).at(-1)?.detail);
  expect(detail.key).toBe(key);
  return { run, states, detail };
}

/** How the counters moved while `work` ran. */
async function counted<T>(pipeline: LocalPipeline, work: () => Promise<T>) {
  const before = { ...pipeline.fargate };
  const result = await work();
  const after = pipeline.fargate;
  return {
    result,
    moved: {
      spotStarted: after.spotStarted - before.spotStarted,
      spotInterrupted: after.spotInterrupted - before.spotInterrupted,
      spotRefused: after.spotRefused - before.spotRefused,
      onDemandStarted: after.onDemandStarted - before.onDemandStarted,
    },
  };
}

describe('the detonation on Fargate Spot, through the local state machine', () => {
  describe('with Spot capacity, the first Spot task interrupted', () => {
    let pipeline: LocalPipeline;
    beforeAll(async () => {
      pipeline = await startSpotPipeline({ spotInterruptions: 1 });
    });
    afterAll(async () => pipeline?.stop());

    it('runs an interrupted detonation again on-demand, completes the engine and publishes the verdict', async () => {
      const { result, moved } = await counted(pipeline, () =>
        analyse(pipeline, 'spot/interrupted.sh', '# interrupted on Spot\necho hello'),
      );
      expect(result.run.status).toBe('SUCCEEDED');
      expect(result.states).toEqual([
        STATES.runDetonation,
        STATES.prepareDetonationOnDemand,
        STATES.runDetonationOnDemand,
        STATES.collectDetonation,
      ]);
      // The on-demand run's report passed Collect: the job and the turn survived the Spot attempt.
      expect(result.detail.engines).toEqual([
        expect.objectContaining({ engine: 'detonation', status: 'completed', verdict: 'malicious' }),
      ]);
      expect(moved).toEqual({ spotStarted: 1, spotInterrupted: 1, spotRefused: 0, onDemandStarted: 1 });
    }, 120_000);

    it('completes a detonation on Spot when Spot keeps the task, starting nothing on-demand', async () => {
      const { result, moved } = await counted(pipeline, () =>
        analyse(pipeline, 'spot/kept.sh', '# kept on Spot\necho hello'),
      );
      expect(result.run.status).toBe('SUCCEEDED');
      expect(result.states).toEqual([STATES.runDetonation, STATES.collectDetonation]);
      expect(result.detail.engines).toEqual([expect.objectContaining({ engine: 'detonation', status: 'completed' })]);
      expect(moved).toEqual({ spotStarted: 1, spotInterrupted: 0, spotRefused: 0, onDemandStarted: 0 });
    }, 120_000);

    it('ends the engine as failed when the on-demand run fails too, and still publishes the verdict', async () => {
      const { result, moved } = await counted(pipeline, () =>
        analyse(pipeline, 'spot/breaks.sh', `# ${BREAKS_THE_AGENT}`),
      );
      // A sample that breaks the agent runs once on Spot and once on-demand, never more.
      expect(result.states).toEqual([
        STATES.runDetonation,
        STATES.prepareDetonationOnDemand,
        STATES.runDetonationOnDemand,
        STATES.engineFailed,
      ]);
      expect(moved).toEqual({ spotStarted: 1, spotInterrupted: 0, spotRefused: 0, onDemandStarted: 1 });
      // An engine's failure is its result, not the analysis's: the verdict says so.
      expect(result.run.status).toBe('SUCCEEDED');
      expect(result.detail.engines).toEqual([
        expect.objectContaining({ engine: 'detonation', status: 'error', verdict: 'unknown', score: null }),
      ]);
      expect(result.detail.verdict).toBe('unknown');
    }, 120_000);
  });

  describe('without Spot capacity', () => {
    let pipeline: LocalPipeline;
    beforeAll(async () => {
      pipeline = await startSpotPipeline({ spotTaskCapacity: 0 });
    });
    afterAll(async () => pipeline?.stop());

    it('runs the detonation on-demand at once, with no wait for Spot capacity', async () => {
      const started = pipeline.clock.now();
      const { result, moved } = await counted(pipeline, () =>
        analyse(pipeline, 'spot/no-capacity.sh', '# no Spot capacity\necho hello'),
      );
      expect(result.run.status).toBe('SUCCEEDED');
      expect(result.states).toEqual([
        STATES.runDetonation,
        STATES.prepareDetonationOnDemand,
        STATES.runDetonationOnDemand,
        STATES.collectDetonation,
      ]);
      expect(result.detail.engines).toEqual([expect.objectContaining({ engine: 'detonation', status: 'completed' })]);
      // One refusal: RunDetonation does not retry capacity errors (a retry would wait 30 s or more, and be refused again).
      expect(moved).toEqual({ spotStarted: 0, spotInterrupted: 0, spotRefused: 1, onDemandStarted: 1 });
      expect(pipeline.clock.now() - started).toBeLessThan(30_000);
    }, 120_000);
  });
});
