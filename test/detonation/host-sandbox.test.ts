import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DetonationReport, DetonationReportSchema } from '../../lambdas/core/contracts/detonation-report';
import { boxFailureReport } from '../../local/detonation/box-failure-report';
import { hostDetonator, selectDetonator } from '../../local/detonation/select';
import { ensureGuard } from '../../container/agent/guard';
import { HOST_STATE_ROOT, prepareBox, probeBoxSupport, runInBox } from '../../local/detonation/host-sandbox';
import { detonateThrough } from '../redteam/harness';
import { PresignedStandIn } from './harness';

/**
 * What a sample sees from inside the host detonator's box. The probe only reads and lists; it
 * prints one line of JSON that the test reads back from the report's output tail.
 */

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const MARKER = join('/tmp', `sandtrap-host-marker-${randomBytes(6).toString('hex')}`);

/** A python probe describing its surroundings (paths are given as JSON literals, never executed). */
function viewProbe(paths: Record<string, string>): Buffer {
  return Buffer.from(`import json, os, socket
paths = json.loads(${JSON.stringify(JSON.stringify(paths))})
def look(p):
    try:
        return {"exists": os.path.exists(p), "entries": len(os.listdir(p))}
    except OSError as e:
        return {"exists": os.path.exists(p), "error": e.strerror}
def can_write(p):
    try:
        with open(os.path.join(p, ".sandtrap-probe"), "w") as f:
            f.write("x")
        return True
    except OSError as e:
        return e.strerror
def read(p):
    try:
        with open(p, "rb") as f:
            return f.read(4096).replace(b"\\0", b" ").decode("latin1").strip()
    except OSError as e:
        return "error: " + e.strerror
names = sorted(int(n) for n in os.listdir("/proc/self/fd"))
fds = []
for n in names:
    try:
        os.readlink("/proc/self/fd/%d" % n)
        fds.append(n)
    except OSError:
        pass  # the listing's own descriptor, closed by now
with open("/proc/net/dev") as f:
    interfaces = sorted(line.split(":")[0].strip() for line in f.readlines()[2:])
print("BOXVIEW " + json.dumps({
    "checkout": look(paths["checkout"]), "state": look(paths["state"]), "root": look("/root"),
    "marker": os.path.exists(paths["marker"]), "tmp": look("/tmp"),
    "usr_write": can_write("/usr"), "etc_write": can_write("/etc"),
    "hostname": socket.gethostname(), "pid1": read("/proc/1/cmdline"), "fds": fds,
    "interfaces": interfaces,
}))
`);
}

const s3 = new PresignedStandIn();
let view: Record<string, unknown>;
let report: DetonationReport;
const hostCanBox = Boolean(selectDetonator('host').detonator);

describe.runIf(hostCanBox)('the host detonator box, seen from inside a sample', () => {
  beforeAll(async () => {
    await s3.start();
    await writeFile(MARKER, 'host tmp');
    const run = await detonateThrough(hostDetonator, s3, {
      name: 'box_view.py',
      body: viewProbe({ checkout: CHECKOUT, state: HOST_STATE_ROOT, marker: MARKER }),
    });
    report = run.report;
    const line = /BOXVIEW (\{.*\})/.exec(report.output.tail)?.[1];
    if (!line) throw new Error(`the probe printed no view: ${report.status} ${report.error} ${report.output.tail}`);
    view = JSON.parse(line) as Record<string, unknown>;
  }, 120_000);

  afterAll(async () => {
    await rm(MARKER, { force: true });
    await s3.stop();
  });

  it('completes and uploads the report through the host side', () => {
    expect(report.status).toBe('completed');
    // The capture goes before the report that says it was captured.
    expect(s3.requests.map((r) => `${r.method} ${r.path.split('/')[1]}`)).toEqual([
      'GET sample',
      'PUT pcap',
      'PUT report',
    ]);
    expect(report.capabilities.pcap).toBe('captured');
    // The guard's own private mounts (hidden agent, per-run tmpfs) also work inside the box.
    expect(report.capabilities.mountNamespace).toBe(true);
  });

  it('hides the checkout, the state directory and /root', () => {
    expect(view.checkout).toEqual({ exists: false, error: expect.any(String) });
    expect(view.state).toEqual({ exists: false, error: expect.any(String) });
    // /root exists (an empty, root-only tmpfs directory) but the sandbox uid cannot list it.
    expect(view.root).toMatchObject({ error: 'Permission denied' });
  });

  it('mounts /usr and /etc read-only', () => {
    expect(view.usr_write).toBe('Read-only file system');
    expect(view.etc_write).toMatch(/Read-only file system|Permission denied/);
  });

  it('gives the sample a private /tmp: the host file is not there', () => {
    expect(view.marker).toBe(false);
    expect(view.tmp).toMatchObject({ exists: true });
  });

  it('has its own hostname, pid 1 and a network with loopback only', async () => {
    expect(view.hostname).not.toBe(hostname());
    expect(view.hostname).toBe('sandtrap-box');
    const hostInit = (await readFile('/proc/1/cmdline', 'latin1')).replaceAll('\0', ' ').trim();
    expect(view.pid1).not.toBe(hostInit);
    expect(view.interfaces).toEqual(['lo']);
  });

  it('lets the sample inherit nothing but stdin, stdout and stderr', () => {
    expect(view.fds).toEqual([0, 1, 2]);
  });
});

