import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandtrapCacheDir } from '../lib/cache-dir';

/**
 * The static engine's Lambda handler (static/sandtrap_static/lambda_function.py) run locally: a
 * small pool of long-lived Python workers (`python -m sandtrap_static.worker`), each answering one
 * request at a time over JSON lines. The local runtime calls exactly the code that runs on AWS, and
 * a worker stays warm between requests (S3 client, compiled rules, the rule-pack mirror) as a warm
 * Lambda does.
 */

/** Where a checkout keeps the static engine's venv, relative to its root (CI and the README make it there). */
const CHECKOUT_VENV = '.venv-static';
/** Beside the venv's python: the hash of the requirements it was installed from. */
const STAMP = '.sandtrap-requirements';

const requirementsFile = (root: string) => join(root, 'static', 'requirements.txt');

const requirementsHash = (root: string) =>
  createHash('sha256')
    .update(readFileSync(requirementsFile(root)))
    .digest('hex');

/**
 * Whether `root` is a source checkout rather than an installed package: a checkout has its
 * tsconfig.json (which bin/sandtrap.mjs goes by too) or its .git, and the package ships neither.
 */
export function isSourceCheckout(root: string): boolean {
  return existsSync(join(root, 'tsconfig.json')) || existsSync(join(root, '.git'));
}

/** What decides where the static engine's venv is (see {@link staticVenvDir}). */
export interface StaticVenvPlace {
  /** The package's root, with `static/`. */
  root: string;
  /** Whether the root is a source checkout ({@link isSourceCheckout}). */
  checkout: boolean;
  /** sha256 (hex) of static/requirements.txt. */
  requirementsHash: string;
  /** Sandtrap's cache directory; asked only for an installed package (it is created when asked). */
  cacheDir: () => string;
}

/**
 * Where the static engine's venv is: `.venv-static` in a checkout, as ever; for an installed
 * package, in Sandtrap's cache directory, because a global or read-only install cannot be written
 * by its user. There it is named by the requirements' hash, so a changed pin makes a new venv and
 * two installed versions with different pins never share one.
 */
export function staticVenvDir(place: StaticVenvPlace): string {
  return place.checkout
    ? join(place.root, CHECKOUT_VENV)
    : join(place.cacheDir(), `static-venv-${place.requirementsHash.slice(0, 24)}`);
}

/** {@link staticVenvDir} for the package at `root`. */
export function staticVenvOf(root: string): string {
  return staticVenvDir({
    root,
    checkout: isSourceCheckout(root),
    requirementsHash: requirementsHash(root),
    cacheDir: sandtrapCacheDir,
  });
}

const venvPython = (venv: string) => join(venv, 'bin', 'python');

const readStamp = (venv: string) => {
  try {
    return readFileSync(join(venv, STAMP), 'utf8').trim();
  } catch {
    return null;
  }
};

/** How to make the static engine's venv by hand in a checkout, for every message that finds it missing. */
export const STATIC_VENV_HOW_TO =
  'Create it from the repository root with:\n' +
  '  python3 -m venv .venv-static && .venv-static/bin/pip install -r static/requirements.txt';

/** How to make the venv `venv` of the package at `root` by hand: {@link STATIC_VENV_HOW_TO} in a checkout. */
export function staticVenvHowTo(root: string, venv: string): string {
  if (venv === join(root, CHECKOUT_VENV)) return STATIC_VENV_HOW_TO;
  return `Create it with:\n  python3 -m venv ${venv} && ${join(venv, 'bin', 'pip')} install -r ${requirementsFile(root)}`;
}

/**
 * Makes the static engine's venv ({@link staticVenvOf}) from static/requirements.txt when it is
 * missing, and installs the requirements again when they changed since (a stamp file holds their
 * hash; it also marks an install that finished), so a fresh clone, an old checkout and a new
 * installed package all get what the engine needs. Throws, saying how to make it by hand, when
 * that cannot be done.
 */
