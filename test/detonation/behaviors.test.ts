import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DetonationReportSchema,
  type BehaviorKey,
  type DetonationReport,
} from '../../lambdas/core/contracts/detonation-report';
import { gzip, makeTar } from './archives';
import { detonate, inParallel, indicatorIds, PresignedStandIn, SAMPLES } from './harness';

/**
 * Every behaviour key on the sample written to show it, the benign samples, and an archive, each
 * detonated for real (strace, guard, fake network) through the presigned-URL stand-in.
 */

const s3 = new PresignedStandIn();
const reports = new Map<string, DetonationReport>();

/** An archive built from samples/archive at test time. */
function installerArchive(): Buffer {
  const file = (path: string) => readFileSync(`${SAMPLES}archive/${path}`);
  return gzip(
    makeTar([
      { name: 'installer/setup.sh', data: file('installer/setup.sh'), mode: 0o755 },
      { name: 'README.txt', data: file('README.txt') },
    ]),
  );
}

const SAMPLE_FILES = [
  'behaviors/persistence.sh',
  'behaviors/privilege_escalation.py',
  'behaviors/evasion.c',
  'behaviors/data_harvesting.py',
  'behaviors/network.py',
  'behaviors/destructive.sh',
  'behaviors/execution.sh',
  'behaviors/cryptomining.py',
  'benign/report.py',
  'benign/cleanup.sh',
  'benign/words.pl',
];

beforeAll(async () => {
  await s3.start();
  const jobs = [
    ...SAMPLE_FILES.map((file) => ({ key: file, sample: { file } })),
    { key: 'installer.tar.gz', sample: { name: 'installer.tar.gz', body: installerArchive() } },
  ];
  const done = await inParallel(jobs, 3, async (job) => [job.key, await detonate(s3, job.sample)] as const);
  for (const [key, report] of done) reports.set(key, report);
}, 180_000);

afterAll(() => s3.stop());

function report(key: string): DetonationReport {
  const found = reports.get(key);
  if (!found) throw new Error(`no report for ${key}`);
  return found;
}

/** The indicator of a key, with the evidence that shows it. */
function indicator(r: DetonationReport, key: BehaviorKey, id: string) {
  const found = r.behavior[key].find((i) => i.id === id);
  expect(found, `${id} in ${JSON.stringify(indicatorIds(r))}`).toBeDefined();
  expect(found?.evidence.length).toBeGreaterThan(0);
  return found as NonNullable<typeof found>;
}

