import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../cli/exit-codes';
import type { AnalysisOutcome } from '../../cli/outcome';
import { HOST_STATE_ROOT } from '../../local/detonation/host-sandbox';
import { selectDetonator } from '../../local/detonation/select';
import { LocalPipeline } from '../../local/runtime';
import { standInDetonator } from '../stand-in-detonator';
import { CapeEmulator } from '../../emulators/cape';
import { CAPE_TOKEN, DeferredClock } from '../support';
import { runCli } from './fake-io';

const root = join(import.meta.dirname, '..', '..');
const realPipeline = {
  startPipeline: (options: Parameters<typeof LocalPipeline.start>[0]) => LocalPipeline.start(options),
};

/** The JSON lines of a run's stdout. */
function lines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

/** A configuration file in `dir` with these settings, for SANDTRAP_CONFIG_FILE. */
function configFile(dir: string, settings: Record<string, unknown>): string {
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ settings }));
  return file;
}

describe('sandtrap analyze over a batch', () => {
  it('reports a missing file as one failed line and still analyses the rest, every line with its file, exit 2', async () => {
    const result = await runCli(
      ['analyze', '--json', '--detonator', 'none', 'package.json', 'no-such-file.bin'],
      realPipeline,
    );
    expect(result.code).toBe(2);
    const [ok, missing] = lines(result.stdout);
    expect(ok).toMatchObject({ file: 'package.json', key: 'local/package.json', verdict: expect.any(String) });
    expect(missing).toMatchObject({
      file: 'no-such-file.bin',
      failed: true,
      reason: 'Unreadable',
      error: 'not a readable file',
    });
    expect(result.stderr).toContain('no-such-file.bin: failed (Unreadable)');
  }, 120_000);

  it('analyses every file of a directory, recursively', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandtrap-batch-'));
    mkdirSync(join(dir, 'nested'));
    writeFileSync(join(dir, 'a.txt'), 'first\n');
    writeFileSync(join(dir, 'nested', 'b.txt'), 'second\n');
    const result = await runCli(['analyze', '--json', '--detonator', 'none', '--concurrency', '2', dir], realPipeline);
    expect(result.code).toBe(0);
    expect(lines(result.stdout).map((l) => l.file)).toEqual([join(dir, 'a.txt'), join(dir, 'nested', 'b.txt')]);
  }, 120_000);

  it('reads - from stdin into a temporary copy, analyses it as `-`, and removes the copy', async () => {
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('sandtrap-stdin-'));
    const result = await runCli(['analyze', '--json', '--detonator', 'none', '-'], {
      ...realPipeline,
      stdin: Readable.from([Buffer.from('a sample from a pipe\n')]),
    });
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toEqual([expect.objectContaining({ file: '-', size: 21 })]);
    const after = readdirSync(tmpdir()).filter((n) => n.startsWith('sandtrap-stdin-'));
    expect(after).toEqual(before);
  }, 120_000);

  it('refuses a file above the configured maximum object size before uploading it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandtrap-limit-'));
    const config = configFile(dir, { maxObjectBytes: 10 });
    const uploads: unknown[] = [];
    const pipeline = {
      upload: async (object: unknown) => uploads.push(object),
      stop: async () => undefined,
    } as unknown as LocalPipeline;
    const result = await runCli(['analyze', '--json', 'package.json', '-'], {
      env: { SANDTRAP_CONFIG_FILE: config },
      stdin: Readable.from([Buffer.alloc(64)]),
      startPipeline: async () => pipeline,
    });
    expect(result.code).toBe(2);
    expect(uploads).toEqual([]);
    expect(lines(result.stdout)).toEqual([
      expect.objectContaining({ file: 'package.json', reason: 'Unreadable', error: expect.stringContaining('limit') }),
      expect.objectContaining({ file: '-', reason: 'Unreadable', error: expect.stringContaining('limit') }),
    ]);
  });
});