describe('the host detonator refuses when it cannot box', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'box-tools-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('names the missing tool', () => {
    expect(probeBoxSupport([dir])).toMatch(/needs unshare/);
  });

  it.runIf(process.getuid?.() === 0)('refuses when the namespaces cannot be made (unshare fails)', async () => {
    const tools = join(dir, 'failing');
    await mkdir(tools);
    for (const tool of ['unshare', 'pivot_root', 'mount', 'umount', 'ip', 'hostname']) {
      await writeFile(join(tools, tool), '#!/bin/sh\necho "unshare failed: Operation not permitted" >&2\nexit 1\n');
      await chmod(join(tools, tool), 0o755);
    }
    const reason = probeBoxSupport([tools]);
    expect(reason).toMatch(/cannot make its namespaces here \(unshare failed: Operation not permitted\)/);
    expect(reason).toMatch(/refuses to run the sample unboxed/);
  });

  it.runIf(process.getuid?.() === 0)('passes on this machine with the system tools', () => {
    expect(probeBoxSupport()).toBeUndefined();
  });
});

describe.runIf(hostCanBox)('the host side of the box', () => {
  it('keeps its state root-only: 0700 directories, the agent and guard unreadable to others', async () => {
    const guard = await ensureGuard(join(HOST_STATE_ROOT, 'bin'));
    const dirs = await prepareBox(guard);
    try {
      const mode = async (path: string) => (await stat(path)).mode & 0o777;
      expect(await mode(HOST_STATE_ROOT)).toBe(0o700);
      expect(await mode(dirs.run)).toBe(0o700);
      expect(await mode(dirs.transport)).toBe(0o700);
      expect(await mode(dirs.opt)).toBe(0o700);
      expect(await mode(join(dirs.opt, 'agent', 'agent.mjs'))).toBe(0o600);
      expect(await mode(join(dirs.opt, 'bin', 'sandtrap-guard'))).toBe(0o700);
      // The work root (the sample's home is below it) lets the sandbox uid pass, not list.
      expect(await mode(dirs.work)).toBe(0o711);
    } finally {
      await dirs.remove();
    }
    await expect(stat(dirs.run)).rejects.toThrow();
  });

  it('never lets a box outlive its command or leave a mount on the host', async () => {
    const guard = await ensureGuard(join(HOST_STATE_ROOT, 'bin'));
    const dirs = await prepareBox(guard);
    try {
      // A daemon left behind by pid 1 dies with the pid namespace. Its duration is this run's own, so
      // no other process can be mistaken for it; one that escaped would live for minutes, so a few
      // seconds of polling tell it from one the kernel is still tearing down.
      const daemon = `sleep ${300 + Math.floor(Math.random() * 600)}`;
      const exit = await runInBox(dirs, ['/bin/sh', '-c', `(setsid ${daemon} &) ; echo started`], {}, 20_000);
      expect(exit).toMatchObject({ code: 0 });
      expect(exit.output).toContain('started');
      const daemons = () =>
        execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
          .split('\n')
          .filter((line) => line.trim() === daemon);
      await expect.poll(daemons, { timeout: 5_000, interval: 250 }).toEqual([]);
      expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(dirs.run);
    } finally {
      await dirs.remove();
    }
  });
});

