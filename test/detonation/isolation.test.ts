import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetonationReport } from '../../lambdas/core/contracts/detonation-report';
import { detonate, indicatorIds, PresignedStandIn, SAMPLES } from './harness';

/**
 * What the sample must not get: the presigned URLs, other processes' environments, the agent's
 * files, the task metadata endpoint, services on loopback, the network when it is turned off. The
 * escapeRun sample runs through main.ts in a child process, exactly as the container starts it, with
 * the URLs (and a decoy credential) in the agent's environment.
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DECOY = 'SANDTRAP-DECOY-CREDENTIAL-0000';
const s3 = new PresignedStandIn();
let escapeRun: { report: DetonationReport; exitCode: number | null; stdout: string; requests: typeof s3.requests };

/** Runs container/agent/main.ts as the container's entry point would, and returns its exit code. */
async function runMain(env: NodeJS.ProcessEnv): Promise<{ exitCode: number | null; stdout: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'container/agent/main.ts'], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { exitCode, stdout };
}

beforeAll(async () => {
  await s3.start();
  const id = 'escape';
  const urls = s3.presign(id, await readFile(`${SAMPLES}isolation/escape_attempts.py`));
  const { exitCode, stdout } = await runMain({
    PATH: process.env.PATH,
    SAMPLE_URL: urls.sampleUrl,
    REPORT_URL: urls.reportUrl,
    PCAP_URL: urls.pcapUrl,
    SAMPLE_NAME: 'escape_attempts.py',
    AGENT_CONFIG: JSON.stringify({ timeout: 15, idle_timeout: 4, sample_interval: 0.25 }),
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: `/v2/credentials/${DECOY}`,
  });
  const report = s3.reports.get(id);
  if (!report) throw new Error(`main.ts uploaded no report (exit ${exitCode}): ${stdout}`);
  escapeRun = { report, exitCode, stdout, requests: [...s3.requests] };
}, 120_000);

afterAll(() => s3.stop());

describe('isolation of the sample', () => {
  it('runs through main.ts, exits 0 and uploads the report', () => {
    expect(escapeRun.exitCode).toBe(0);
    expect(escapeRun.report.status).toBe('completed');
    expect(JSON.parse(escapeRun.stdout.trim().split('\n').pop() ?? '{}')).toMatchObject({
      status: 'completed',
      verdict: escapeRun.report.verdict,
    });
  });

  it('gives the sample nothing: no URL, no environment, no agent file, no metadata, no loopback service', () => {
    const summary = /SUMMARY (\{.*\})/.exec(escapeRun.report.output.tail)?.[1];
    expect(summary, escapeRun.report.output.tail).toBeDefined();
    const found = JSON.parse(summary as string) as Record<string, unknown>;
    expect(found).toMatchObject({ environ: 0, secrets: 0, agent_files: 0 });
    expect(found.metadata).toMatch(/^refused/);
    // Nothing of the presigned URLs or the decoy credential reached the sample, hence the report.
    const text = JSON.stringify(escapeRun.report);
    for (const signature of s3.signatures()) expect(text).not.toContain(signature);
    expect(text).not.toContain(DECOY);
  });

  it('keeps the sample away from the real loopback services (it reaches the fake network instead)', () => {
    expect(escapeRun.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /sample/escape',
      'PUT /pcap/escape',
      'PUT /report/escape',
    ]);
    expect(escapeRun.requests.every((r) => r.signature !== null && s3.signatures().includes(r.signature))).toBe(true);
  });

  it('reports each attempt as an indicator', () => {
    const ids = indicatorIds(escapeRun.report);
    expect(ids).toEqual(
      expect.arrayContaining([
        'dataHarvesting.process-environment',
        'dataHarvesting.metadata-endpoint',
        'dataHarvesting.network-discovery',
        'dataHarvesting.local-services',
        'evasion.agent-probe',
        'network.upload',
      ]),
    );
    const probe = escapeRun.report.behavior.evasion.find((i) => i.id === 'evasion.agent-probe');
    expect(probe?.evidence.some((line) => /EACCES|ENOENT/.test(line))).toBe(true);
    expect(escapeRun.report.verdict).toBe('malicious');
  });
});

describe('network policy', () => {
  it('refuses every IP connection when network_enabled is false, and says so', async () => {
    const r = await detonate(
      s3,
      { file: 'behaviors/network.py' },
      { timeout: 10, idle_timeout: 4, network_enabled: false },
    );
    const ip = r.network.connections.items.filter((c) => c.protocol === 'tcp' || c.protocol === 'udp');
    expect(ip.length).toBeGreaterThan(0);
    expect(ip.every((c) => c.action === 'blocked' && c.reason === 'network-disabled' && c.result === 'EPERM')).toBe(
      true,
    );
    expect(r.network.httpRequests.count).toBe(0);
    expect(r.network.dnsQueries.count).toBe(0);
  });

  it('honours blocked_ports', async () => {
    const r = await detonate(
      s3,
      { file: 'behaviors/network.py' },
      { timeout: 10, idle_timeout: 4, blocked_ports: [443] },
    );
    expect(r.network.connections.items).toContainEqual(
      expect.objectContaining({ port: 443, action: 'blocked', reason: 'blocked-port' }),
    );
    expect(r.network.tlsServerNames.count).toBe(0);
    expect(r.network.httpRequests.count).toBe(2);
  });

  it('refuses internet_access without the local override, still reporting the sample', async () => {
    const r = await detonate(s3, { file: 'benign/report.py' }, { internet_access: true });
    expect(r).toMatchObject({ status: 'error', verdict: 'unknown', score: null, endReason: 'not-run' });
    expect(r.error).toMatch(/internet_access is refused/);
    expect(r.sample.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