export function ensureStaticVenv(root: string): void {
  const venv = staticVenvOf(root);
  const python = venvPython(venv);
  const wanted = requirementsHash(root);
  if (existsSync(python) && readStamp(venv) === wanted) return;
  // Test files run in parallel processes: one makes the venv, the others wait and find it made.
  withVenvLock(venv, () => {
    if (existsSync(python) && readStamp(venv) === wanted) return;
    makeVenv(root, venv, wanted);
  });
}

/** Longest a venv build may hold the lock (venv + pip timeouts, with margin); older is a crashed one. */
const LOCK_STALE_MS = 10 * 60_000;

function withVenvLock(venv: string, run: () => void): void {
  const lock = join(tmpdir(), `sandtrap-venv-${createHash('sha256').update(venv).digest('hex').slice(0, 16)}.lock`);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    try {
      if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
    } catch {
      // Released meanwhile: try again.
    }
    // A synchronous sleep: callers (test setup, the local runtime's start) are synchronous.
    Atomics.wait(pause, 0, 0, 500);
  }
  try {
    run();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function makeVenv(root: string, venv: string, wanted: string): void {
  const python = venvPython(venv);
  const made = existsSync(python)
    ? null
    : spawnSync('python3', ['-m', 'venv', venv], { encoding: 'utf8', timeout: 120_000 });
  const pip =
    made === null || made.status === 0
      ? spawnSync(
          join(venv, 'bin', 'pip'),
          ['install', '--quiet', '--disable-pip-version-check', '-r', requirementsFile(root)],
          { encoding: 'utf8', timeout: 300_000 },
        )
      : made;
  if (pip.status !== 0 || !existsSync(python)) {
    throw new Error(
      `The static engine's venv (${python}) could not be made: ${pip.stderr || pip.error?.message}\n${staticVenvHowTo(root, venv)}`,
    );
  }
  writeFileSync(join(venv, STAMP), `${wanted}\n`);
}

/** Options of {@link StaticWorkerPool}. */
export interface StaticWorkerPoolOptions {
  /** The package's root, with `static/`; the venv is where {@link ensureStaticVenv} makes it. */
  root: string;
  /**
   * The worker's environment besides what the pool sets: the function's synthesized environment
   * (SANDTRAP_REPORTS_BUCKET, SANDTRAP_SETTINGS) and the local S3's AWS_ENDPOINT_URL_S3,
   * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION. Nothing else of this process's
   * environment is passed on (no developer profile or credentials reach the worker).
   */
  env?: Record<string, string>;
  /** Most workers at once. @default 2 */
  size?: number;
  /** Longest a request may take; the worker is then killed. @default 120 000 */
  timeoutMs?: number;
  /** Told the S3 requests each invocation made (the cost benchmark prices them). */
  onUsage?: (usage: StaticWorkerUsage) => void;
}

/** The S3 requests of one invocation, by operation, and the bytes it wrote with PutObject. */
export interface StaticWorkerUsage {
  s3: Record<string, number>;
  s3BytesWritten: number;
}

/** A worker's usage report, checked: it crosses a process boundary like the answer it comes with. */
function usageOf(value: unknown): StaticWorkerUsage | undefined {
  const usage = value as { s3?: unknown; s3BytesWritten?: unknown } | undefined;
  if (!usage || typeof usage.s3 !== 'object' || usage.s3 === null) return undefined;
  const s3 = Object.fromEntries(
    Object.entries(usage.s3 as Record<string, unknown>).filter(
      (entry): entry is [string, number] => Number.isSafeInteger(entry[1]) && (entry[1] as number) >= 0,
    ),
  );
  const written = Number.isSafeInteger(usage.s3BytesWritten) ? (usage.s3BytesWritten as number) : 0;
  return { s3, s3BytesWritten: written };
}

/** A request waiting for, or held by, a worker. */
interface Pending {
  id: number;
  line: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
}

/** One Python worker process. */
interface Worker {
  child: ChildProcessWithoutNullStreams;
  current: Pending | null;
  /** Bytes of stdout not yet ending in a newline. */
  buffered: string;
  /** The end of stderr, for the message of a crash. */
  stderrTail: string;
  exited: boolean;
}

/** An answer line longer than this is a broken worker (results are a few KiB). */
const MAX_ANSWER_CHARS = 4 * 1024 * 1024;
const STDERR_TAIL_CHARS = 4000;
/** How long {@link StaticWorkerPool.close} waits for a worker to finish and exit before killing it. */
const CLOSE_GRACE_MS = 5_000;

const failure = (name: string, message: string): Error => {
  const error = new Error(message);
  error.name = name;
  return error;
};

/**
 * At most `size` Python workers running the static engine's Lambda handler. {@link invoke}
 * resolves with the handler's result, or rejects with an Error whose `name` is the Python
 * exception's class name (`InvalidInput`, `ObjectChanged`...), as Lambda reports `errorType`;
 * a worker that dies mid-request rejects it with `StaticWorkerCrashed` (a new worker takes the
 * next request), and one that overruns the timeout is killed and rejects with `StaticWorkerTimeout`.
 */
export class StaticWorkerPool {
  private readonly root: string;
  private readonly env: Record<string, string>;
  private readonly size: number;
  private readonly timeoutMs: number;
  private readonly onUsage: ((usage: StaticWorkerUsage) => void) | undefined;
  private readonly workers = new Set<Worker>();
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: StaticWorkerPoolOptions) {
    this.root = options.root;
    this.size = Math.max(1, Math.floor(options.size ?? 2));
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.onUsage = options.onUsage;
    this.env = {
      // Only what Python needs to start; never this process's own credentials or AWS profile.
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LANG: process.env.LANG ?? 'C.UTF-8',
      // No shared config files and no instance metadata: the worker's AWS identity is exactly
      // what `env` gives it, and a missing credential fails instead of reaching for the network.
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      ...options.env,
      PYTHONPATH: join(this.root, 'static'),
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONUNBUFFERED: '1',
    };
  }

  /** Process ids of the running workers (diagnostics and tests). */
  get pids(): number[] {
    return [...this.workers].flatMap((worker) => (worker.child.pid === undefined ? [] : [worker.child.pid]));
  }

  /** Runs the handler on `event` in an idle worker (started when fewer than `size` run). */
  invoke(event: unknown): Promise<unknown> {
    if (this.closed) return Promise.reject(failure('StaticWorkerPoolClosed', 'the static worker pool is closed'));
    return new Promise<unknown>((resolve, reject) => {
      const id = this.nextId++;
      this.queue.push({ id, line: `${JSON.stringify({ id, event })}\n`, resolve, reject });
      this.dispatch();
    });
  }

  /** Ends every worker: the queued requests are rejected, running ones may finish for a few seconds. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) {
      pending.reject(failure('StaticWorkerPoolClosed', 'the static worker pool was closed'));
    }
    await Promise.all(
      [...this.workers].map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.exited) return resolve();
            const kill = setTimeout(() => worker.child.kill('SIGKILL'), CLOSE_GRACE_MS);
            worker.child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            // End of input is the worker's signal to exit once its request is answered.
            worker.child.stdin.end();
          }),
      ),
    );
  }

  /** Gives queued requests to idle workers, starting workers up to `size`. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      let worker = [...this.workers].find((w) => w.current === null && !w.exited && !w.child.killed);
      if (!worker) {
        if (this.workers.size >= this.size) return;
        const started = this.start();
        if (!started) return;
        worker = started;
      }
      this.send(worker, this.queue.shift()!);
    }
  }

  private start(): Worker | null {
    let missing: string | undefined;
    let python = '';
    try {
      const venv = staticVenvOf(this.root);
      python = venvPython(venv);
      if (!existsSync(python))
        missing = `the static engine's venv is missing (${python}).\n${staticVenvHowTo(this.root, venv)}`;
    } catch (error) {
      // No requirements file, or no writable cache directory to look in.
      missing = `the static engine's venv cannot be found: ${(error as Error).message}`;
    }
    if (missing !== undefined) {
      for (const pending of this.queue.splice(0)) pending.reject(failure('StaticWorkerCrashed', missing));
      return null;
    }
    const child = spawn(python, ['-m', 'sandtrap_static.worker'], {
      cwd: this.root,
      env: this.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const worker: Worker = { child, current: null, buffered: '', stderrTail: '', exited: false };
    this.workers.add(worker);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onStdout(worker, chunk));
    child.stderr.on('data', (chunk: string) => {
      worker.stderrTail = (worker.stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    });
    // A write to a worker that just died: its exit handler reports the request.
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => {
      worker.stderrTail = `${worker.stderrTail}\n${error.message}`.slice(-STDERR_TAIL_CHARS);
      this.onExit(worker, null, null);
    });
    child.on('exit', (code, signal) => this.onExit(worker, code, signal));
    return worker;
  }

  private send(worker: Worker, pending: Pending): void {
    worker.current = pending;
    pending.timer = setTimeout(() => {
      if (worker.current !== pending) return;
      worker.current = null;
      worker.child.kill('SIGKILL');
      pending.reject(
        failure('StaticWorkerTimeout', `the static engine did not answer within ${this.timeoutMs} ms; worker killed`),
      );
    }, this.timeoutMs);
    worker.child.stdin.write(pending.line);
  }

  private onStdout(worker: Worker, chunk: string): void {
    // A worker being killed (timeout, protocol error) has nothing more to say.
    if (worker.child.killed) return;
    worker.buffered += chunk;
    let newline = worker.buffered.indexOf('\n');
    while (newline >= 0) {
      const line = worker.buffered.slice(0, newline);
      worker.buffered = worker.buffered.slice(newline + 1);
      if (line.trim()) this.onAnswer(worker, line);
      if (worker.child.killed) return;
      newline = worker.buffered.indexOf('\n');
    }
    if (worker.buffered.length > MAX_ANSWER_CHARS) this.broken(worker, 'an answer longer than the limit');
  }

  private onAnswer(worker: Worker, line: string): void {
    const pending = worker.current;
    let answer: {
      id?: unknown;
      result?: unknown;
      error?: { errorType?: unknown; errorMessage?: unknown };
      usage?: unknown;
    };
    try {
      answer = JSON.parse(line) as typeof answer;
    } catch {
      this.broken(worker, 'a line that is not JSON on stdout');
      return;
    }
    if (!pending || answer.id !== pending.id) {
      this.broken(worker, `an answer to no request (id ${String(answer.id)})`);
      return;
    }
    clearTimeout(pending.timer);
    worker.current = null;
    const usage = usageOf(answer.usage);
    if (usage) this.onUsage?.(usage);
    if (answer.error) {
      const { errorType, errorMessage } = answer.error;
      pending.reject(
        failure(
          typeof errorType === 'string' ? errorType : 'Error',
          typeof errorMessage === 'string' ? errorMessage : 'the static engine failed',
        ),
      );
    } else {
      pending.resolve(answer.result);
    }
    this.dispatch();
  }

  /** A worker that broke the protocol cannot be trusted with another request. */
  private broken(worker: Worker, what: string): void {
    worker.stderrTail = `${worker.stderrTail}\nprotocol error: ${what}`.slice(-STDERR_TAIL_CHARS);
    worker.child.kill('SIGKILL');
  }

  private onExit(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    if (worker.exited) return;
    worker.exited = true;
    this.workers.delete(worker);
    const pending = worker.current;
    worker.current = null;
    if (pending) {
      clearTimeout(pending.timer);
      const how = signal ? `signal ${signal}` : `code ${code}`;
      const tail = worker.stderrTail.trim();
      pending.reject(
        failure('StaticWorkerCrashed', `the static worker exited (${how}) mid-request${tail ? `:\n${tail}` : ''}`),
      );
    }
    // The requests still queued get a new worker.
    if (!this.closed) this.dispatch();
  }
}