describe('the exit code of a batch', () => {
  const verdict = (v: string) => ({ file: v, ok: true, document: { verdict: v } }) as unknown as AnalysisOutcome;
  const failure = { file: 'x', ok: false, failure: { reason: 'R', error: 'e', bucket: null, key: 'k' } } as const;

  it.each([
    ['no --fail-on, a malicious verdict', [verdict('malicious')], {}, 0],
    ['--fail-on malicious, a malicious verdict', [verdict('benign'), verdict('malicious')], { failOn: 'malicious' }, 3],
    ['--fail-on malicious, a suspicious verdict', [verdict('suspicious')], { failOn: 'malicious' }, 0],
    ['--fail-on suspicious, a malicious verdict', [verdict('malicious')], { failOn: 'suspicious' }, 3],
    ['a failed file', [verdict('benign'), failure], {}, 2],
    ['a failed file and a verdict at --fail-on', [failure, verdict('malicious')], { failOn: 'malicious' }, 3],
    ['an interruption', [verdict('malicious')], { failOn: 'malicious', interrupted: true }, 130],
  ] as const)('%s exits %s', (_, outcomes, options, code) => {
    expect(exitCodeOf([...outcomes], options)).toBe(code);
  });

  it('--fail-on malicious exits 3 on a malicious verdict of the real binary; without it, 0', async () => {
    // Detonated, the persistence sample is malicious (as in analyze.test.ts).
    const args = [join(root, 'bin', 'sandtrap.mjs'), 'analyze', '--json', '-q', 'samples/behaviors/persistence.sh'];
    const run = (extra: string[]) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [...args, ...extra], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] });
        let stdout = '';
        child.stdout.on('data', (chunk) => {
          stdout += chunk;
        });
        child.on('exit', (code) => resolve({ code, stdout }));
      });
    const gated = await run(['--fail-on', 'malicious']);
    expect(lines(gated.stdout)).toEqual([
      expect.objectContaining({ file: 'samples/behaviors/persistence.sh', verdict: 'malicious' }),
    ]);
    expect(gated.code).toBe(3);
    expect((await run([])).code).toBe(0);
  }, 180_000);
});

describe('Ctrl-C', () => {
  it('stops the real CLI, removes the temporary copy of stdin, and exits 130', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'sandtrap-sigint-'));
    const child = spawn(process.execPath, [join(root, 'bin', 'sandtrap.mjs'), 'analyze', '--detonator', 'none', '-'], {
      cwd: root,
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // stdin stays open: the CLI is still copying it when the signal comes.
    child.stdin.write('part of a sample\n');
    const copy = () => readdirSync(tmp).filter((n) => n.startsWith('sandtrap-stdin-'));
    const deadline = Date.now() + 30_000;
    while (copy().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(copy()).toHaveLength(1);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(copy()).toEqual([]);
    expect(existsSync(tmp)).toBe(true);
  }, 60_000);
});

describe('sandtrap analyze --pdf without a browser', () => {
  it('prints the verdict, says in one line that no browser was found, and exits 0', async () => {
    const out = mkdtempSync(join(tmpdir(), 'sandtrap-pdf-out-'));
    const result = await runCli(['analyze', '--json', '--detonator', 'none', '--pdf', out, 'package.json'], {
      ...realPipeline,
      // No CHROMIUM_PATH and an empty PATH: nothing to render with.
      env: { PATH: mkdtempSync(join(tmpdir(), 'sandtrap-empty-path-')) },
    });
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toEqual([expect.objectContaining({ file: 'package.json' })]);
    const problems = result.stderr.split('\n').filter((line) => line.startsWith('sandtrap: '));
    expect(problems).toEqual([
      'sandtrap: no browser to render the PDF: none of chromium, chromium-browser, google-chrome is on PATH; install Chromium or set CHROMIUM_PATH',
    ]);
  }, 120_000);
});

describe('sandtrap analyze --timeout', () => {
  it('answers within a second of the deadline, the analysis cut short as TimedOut', async () => {
    const started = Date.now();
    let pipelineReady = 0;
    const result = await runCli(['analyze', '--json', '--timeout', '1', 'package.json'], {
      startPipeline: async (options) => {
        // A handler that hangs far beyond the deadline: only the deadline can end this analysis.
        const pipeline = await LocalPipeline.start({
          ...options,
          detonator: 'none',
          beforeInvoke: (id) => (id === 'StaticFn' ? new Promise((r) => setTimeout(r, 60_000).unref()) : undefined),
        });
        pipelineReady = Date.now();
        return pipeline;
      },
    });
    expect(result.code).toBe(2);
    expect(lines(result.stdout)).toEqual([expect.objectContaining({ file: 'package.json', reason: 'TimedOut' })]);
    expect(pipelineReady).toBeGreaterThan(started);
    // One second of budget, one of slack for the upload and the pipeline's stop.
    expect(Date.now() - pipelineReady).toBeLessThan(2_000);
  }, 120_000);
});