describe('the agent start-up', () => {
  it('closes descriptors it inherited without close-on-exec, so its children get only stdio', async () => {
    const module = fileURLToPath(new URL('../../container/agent/inherited-descriptors.ts', import.meta.url));
    const script = `
      import { execFileSync } from 'node:child_process';
      import { closeInheritedDescriptors } from ${JSON.stringify(module)};
      const before = execFileSync('/bin/sh', ['-c', 'ls /proc/$$/fd'], { encoding: 'utf8' }).split('\\n').filter(Boolean).map(Number).sort((a, b) => a - b);
      const closed = closeInheritedDescriptors();
      const after = execFileSync('/bin/sh', ['-c', 'ls /proc/$$/fd'], { encoding: 'utf8' }).split('\\n').filter(Boolean).map(Number).sort((a, b) => a - b);
      console.log(JSON.stringify({ before, closed, after }));`;
    // bash opens 40 and 200 without close-on-exec, as a careless parent would (Node itself marks the
    // low descriptors it inherits, not these), then becomes node.
    const child = spawn(
      '/bin/bash',
      [
        '-c',
        'exec 40</dev/null 200</dev/null; exec "$0" --import tsx --input-type=module -e "$1"',
        process.execPath,
        script,
      ],
      { cwd: CHECKOUT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await new Promise((resolve) => child.on('close', resolve));
    const seen = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, number[]>;
    expect(seen.before).toEqual(expect.arrayContaining([40, 200]));
    expect(seen.closed).toEqual(expect.arrayContaining([40, 200]));
    expect(seen.after).toEqual([0, 1, 2]);
  });
});

describe('the agent entry point', () => {
  it.each(['0', '1000', '10001x', '99999'])('refuses SANDTRAP_SANDBOX_UID=%s (not a sandbox uid)', async (uid) => {
    const dir = await mkdtemp(join(tmpdir(), 'agent-uid-'));
    try {
      await writeFile(join(dir, 'sample'), '#!/bin/sh\necho hi\n');
      const child = spawn(process.execPath, ['--import', 'tsx', 'container/agent/main.ts'], {
        cwd: CHECKOUT,
        env: {
          PATH: process.env.PATH,
          SAMPLE_URL: `file://${join(dir, 'sample')}`,
          REPORT_URL: `file://${join(dir, 'report.json')}`,
          SANDTRAP_SANDBOX_UID: uid,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(code).toBe(2);
      expect(stderr).toContain('SANDTRAP_SANDBOX_UID is not a sandbox uid');
      await expect(stat(join(dir, 'report.json'))).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the host side when the boxed agent leaves no valid report', () => {
  it('builds an error report that validates and carries what the host knows of the sample', () => {
    const report = boxFailureReport({
      reason: 'the boxed agent was killed at the host deadline',
      sampleName: 'x\u001b[31m.sh',
      sha256: 'b'.repeat(64),
      size: 12,
      rawConfig: JSON.stringify({ timeout: 20 }),
      startedAt: Date.now() / 1000 - 5,
      endReason: 'timeout',
    });
    expect(DetonationReportSchema.parse(report)).toEqual(report);
    expect(report).toMatchObject({
      status: 'error',
      verdict: 'unknown',
      score: null,
      endReason: 'timeout',
      timedOut: true,
      error: 'the boxed agent was killed at the host deadline',
      sample: { sha256: 'b'.repeat(64), size: 12 },
      limits: { timeoutSeconds: 20 },
    });
  });

  it('still builds one when the configuration does not parse and nothing was downloaded', () => {
    const report = boxFailureReport({
      reason: 'the boxed agent left no report (exit 1)',
      sampleName: '',
      sha256: null,
      size: null,
      rawConfig: '{not json',
      startedAt: Date.now() / 1000,
      endReason: 'not-run',
    });
    expect(report).toMatchObject({ status: 'error', sample: { name: 'sample', sha256: null }, config: {} });
  });
});