const CASES: {
  key: BehaviorKey;
  file: string;
  ids: string[];
  verdict: 'malicious' | 'suspicious';
  evidence: [string, RegExp];
}[] = [
  {
    key: 'persistence',
    file: 'behaviors/persistence.sh',
    ids: ['persistence.shell-init', 'persistence.cron', 'persistence.autostart'],
    verdict: 'malicious',
    evidence: ['persistence.shell-init', /openat\(.*\/\.bashrc", O_WRONLY\|O_CREAT\|O_APPEND/],
  },
  {
    key: 'privilegeEscalation',
    file: 'behaviors/privilege_escalation.py',
    ids: [
      'privilegeEscalation.setuid-bit',
      'privilegeEscalation.root-uid',
      'privilegeEscalation.sudo-caching',
      'privilegeEscalation.sudoers',
    ],
    verdict: 'malicious',
    evidence: ['privilegeEscalation.setuid-bit', /chmod\("helper", 04755\) = 0/],
  },
  {
    key: 'evasion',
    file: 'behaviors/evasion.c',
    ids: ['evasion.debugger-check', 'evasion.sandbox-check'],
    verdict: 'suspicious',
    evidence: ['evasion.debugger-check', /ptrace\(PTRACE_TRACEME\) = -1 EPERM/],
  },
  {
    key: 'dataHarvesting',
    file: 'behaviors/data_harvesting.py',
    ids: [
      'dataHarvesting.password-hashes',
      'dataHarvesting.ssh-keys',
      'dataHarvesting.cloud-credentials',
      'dataHarvesting.process-environment',
      'dataHarvesting.metadata-endpoint',
    ],
    verdict: 'malicious',
    evidence: [
      'dataHarvesting.metadata-endpoint',
      /"addr":"169\.254\.170\.2","port":80,"action":"block","reason":"metadata"/,
    ],
  },
  {
    key: 'network',
    file: 'behaviors/network.py',
    ids: ['network.http', 'network.upload', 'network.tls', 'network.raw-ip'],
    verdict: 'malicious',
    evidence: ['network.upload', /fakenet http POST c2\.example\.test\/upload .*SANDTRAP-TEST-MALICIOUS/],
  },
  {
    key: 'destructive',
    file: 'behaviors/destructive.sh',
    // Its deletions are of copies it made itself: housekeeping, not mass deletion. (Emptying the
    // history is evasion's clear-history, T1070.003.)
    ids: ['destructive.encrypt-rename', 'destructive.ransom-note'],
    verdict: 'malicious',
    evidence: ['destructive.encrypt-rename', /rename.*"victims\/doc\d+\.txt".*"victims\/doc\d+\.txt\.sandtrap-locked"/],
  },
  {
    key: 'execution',
    file: 'behaviors/execution.sh',
    ids: [
      'execution.written-file',
      'execution.written-shell-script',
      'execution.decoded-shell',
      'execution.decoded-python',
    ],
    verdict: 'malicious',
    evidence: ['execution.written-file', /execve\(".*\/stage2\.sh"/],
  },
  {
    key: 'cryptomining',
    file: 'behaviors/cryptomining.py',
    ids: ['cryptomining.pool-name', 'cryptomining.stratum-port', 'cryptomining.stratum-protocol'],
    verdict: 'malicious',
    evidence: ['cryptomining.stratum-protocol', /fakenet tcp pool\.example-mining\.test:3333 .*mining\.subscribe/],
  },
];

describe('behaviour keys, each on its own sample', () => {
  for (const c of CASES) {
    it(`detects ${c.key} on ${c.file}, with the trace lines as evidence`, () => {
      const r = report(c.file);
      expect(r.status).toBe('completed');
      for (const id of c.ids) indicator(r, c.key, id);
      const [id, line] = c.evidence;
      expect(indicator(r, c.key, id).evidence.some((e) => line.test(e))).toBe(true);
      expect(r.verdict).toBe(c.verdict);
    });
  }
});

describe('benign samples', () => {
  for (const file of ['benign/report.py', 'benign/cleanup.sh', 'benign/words.pl']) {
    it(`raises no indicator on ${file}`, () => {
      const r = report(file);
      expect(r.status).toBe('completed');
      expect(indicatorIds(r)).toEqual([]);
      expect(r).toMatchObject({ score: 0, verdict: 'benign', endReason: 'exited', timedOut: false });
      expect(r.executions.items.length).toBeGreaterThan(0);
    });
  }
});

describe('what the report records', () => {
  it('lists DNS, HTTP, TLS and connections, each joined to what the guard did', () => {
    const { network } = report('behaviors/network.py');
    expect(network.dnsQueries.items).toContainEqual(
      expect.objectContaining({ name: 'c2.example.test', type: 'A', answer: expect.stringMatching(/^127\.10\./) }),
    );
    expect(network.httpRequests.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          method: 'GET',
          host: 'c2.example.test',
          path: '/beacon?id=42',
          userAgent: 'SANDTRAP-TEST-MALICIOUS/1.0',
          port: 80,
        }),
        expect.objectContaining({ method: 'POST', host: 'c2.example.test', path: '/upload', bodyBytes: 43 }),
      ]),
    );
    expect(network.tlsServerNames.items).toContainEqual(
      expect.objectContaining({ serverName: 'c2.example.test', port: 443 }),
    );
    expect(network.connections.items).toContainEqual(
      expect.objectContaining({
        protocol: 'tcp',
        address: '203.0.113.10',
        port: 8081,
        hostname: null,
        action: 'redirected',
      }),
    );
    expect(network.connections.items).toContainEqual(
      expect.objectContaining({ protocol: 'tcp', port: 80, hostname: 'c2.example.test', action: 'redirected' }),
    );
  });

  it('records processes, executions with argv and uid, and file operations under the watched directories', () => {
    const r = report('behaviors/execution.sh');
    const uid = r.executions.items[0]?.uid ?? 0;
    expect(uid).toBeGreaterThanOrEqual(10001);
    expect(r.executions.items.map((e) => e.argv.join(' '))).toEqual(
      expect.arrayContaining([expect.stringMatching(/stage2\.sh$/), 'base64 -d']),
    );
    const root = r.processes.items[0];
    expect(root).toMatchObject({ exe: '/bin/sh', uid, ppid: null, exitCode: 0 });
    expect(r.processes.items.filter((p) => p.ppid === root?.pid).length).toBeGreaterThan(2);
    const bashrc = report('behaviors/persistence.sh').fileOperations.items.find((f) => f.path.endsWith('/.bashrc'));
    expect(bashrc?.operations).toEqual(expect.arrayContaining(['write', 'append', 'create']));
    expect(r.resourceUsage.count).toBeGreaterThan(0);
    expect(r.capabilities).toMatchObject({ tracer: 'strace', seccompBpf: true, networkGuard: true });
  });

  it('compiles C with gcc and runs the binary', () => {
    expect(report('behaviors/evasion.c').sample.preparation).toEqual({ method: 'compiled', compiler: 'gcc' });
    expect(report('behaviors/evasion.c').output.tail).toContain('SANDTRAP-TEST-SUSPICIOUS evasion sample');
  });

  it('extracts an archive safely and analyses its executable member', () => {
    const r = report('installer.tar.gz');
    expect(r.sample.fileType).toBe('gzip');
    expect(r.sample.preparation.method).toBe('archive');
    expect(r.sample.preparation.members?.items).toEqual([
      expect.objectContaining({ path: 'installer/setup.sh', fileType: 'script-sh', action: 'analysed' }),
      expect.objectContaining({ path: 'README.txt', action: 'skipped' }),
    ]);
    indicator(r, 'persistence', 'persistence.shell-init');
    expect(r.processes.items[0]?.member).toBe('installer/setup.sh');
  });

  it('bounds every list and validates against the shared schema, which rejects a verdict off its score', () => {
    const r = report('behaviors/destructive.sh');
    const renames = indicator(r, 'destructive', 'destructive.encrypt-rename');
    expect(renames.occurrences).toBe(25);
    expect(renames.evidence).toHaveLength(10);
    expect(renames.truncated).toBe(true);
    expect(DetonationReportSchema.safeParse({ ...r, verdict: 'benign' }).success).toBe(false);
    expect(DetonationReportSchema.safeParse(r).success).toBe(true);
  });
});
