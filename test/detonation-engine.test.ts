import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DetonationReportSchema } from '../lambdas/core/contracts/detonation-report';
import { DETAIL_TYPE_VERDICT, SampleVerdictDetailSchema } from '../lambdas/core/contracts/pipeline';
import { LocalPipeline } from '../local/runtime';

describe('the detonation engine through the local state machine', () => {
  let pipeline: LocalPipeline;
  beforeAll(async () => {
    pipeline = await LocalPipeline.start({
      virtualTime: true,
      cachePlan: false,
      config: { settings: { detonation: { agent: { memory_limit: 256, timeout: 20 } } } },
    });
  });
  afterAll(async () => pipeline?.stop());

  it('detonates a shell sample with the configured agent limits and publishes a link to the HTML report', async () => {
    const run = await pipeline.run(await pipeline.upload({ path: 'samples/behaviors/execution.sh' }));
    expect(run.status).toBe('SUCCEEDED');
    expect(run.transitions.map((t) => t.name)).toEqual(
      expect.arrayContaining(['EngineKind', 'PrepareDetonation', 'RunDetonation', 'CollectDetonation']),
    );
    const detail = SampleVerdictDetailSchema.parse(pipeline.events(DETAIL_TYPE_VERDICT).at(-1)?.detail);
    const engine = detail.engines[0];
    expect(engine).toMatchObject({ engine: 'detonation', status: 'completed' });

    // The agent ran with the configuration as written: 256 (MiB) and a 20 s deadline.
    const deps = pipeline.deps('CollectDetonationFn');
    const stored = await deps.clients.s3.send(
      new GetObjectCommand({ Bucket: deps.config.reportsBucket, Key: engine?.reportKey ?? '' }),
    );
    const report = DetonationReportSchema.parse(JSON.parse((await stored.Body?.transformToString()) ?? ''));
    expect(report.limits).toMatchObject({ memoryBytes: 256 * 1024 * 1024, timeoutSeconds: 20 });
    expect(report.behavior.execution.length).toBeGreaterThan(0);

    // The event links the self-contained HTML report.
    expect(detail.reportUrl).toMatch(/reports\/[0-9a-f]{64}\/report\.html\?/);
    const html = await (await fetch(detail.reportUrl ?? '')).text();
    expect(html).toContain('Content-Security-Policy');
    expect(html).toContain(detail.sha256);
  }, 120_000);
});
