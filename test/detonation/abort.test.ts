import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETONATION_ENV } from '../../lib/contracts';
import type { Detonator } from '../../local/detonation/detonator';
import { dockerEngineAnswers } from '../../local/detonation/image';
import { dockerDetonator, hostDetonator, selectDetonator } from '../../local/detonation/select';
import { PresignedStandIn, SAMPLES } from './harness';

/**
 * A detonation stopped from outside (`sandtrap analyze --timeout`, Ctrl-C) ends within a second:
 * the sample is killed, its box or container and temporary copies are gone, and `run` rejects with
 * the reason it was stopped for. The sample sleeps for two minutes and the run's limits are a
 * minute, so only the abort can end it this early.
 */

/** Limits far beyond the test's wait: the idle timeout must not end the sleeping sample first. */
const SLOW = { timeout: 60, idle_timeout: 60, sample_interval: 0.25 };

/** Live pids, as /proc lists them. */
function pids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/** Reads a /proc file of a process that may have gone meanwhile. */
function proc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return '';
  }
}

function pidNamespace(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return '';
  }
}

/** The process group of a process (field 5 of /proc/pid/stat, after the parenthesised name). */
function processGroup(pid: number): number | undefined {
  const stat = proc(pid, 'stat');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return stat ? Number(fields[2]) : undefined;
}

function parentOf(pid: number): number | undefined {
  return Number(/^PPid:\s+(\d+)/m.exec(proc(pid, 'status'))?.[1] ?? Number.NaN) || undefined;
}

/** Polls until `probe` gives a value, for at most `ms`. */
async function until<T>(probe: () => T | undefined, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the sleeper on `detonator`, to be stopped by the returned controller. */
async function startSleeper(detonator: Detonator, s3: PresignedStandIn) {
  const sampleName = `sleeper-${randomBytes(4).toString('hex')}.sh`;
  const urls = s3.presign(sampleName, await readFile(`${SAMPLES}limits/sleeper.sh`));
  const controller = new AbortController();
  const run = detonator.run(
    {
      [DETONATION_ENV.sampleUrl]: urls.sampleUrl,
      [DETONATION_ENV.reportUrl]: urls.reportUrl,
      [DETONATION_ENV.sampleName]: sampleName,
      [DETONATION_ENV.agentConfig]: JSON.stringify(SLOW),
    },
    { signal: controller.signal },
  );
  // Settles the promise's rejection for the runtime; the test reads it through `ended`.
  const ended = run.then(
    (code) => ({ code, error: undefined as unknown, at: Date.now() }),
    (error: unknown) => ({ code: undefined, error, at: Date.now() }),
  );
  return { sampleName, controller, ended };
}

const s3 = new PresignedStandIn();
beforeAll(() => s3.start());
afterAll(() => s3.stop());

const hostCanBox = Boolean(selectDetonator('host').detonator);

describe.runIf(hostCanBox)('aborting a host detonation', () => {
  it('kills the box and the sample, removes its run directory, and rejects within a second', async () => {
    const { sampleName, controller, ended } = await startSleeper(hostDetonator, s3);
    // The box's unshare: the one process whose environment names this sample.
    const unshare = await until(
      () => pids().find((pid) => proc(pid, 'environ').split('\0').includes(`SAMPLE_NAME=${sampleName}`)),
      120_000,
      'the box starts',
    );
    const cmdline = proc(unshare, 'cmdline').split('\0');
    const runDir = dirname(cmdline[cmdline.indexOf('sandtrap-box') + 1] ?? '');
    expect(existsSync(runDir)).toBe(true);
    const boxInit = await until(() => pids().find((pid) => parentOf(pid) === unshare), 10_000, "the box's pid 1");
    const namespace = pidNamespace(boxInit);
    expect(namespace).not.toBe(pidNamespace(process.pid));
    const inBox = () => pids().filter((pid) => pidNamespace(pid) === namespace);
    // The sample is running (its sleep), not merely the agent preparing.
    await until(() => inBox().find((pid) => proc(pid, 'comm').trim() === 'sleep'), 60_000, 'the sample sleeps');

    const reason = new Error('stopped by the test');
    const abortedAt = Date.now();
    controller.abort(reason);
    const end = await ended;
    const took = end.at - abortedAt;
    console.log(`host detonation aborted in ${took} ms`);
    expect(end.error).toBe(reason);
    expect(took).toBeLessThan(1_500);
    expect(inBox()).toEqual([]);
    expect(pids().filter((pid) => processGroup(pid) === unshare)).toEqual([]);
    expect(existsSync(runDir)).toBe(false);
    // Nothing was uploaded: the analysis that stopped it reads no report.
    expect(s3.reports.has(sampleName)).toBe(false);
  }, 180_000);

  it('rejects at once, running nothing, when the signal has already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('stopped before it began');
    controller.abort(reason);
    await expect(hostDetonator.run({}, { signal: controller.signal })).rejects.toBe(reason);
  });
});

const dockerRequired = process.env.SANDTRAP_DOCKER_TESTS === '1';

describe.runIf(dockerRequired || (dockerEngineAnswers() && selectDetonator('docker').detonator))(
  'aborting a Docker detonation',
  () => {
    it('removes the container and its temporary directory, and rejects within a second', async () => {
      const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('sandtrap-box-')));
      const { controller, ended } = await startSleeper(dockerDetonator, s3);
      const containers = () =>
        execFileSync('docker', ['ps', '--all', '--quiet', '--filter', 'name=sandtrap-detonation-'], {
          encoding: 'utf8',
          timeout: 10_000,
        })
          .split('\n')
          .filter(Boolean);
      const already = new Set(containers());
      // Ours is the container that appeared after the run began, and is running.
      const container = await until(
        () => containers().find((id) => !already.has(id)),
        120_000,
        'the detonation container starts',
      );
      const ownBox = readdirSync(tmpdir()).find((n) => n.startsWith('sandtrap-box-') && !before.has(n));
      expect(ownBox).toBeDefined();
      const running = () => {
        try {
          return execFileSync('docker', ['top', container], { encoding: 'utf8', timeout: 10_000 });
        } catch {
          return '';
        }
      };
      try {
        await until(() => (/\bsleep 120\b/.test(running()) ? true : undefined), 60_000, 'the sample sleeps');
      } catch (error) {
        controller.abort(error);
        throw error;
      }

      const reason = new Error('stopped by the test');
      const abortedAt = Date.now();
      controller.abort(reason);
      const end = await ended;
      const took = end.at - abortedAt;
      console.log(`docker detonation aborted in ${took} ms`);
      expect(end.error).toBe(reason);
      expect(took).toBeLessThan(3_000);
      expect(containers()).not.toContain(container);
      expect(existsSync(join(tmpdir(), ownBox ?? ''))).toBe(false);
    }, 300_000);
  },
);