describe.runIf(selectDetonator('auto').detonator)('a detonation stopped by --timeout or Ctrl-C', () => {
  const detonator = selectDetonator('auto').detonator?.kind;
  /** The detonation containers on this engine (none where the host detonator runs). */
  const containers = () =>
    detonator === 'docker'
      ? execFileSync('docker', ['ps', '--all', '--quiet', '--filter', 'name=sandtrap-detonation-'], {
          encoding: 'utf8',
          timeout: 10_000,
        })
          .split('\n')
          .filter(Boolean)
      : [];
  const boxes = () =>
    existsSync(HOST_STATE_ROOT) ? readdirSync(HOST_STATE_ROOT).filter((n) => n.startsWith('box-')) : [];

  /**
   * Runs the real CLI on the sleeper (it sleeps two minutes; the detonation's own limit is a
   * minute), timestamping each progress line, and calls `whenRunning` once the detonation runs.
   */
  async function analyzeSleeper(extra: string[], whenRunning: (child: ReturnType<typeof spawn>) => void) {
    const tmp = mkdtempSync(join(tmpdir(), 'sandtrap-abort-'));
    const before = { containers: new Set(containers()), boxes: new Set(boxes()) };
    const child = spawn(
      process.execPath,
      [join(root, 'bin', 'sandtrap.mjs'), 'analyze', '--json', 'samples/limits/sleeper.sh', ...extra],
      { cwd: root, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines: { at: number; text: string }[] = [];
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    let pending = '';
    let running = false;
    child.stderr.on('data', (chunk) => {
      pending += chunk;
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      for (const text of complete) {
        lines.push({ at: Date.now(), text });
        if (!running && text.includes('detonation running')) {
          running = true;
          whenRunning(child);
        }
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    const exitedAt = Date.now();
    return {
      code,
      exitedAt,
      stdout,
      lines,
      tmp,
      newContainers: containers().filter((id) => !before.containers.has(id)),
      newBoxes: boxes().filter((n) => !before.boxes.has(n)),
    };
  }

  it('--timeout ends the running detonation: the CLI answers within a second and a half of the deadline, leaving nothing behind', async () => {
    const run = await analyzeSleeper(['--timeout', '4'], () => undefined);
    expect(run.lines.map((l) => l.text)).toContainEqual(expect.stringContaining('detonation running'));
    // The deadline counts from the analysis's start, which its first progress line follows.
    const first = run.lines.find((l) => l.text.startsWith('[1/1]'));
    const took = run.exitedAt - (first?.at ?? 0);
    console.log(`--timeout 4: exited ${took} ms after the analysis's first progress line (${detonator} detonator)`);
    expect(took).toBeLessThan(4_000 + 1_500);
    expect(run.code).toBe(2);
    expect(lines(run.stdout)).toEqual([expect.objectContaining({ reason: 'TimedOut' })]);
    expect(run.newContainers).toEqual([]);
    expect(run.newBoxes).toEqual([]);
    expect(readdirSync(run.tmp).filter((n) => n.startsWith('sandtrap-'))).toEqual([]);
  }, 180_000);

  it('Ctrl-C during the detonation exits 130 within a second and a half, leaving nothing behind', async () => {
    let interruptedAt = 0;
    const run = await analyzeSleeper([], (child) => {
      interruptedAt = Date.now();
      child.kill('SIGINT');
    });
    expect(interruptedAt).toBeGreaterThan(0);
    const took = run.exitedAt - interruptedAt;
    console.log(`Ctrl-C: exited ${took} ms after SIGINT (${detonator} detonator)`);
    expect(run.code).toBe(130);
    expect(took).toBeLessThan(1_500);
    expect(run.newContainers).toEqual([]);
    expect(run.newBoxes).toEqual([]);
    expect(readdirSync(run.tmp).filter((n) => n.startsWith('sandtrap-'))).toEqual([]);
  }, 180_000);
});

/** The progress lines a batch printed about one file. */
function progressOf(stderr: string, file: string): string[] {
  return stderr.split('\n').filter((line) => line.includes(`${file}:`));
}

/** The places in `engine`'s queue (`2 of 3`) a file's progress lines showed, in order. */
function queuePlaces(stderr: string, file: string, engine: string): string[] {
  const place = new RegExp(`${engine} queued \\(position (\\d) of (\\d)\\)`);
  return progressOf(stderr, file).flatMap((line) => {
    const match = place.exec(line);
    return match ? [`${match[1]} of ${match[2]}`] : [];
  });
}

describe('queue positions in the progress of a batch', () => {
  it('shows each detonation waiting for the one slot with its place in the queue, moving up as turns start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandtrap-queue-'));
    // Three different scripts: the same content would join one analysis instead of queueing.
    for (const n of [1, 2, 3]) writeFileSync(join(dir, `s${n}.sh`), `#!/bin/sh\n# script ${n}\necho ${n}\n`);
    const config = configFile(dir, {
      // The slot queue is under test: one task slot, only shell scripts detonated, nothing else.
      static: { enabled: false },
      detonation: { maxConcurrentTasks: 1, fileTypes: ['script-sh'], agent: { timeout: 60 } },
    });
    const files = [1, 2, 3].map((n) => join(dir, `s${n}.sh`));
    const result = await runCli(['analyze', '--json', '--concurrency', '3', ...files], {
      env: { SANDTRAP_CONFIG_FILE: config },
      // Each turn holds the slot for the agent's minute and more: the virtual clock skips the waits.
      startPipeline: (options) => LocalPipeline.start({ ...options, virtualTime: true, detonator: standInDetonator }),
    });
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toHaveLength(3);
    // Per file, the queue places its progress lines showed, in order.
    const places = files.map((file) => queuePlaces(result.stderr, file, 'detonation'));
    // One file had the slot at once; behind it, one was next (its "of" grows as the third queues
    // behind it) and one second, which moved up to first when the turn ahead of it started.
    expect(places.map((p) => p.join(', ')).sort()).toEqual(['', '1 of 1, 1 of 2', '2 of 2, 1 of 1']);
    // Each line of a queued file's progress says it is queued until its turn, then runs.
    const last = files.find((_, i) => places[i]?.length === 2) as string;
    const shown = progressOf(result.stderr, last);
    const firstRunning = shown.findIndex((line) => line.includes('detonation running'));
    const lastQueued = shown.findLastIndex((line) => line.includes('detonation queued (position'));
    expect(lastQueued).toBeGreaterThan(-1);
    expect(firstRunning).toBeGreaterThan(lastQueued);
  }, 180_000);
});

describe("a vendor's queue in the progress of a batch", () => {
  it("shows each file waiting for one of the vendor's submission slots with its place, moving up as submissions go", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandtrap-vendor-queue-'));
    for (const n of [1, 2, 3]) writeFileSync(join(dir, `f${n}.txt`), `a document, number ${n}\n`);
    // The emulator shares the pipeline's virtual clock, so its analyses end as the waits pass.
    const clock = new DeferredClock();
    const cape = new CapeEmulator({ clock, token: CAPE_TOKEN, queueSeconds: 5, processingSeconds: 10 });
    await cape.start();
    try {
      const config = configFile(dir, {
        // The vendor's queue is under test: two requests a minute, one vendor, no other engine.
        static: { enabled: false },
        detonation: { enabled: false },
        vendors: [{ ...cape.vendorConfig(), requestsPerMinute: 2 }],
      });
      const files = [1, 2, 3].map((n) => join(dir, `f${n}.txt`));
      const result = await runCli(['analyze', '--json', '--concurrency', '3', ...files], {
        env: { ...process.env, SANDTRAP_CONFIG_FILE: config, ...cape.credentialsEnv() },
        startPipeline: async (options) => {
          const pipeline = await LocalPipeline.start({ ...options, virtualTime: true });
          clock.target = pipeline.clock;
          return pipeline;
        },
      });
      expect(result.code).toBe(0);
      expect(lines(result.stdout).map((l) => l.file)).toEqual(files);
      // Each file's queue places, in order, as its progress lines showed them.
      const places = files.map((file) =>
        queuePlaces(result.stderr, file, 'cape').filter((place, i, all) => place !== all[i - 1]),
      );
      // One file was submitted at once; two waited for a slot, and the second of them moved up to
      // first when the submission ahead of it went.
      const queued = places.filter((p) => p.length > 0);
      expect(queued.length).toBeGreaterThanOrEqual(2);
      expect(places.some((p) => p.join(', ').endsWith('2 of 2, 1 of 1'))).toBe(true);
      // Every file was submitted in the end, one vendor task each.
      expect(cape.submissions).toBe(3);
      for (const file of files) {
        expect(progressOf(result.stderr, file).some((line) => /cape (waiting|polling)/.test(line))).toBe(true);
      }
    } finally {
      await cape.stop();
    }
  }, 180_000);
});
