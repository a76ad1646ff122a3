import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { killGroup, tail } from './commands';
import { trustEnv, type TestTls } from './tls';

/** The MiniStack release the harness is verified with (`.ci/run` installs exactly this one). */
export const MINISTACK_VERSION = '1.5.33';
/** Where the e2e run expects MiniStack's virtual environment, relative to the repository. */
export const MINISTACK_VENV = '.venv-ministack';
/** Loopback only: MiniStack's default `0.0.0.0` would expose an unauthenticated AWS to the network. */
export const MINISTACK_HOST = '127.0.0.1';
export const MINISTACK_PORT = 4566;
export const MINISTACK_ENDPOINT = `http://${MINISTACK_HOST}:${MINISTACK_PORT}`;

/**
 * The factor MiniStack applies to Wait states, retry intervals and the ECS `.sync` poll: 0.05 makes a
 * vendor's 10 s poll wait take half a second. Never 0: every `runTask.sync` would then time out at once.
 */
export const SFN_WAIT_SCALE = 0.05;

/** The AWS environment every command and SDK client of the run uses: MiniStack's endpoint and its dummy account. */
export function ministackAwsEnv(endpoint = MINISTACK_ENDPOINT): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
  };
}

/** The process environment with MiniStack's AWS settings, and nothing that could point a command at a real account. */
export function processEnvFor(endpoint = MINISTACK_ENDPOINT, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...ministackAwsEnv(endpoint), ...extra };
  for (const name of [
    'AWS_PROFILE',
    'AWS_SESSION_TOKEN',
    'AWS_SECURITY_TOKEN',
    'AWS_ROLE_ARN',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  ]) {
    delete env[name];
  }
  return env;
}

/**
 * `major.minor` of MiniStack's Python. MiniStack runs a Python function on that interpreter, whatever
 * runtime the function declares: the static engine's wheels are built for it (`staticEngine.emulatorPython`).
 */
