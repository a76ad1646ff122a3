import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureStaticVenv, STATIC_VENV_HOW_TO } from '../../local/static-worker';

/** Runs the Python static engine (`static/sandtrap_static`) from the project venv `.venv-static`. */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PYTHON = join(ROOT, '.venv-static', 'bin', 'python');
const ENV = { ...process.env, PYTHONPATH: join(ROOT, 'static'), PYTHONDONTWRITEBYTECODE: '1' };

export const venvReady = () => existsSync(PYTHON);

/**
 * Makes the venv when it is missing (a fresh clone: `npm test` needs nothing beside it), with the
 * pinned libraries of static/requirements.txt; fails, never skips, when that cannot be done.
 */
export const ensureVenv = (): void => ensureStaticVenv(ROOT);

/** Fails with how to make the venv when it is missing (every run goes through here). */
export function requireVenv(): void {
  if (!venvReady()) {
    throw new Error(`The static engine's venv is missing (${PYTHON}).\n${STATIC_VENV_HOW_TO}`);
  }
}

export interface StaticFinding {
  id: string;
  category: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  title: string;
  evidence: string[];
  attack: string[];
  path: string | null;
}

export interface StaticReport {
  schema: number;
  fileType: { type: string; mime: string };
  size: number;
  sha256: string;
  findings: StaticFinding[];
  threats: { name: string; engine: string; category: string; family: string | null; confidence: string }[];
  yara: {
    rule: string;
    namespace: string;
    tags: string[];
    strings: { identifier: string; offset: number; length: number }[];
    path: string | null;
  }[];
  members: { path: string; fileType: string; size: number }[];
  encrypted: boolean;
  errors: string[];
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `python -m sandtrap_static <args>`, with a 30 s limit. */
export function cli(args: string[]): Run {
  requireVenv();
  const started = Date.now();
  const run = spawnSync(PYTHON, ['-m', 'sandtrap_static', ...args], {
    env: ENV,
    encoding: 'utf8',
    timeout: 30_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, ms: Date.now() - started };
}

/** Analyses a file through the CLI; the run must succeed and print exactly one JSON object. */
export function analyzeFile(path: string, options: { name?: string; rulesDirs?: string[] } = {}): StaticReport {
  const args = ['analyze', path];
  if (options.name) args.push('--name', options.name);
  for (const dir of options.rulesDirs ?? []) args.push('--rules-dir', dir);
  const run = cli(args);
  if (run.status !== 0) throw new Error(`static engine exited ${run.status}: ${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one JSON line on stdout, got:\n${run.stdout}`);
  return JSON.parse(lines[0]!) as StaticReport;
}

/** Runs a Python snippet in the venv (with the engine importable), `input` on its stdin; returns its stdout. */
export function python(code: string, args: string[] = [], input?: string): string {
  requireVenv();
  const run = spawnSync(PYTHON, ['-c', code, ...args], { env: ENV, encoding: 'utf8', timeout: 30_000, input });
  if (run.status !== 0) throw new Error(`python exited ${run.status}: ${run.stderr}`);
  return run.stdout;
}

const RANK = { low: 0, medium: 1, high: 2, critical: 3 } as const;

/** Findings at `medium` or above. */
export const mediumOrAbove = (report: StaticReport) => report.findings.filter((f) => RANK[f.severity] >= 1);

export const findingIds = (report: StaticReport) => report.findings.map((f) => f.id);

export const findingById = (report: StaticReport, id: string, path: string | null = null) =>
  report.findings.find((f) => f.id === id && f.path === path);
