import { randomBytes } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collectDetonation,
  CONTAINER_OVERRIDES_LIMIT,
  detonationTaskTimeoutSeconds,
  detonationUrlExpirySeconds,
  newRunNonce,
  nonceMatches,
  overridesSize,
  prepareDetonation,
  URL_GRACE_SECONDS,
} from '../../lambdas/core/engines/detonation/detonation-runs';
import type { DetonationReport } from '../../lambdas/core/contracts/detonation-report';
import { parseAgentConfig } from '../../lambdas/core/contracts/agent-config';
import type { HandlerDeps } from '../../lambdas/core/runtime/deps';
import type { Sample } from '../../lambdas/core/contracts/pipeline';
import { CollectDetonationInputSchema } from '../../lambdas/handlers/collect-detonation';
import { assembleReport, emptyBehavior } from '../../container/agent/report';
import { criticalBehavior, reportParts, T0 } from './report-parts';
import { detonate, PresignedStandIn } from './harness';

const SHA = 'b'.repeat(64);
const sample = { bucket: 'uploads', key: 'in/tool.sh', sha256: SHA, size: 10 } as unknown as Sample;

/** Deps with a real S3 client (presigning is local) whose `send` serves `stored` as the report. */
function depsWith(agent: Record<string, unknown>, stored?: unknown, sessionToken?: string): HandlerDeps {
  const s3 = new S3Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', ...(sessionToken ? { sessionToken } : {}) },
  });
  s3.send = (async () => {
    if (stored === undefined) throw Object.assign(new Error('missing'), { name: 'NoSuchKey' });
    return { Body: { transformToString: async () => JSON.stringify(stored) } };
  }) as never;
  return { clients: { s3 }, config: { reportsBucket: 'reports', detonation: { agent } } } as unknown as HandlerDeps;
}

function report(overrides: {
  runNonce?: string;
  status?: 'completed' | 'error';
  malicious?: boolean;
}): DetonationReport {
  return assembleReport(
    reportParts({
      status: overrides.status ?? 'completed',
      ...(overrides.status === 'error' ? { error: 'run 1 of 1: reading the trace: boom' } : {}),
      sample: {
        name: 'tool.sh',
        sha256: SHA,
        size: 10,
        fileType: 'script-sh',
        mimeType: 'text/x-shellscript',
        preparation: { method: 'script' },
      },
      finishedAt: T0 + 2,
      limits: { ...reportParts().limits, memoryBytes: 1024 },
      behavior: overrides.malicious ? criticalBehavior('network') : emptyBehavior(),
      ...(overrides.runNonce ? { runNonce: overrides.runNonce } : {}),
    }),
  );
}

describe('Prepare: short-lived URLs and a per-run nonce', () => {
  it('presigns the URLs to expire just after the task timeout, not after an hour', async () => {
    const job = await prepareDetonation(depsWith({ timeout: 60 }), sample);
    const taskTimeout = detonationTaskTimeoutSeconds(60);
    for (const url of [job.sampleUrl, job.reportUrl, job.pcapUrl]) {
      const expires = Number(new URL(url).searchParams.get('X-Amz-Expires'));
      expect(expires).toBe(detonationUrlExpirySeconds(60));
      expect(expires).toBeGreaterThanOrEqual(taskTimeout);
      expect(expires).toBeLessThanOrEqual(taskTimeout + URL_GRACE_SECONDS);
      expect(expires).toBeLessThan(3600);
    }
    const longer = await prepareDetonation(depsWith({ timeout: 300 }), sample);
    expect(Number(new URL(longer.reportUrl).searchParams.get('X-Amz-Expires'))).toBe(300 + 900 + URL_GRACE_SECONDS);
  });

  it('presigns the capture beside the report: same bucket and prefix, the report key with .pcap', async () => {
    const job = await prepareDetonation(depsWith({ timeout: 60 }), sample);
    expect(job.reportKey).toMatch(/\.json$/);
    expect(job.pcapKey).toBe(job.reportKey.replace(/\.json$/, '.pcap'));
    const report = new URL(job.reportUrl);
    const pcap = new URL(job.pcapUrl);
    expect(pcap.host).toBe(report.host);
    expect(decodeURIComponent(pcap.pathname)).toBe(decodeURIComponent(report.pathname).replace(/\.json$/, '.pcap'));
    expect(pcap.searchParams.get('X-Amz-Signature')).not.toBe(report.searchParams.get('X-Amz-Signature'));
  });

  it("keeps the task's container overrides within ECS's 8,192 characters, dropping only the capture's URL when they would not fit", async () => {
    // A Lambda's session token is about 1,100 characters of base64: all three URLs fit with it.
    const typical = await prepareDetonation(
      depsWith({ timeout: 60 }, undefined, randomBytes(825).toString('base64')),
      sample,
    );
    expect(typical.pcapUrl).toContain('X-Amz-Security-Token=');
    expect(overridesSize(typical)).toBeLessThan(CONTAINER_OVERRIDES_LIMIT - 512);
    // One twice as long would not: the capture's URL goes, the run does not.
    const long = await prepareDetonation(
      depsWith({ timeout: 60 }, undefined, randomBytes(1500).toString('base64')),
      sample,
    );
    expect(long.pcapUrl).toBe('');
    expect(long.reportUrl).toContain('X-Amz-Security-Token=');
    expect(long.pcapKey).toBe(long.reportKey.replace(/\.json$/, '.pcap'));
    expect(overridesSize(long)).toBeLessThan(CONTAINER_OVERRIDES_LIMIT);
  });

  it('makes a fresh random nonce per run and passes it in the agent configuration', async () => {
    const deps = depsWith({ timeout: 30, memory_limit: 256, run_nonce: 'x'.repeat(30) });
    const [a, b] = [await prepareDetonation(deps, sample), await prepareDetonation(deps, sample)];
    expect(a.runNonce).not.toBe(b.runNonce);
    expect(a.runNonce).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const config = JSON.parse(a.agentConfig) as Record<string, unknown>;
    // The configured one is replaced; the rest is passed on as written.
    expect(config).toEqual({ timeout: 30, memory_limit: 256, run_nonce: a.runNonce });
    expect(parseAgentConfig(config, { allowInternet: false }).runNonce).toBe(a.runNonce);
    expect(CollectDetonationInputSchema.parse({ detonation: a }).detonation.runNonce).toBe(a.runNonce);
    // A state without the nonce cannot be collected at all.
    expect(() => CollectDetonationInputSchema.parse({ detonation: { reportKey: a.reportKey } })).toThrow();
  });
});