export function ministackPythonVersion(root: string): string {
  const version = spawnSync(
    ministackPython(root),
    ['-c', 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")'],
    { encoding: 'utf8' },
  );
  if (version.status !== 0) throw new Error(`MiniStack's Python did not say its version: ${version.stderr}`);
  return version.stdout.trim();
}

/** MiniStack's Python; a clear error naming `.ci/run` when the venv does not exist. */
export function ministackPython(root: string): string {
  const python = join(root, MINISTACK_VENV, 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(
      `MiniStack is not installed: ${python} is missing. .ci/run creates it; by hand: ` +
        `python3 -m venv ${MINISTACK_VENV} && ${MINISTACK_VENV}/bin/pip install ministack==${MINISTACK_VERSION} boto3`,
    );
  }
  return python;
}

/** A running MiniStack server. */
export interface MiniStack {
  endpoint: string;
  pid: number;
  logFile: string;
  /** Wipes every resource (`POST /_ministack/reset`). */
  reset(): Promise<void>;
  /** SIGTERM, then SIGKILL if the process is still there after a grace period. */
  stop(): Promise<void>;
  /** Log lines that explain a hung or failed deploy: Lambda workers that could not start. */
  diagnostics(): string;
}

/** Options of {@link startMiniStack}. */
export interface MiniStackOptions {
  /** Repository root (where the venv is). */
  root: string;
  logFile: string;
  /** @default 20_000 */
  startTimeoutMs?: number;
  /** @default MINISTACK_PORT */
  port?: number;
  /**
   * IAM enforced (`AUTH=true`): every request is evaluated against identity and resource policies,
   * functions run with their execution role's session. Served over TLS (`USE_SSL=1`) with this
   * certificate, since on plain HTTP `aws:SecureTransport` is false and every bucket with a TLS-only
   * policy (CDK's bootstrap bucket, ours) refuses every request.
   */
  enforceIam?: TestTls;
}

async function healthy(endpoint: string, caFile?: string): Promise<boolean> {
  if (!endpoint.startsWith('https:')) {
    try {
      const response = await fetch(`${endpoint}/_ministack/health`, { signal: AbortSignal.timeout(1_000) });
      return response.ok;
    } catch {
      return false;
    }
  }
  const ca = caFile ? readFileSync(caFile) : undefined;
  return new Promise((resolve) => {
    const req = httpsRequest(`${endpoint}/_ministack/health`, { ca, timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Lines of MiniStack's log worth quoting when something failed. */
export function diagnosticLines(log: string): string[] {
  return log.split('\n').filter((line) => /Worker init failed|Traceback|ERROR/.test(line));
}

/**
 * Starts MiniStack on 127.0.0.1:4566 from the repository's venv and waits for its health check. It
 * refuses to start when something already answers there: a server left over from another run would
 * mix its state into this one, and it is not ours to stop.
 */
export async function startMiniStack(options: MiniStackOptions): Promise<MiniStack> {
  const python = ministackPython(options.root);
  const port = options.port ?? MINISTACK_PORT;
  const tls = options.enforceIam;
  const endpoint = `${tls ? 'https' : 'http'}://${MINISTACK_HOST}:${port}`;
  if ((await healthy(`http://${MINISTACK_HOST}:${port}`)) || (await healthy(`https://${MINISTACK_HOST}:${port}`))) {
    throw new Error(
      `something already answers on ${MINISTACK_HOST}:${port} (a MiniStack left running?): stop it, then run the e2e tests again`,
    );
  }
  const log = openSync(options.logFile, 'a');
  const child = spawn(python, ['-m', 'ministack'], {
    cwd: options.root,
    env: {
      ...process.env,
      BIND_HOST: MINISTACK_HOST,
      GATEWAY_PORT: String(port),
      // Otherwise MiniStack opens an MQTT-TLS listener on 0.0.0.0:8883 whenever `cryptography` is importable.
      IOT_MTLS_ENABLED: '0',
      // INFO shows `Worker init failed`, the one line that explains a deploy hanging on a custom resource.
      LOG_LEVEL: 'INFO',
      SFN_WAIT_SCALE: String(SFN_WAIT_SCALE),
      ...(tls
        ? {
            AUTH: 'true',
            USE_SSL: '1',
            MINISTACK_SSL_CERT: tls.chainFile,
            MINISTACK_SSL_KEY: tls.keyFile,
            // Inherited by the Lambda workers (MiniStack only fills in what is unset) and its Python.
            ...trustEnv(tls),
            REQUESTS_CA_BUNDLE: tls.bundleFile,
            SSL_CERT_FILE: tls.bundleFile,
          }
        : {}),
    },
    // Its own process group: stopping it also ends the Lambda workers it spawned.
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const pid = child.pid;
  if (!pid) throw new Error(`could not start ${python} -m ministack`);
  let exited: number | string | null = null;
  const exit = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = code ?? signal;
      resolve();
    });
  });
  const readLog = () => (existsSync(options.logFile) ? readFileSync(options.logFile, 'utf8') : '');
  const server: MiniStack = {
    endpoint,
    pid,
    logFile: options.logFile,
    async reset() {
      if (tls) return; // A fresh server: its state is empty (and fetch cannot take the test CA).
      const response = await fetch(`${endpoint}/_ministack/reset`, {
        method: 'POST',
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) throw new Error(`MiniStack reset answered ${response.status}`);
    },
    async stop() {
      if (exited !== null) return;
      killGroup(pid, 'SIGTERM');
      // While a custom-resource wait is pending, MiniStack closes its port on SIGTERM but stays alive.
      const ended = await Promise.race([exit.then(() => true), sleep(5_000).then(() => false)]);
      if (!ended) {
        killGroup(pid, 'SIGKILL');
        await Promise.race([exit, sleep(5_000)]);
      }
      // The Lambda workers share the group; a worker that outlived its parent goes too.
      killGroup(pid, 'SIGKILL');
    },
    diagnostics() {
      const lines = diagnosticLines(readLog());
      return lines.length ? `MiniStack log (${options.logFile}):\n${lines.slice(-20).join('\n')}` : '';
    },
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  while (!(await healthy(endpoint, tls?.caFile))) {
    if (exited !== null || Date.now() > deadline) {
      await server.stop();
      throw new Error(
        `MiniStack ${exited !== null ? `exited (${exited})` : 'did not become healthy'}; log ${options.logFile}:\n${tail(readLog())}`,
      );
    }
    await sleep(100);
  }
  return server;
}
