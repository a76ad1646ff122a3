import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureGuard } from '../container/agent/guard';
import { boxUnavailable, HOST_STATE_ROOT, prepareBox, runInBox } from '../local/detonation/host-sandbox';
import type { Metric } from './metric';

/**
 * What the host detonator's box adds to one detonation: its run directory (agent bundle and guard
 * copied in), the namespaces, the allow-listed root and its removal, measured around a trivial
 * command (`/bin/true`) against the same command run bare. The bundle is built once per process
 * and is not counted (a warm-up run builds it).
 */

function bare(): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn('/bin/true', [], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', () => resolve(performance.now() - start));
  });
}

async function boxed(guard: string): Promise<number> {
  const start = performance.now();
  const dirs = await prepareBox(guard);
  try {
    const exit = await runInBox(dirs, ['/bin/true'], {}, 30_000);
    if (exit.code !== 0) throw new Error(`the box failed (${exit.code}): ${exit.output}`);
  } finally {
    await dirs.remove();
  }
  return performance.now() - start;
}

/** The median added milliseconds per detonation, or null where the box cannot be made (not root). */
export async function boxSetupCost(runs: number): Promise<Metric | null> {
  if (boxUnavailable()) return null;
  const guard = await ensureGuard(join(HOST_STATE_ROOT, 'bin'));
  await boxed(guard);
  await bare();
  const added: number[] = [];
  for (let i = 0; i < runs; i++) added.push((await boxed(guard)) - (await bare()));
  added.sort((a, b) => a - b);
  const mid = Math.floor(added.length / 2);
  const median = added.length % 2 ? (added[mid] as number) : ((added[mid - 1] as number) + (added[mid] as number)) / 2;
  return {
    name: 'namespace_setup_ms',
    value: Math.round(median),
    unit: 'ms added per detonation by the host box (trivial sample, median)',
    target: '< 500',
  };
}