describe('Collect: a report must belong to its run', () => {
  const nonce = newRunNonce();

  it('scores a report that echoes the nonce', async () => {
    const result = await collectDetonation(depsWith({}, report({ runNonce: nonce, malicious: true })), 'k', nonce);
    expect(result).toMatchObject({ status: 'completed', verdict: 'malicious' });
  });

  it('references the capture beside the report by key when the report says it was captured, and only then', async () => {
    const withCapture = report({ runNonce: nonce });
    withCapture.capabilities = {
      ...withCapture.capabilities,
      pcap: 'captured',
      pcapFile: { bytes: 24, packets: 0, conversations: 0, attributed: 0, truncated: false },
    };
    const key = `reports/${SHA}/detonation/run-1.json`;
    const result = await collectDetonation(depsWith({}, withCapture), key, nonce);
    expect(result.captureKey).toBe(`reports/${SHA}/detonation/run-1.pcap`);
    expect((await collectDetonation(depsWith({}, report({ runNonce: nonce })), key, nonce)).captureKey).toBeUndefined();
  });

  it("refuses a report with another run's nonce, even one claiming benign", async () => {
    const replayed = report({ runNonce: newRunNonce() });
    expect(replayed.verdict).toBe('benign');
    const result = await collectDetonation(depsWith({}, replayed), 'k', nonce);
    expect(result).toMatchObject({ status: 'error', verdict: 'unknown', score: null });
    expect(result.reason).toMatch(/another run.*replay or forgery/);
  });

  it('refuses a report without a nonce', async () => {
    const result = await collectDetonation(depsWith({}, report({})), 'k', nonce);
    expect(result).toMatchObject({ status: 'error', verdict: 'unknown' });
    expect(result.reason).toMatch(/no run nonce/);
  });

  it('compares nonces exactly', () => {
    expect(nonceMatches(nonce, nonce)).toBe(true);
    expect(nonceMatches(nonce, `${nonce}x`)).toBe(false);
    expect(nonceMatches(nonce, undefined)).toBe(false);
  });

  it('uses the indicators of a partial report, and only when they incriminate', async () => {
    const partial = await collectDetonation(
      depsWith({}, report({ runNonce: nonce, status: 'error', malicious: true })),
      'k',
      nonce,
    );
    expect(partial).toMatchObject({ status: 'completed', verdict: 'malicious' });
    expect(partial.reason).toMatch(/partial report.*reading the trace: boom/);
    const failed = await collectDetonation(depsWith({}, report({ runNonce: nonce, status: 'error' })), 'k', nonce);
    expect(failed).toMatchObject({ status: 'error', verdict: 'unknown' });
  });
});

describe('the agent echoes the nonce', () => {
  const s3 = new PresignedStandIn();
  beforeAll(() => s3.start());
  afterAll(() => s3.stop());

  it('in the report it uploads, and in an error report for a configuration it refuses', async () => {
    const nonce = newRunNonce();
    const text = { name: 'notes.txt', body: Buffer.from('just some text\n') };
    const ok = await detonate(s3, text, { timeout: 10, run_nonce: nonce });
    expect(ok.status).toBe('unsupported');
    expect(ok.runNonce).toBe(nonce);
    const refused = await detonate(s3, text, { timeout: -1, run_nonce: nonce } as never);
    expect(refused.status).toBe('error');
    expect(refused.runNonce).toBe(nonce);
  }, 30_000);
});
