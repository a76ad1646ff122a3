import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseAgentConfig } from '../lambdas/core/contracts/agent-config';
import { straceArguments, tool } from '../container/agent/run';
import { parseTraceFile } from '../container/agent/trace-parser';
import { boxSetupCost } from './box-setup';
import type { Benchmark, Metric } from './metric';

/**
 * The detonation agent's costs, as ratios taken within one run so machines of different speeds
 * compare: the tracer's overhead (the agent's own strace command line, traced ÷ untraced median
 * wall time, runs alternated) on a CPU-bound, a script-like and a fork-heavy workload, and the
 * trace parser's throughput on a trace recorded from those workloads, and (as root) what the host
 * detonator's namespace box adds to a detonation.
 */

const CPU_PROGRAM = `
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  uint64_t x = 88172645463325252ull, n = strtoull(argv[1], 0, 10);
  for (uint64_t i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
  printf("%llu\\n", (unsigned long long)x);
  return 0;
}
`;

/** Interpreter start-ups with imports and a small file walk: what a script sample does first. */
const SCRIPT_WORKLOAD = (starts: number) => `
for i in $(seq ${starts}); do
  python3 -c 'import json, email.parser, http.client, subprocess, sqlite3, ssl'
done
find /usr/lib/python3* -maxdepth 2 -name '*.py' | head -n 400 | xargs cat > /dev/null
`;

const FORK_WORKLOAD = (forks: number) => `i=0; while [ $i -lt ${forks} ]; do /bin/true; i=$((i+1)); done`;

function timeRun(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(argv[0] as string, argv.slice(1), {
      stdio: 'ignore',
      env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(performance.now() - start) : reject(new Error(`${argv.join(' ')} exited ${code}`)),
    );
  });
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/**
 * Traced ÷ untraced wall time: the median of the ratios of back-to-back pairs (one warm-up of each
 * first). Pairing cancels most of the drift of a machine whose load changes during the benchmark.
 */
async function overhead(
  command: string[],
  tracer: (trace: string) => string[],
  runs: number,
  dir: string,
): Promise<number> {
  const trace = join(dir, 'trace.log');
  await timeRun(command);
  await timeRun([...tracer(trace), ...command]);
  const ratios: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so neither always runs on the warmer cache.
    const first = i % 2 === 0;
    const a = await timeRun(first ? command : [...tracer(trace), ...command]);
    const b = await timeRun(first ? [...tracer(trace), ...command] : command);
    ratios.push(first ? b / a : a / b);
  }
  return Math.round(median(ratios) * 1000) / 1000;
}

/** A trace of at least `lines` lines, made by repeating a real one recorded from the workloads. */
async function recordedTrace(dir: string, lines: number, workload: string): Promise<{ file: string; lines: number }> {
  const sample = join(dir, 'recorded.log');
  await timeRun([
    tool('strace'),
    '-f',
    '-q',
    '-ttt',
    '-yy',
    '-s',
    '256',
    '-o',
    sample,
    '--',
    '/bin/sh',
    '-c',
    workload,
  ]);
  const text = await readFile(sample, 'latin1');
  const perCopy = text.split('\n').length - 1;
  const copies = Math.max(1, Math.ceil(lines / perCopy));
  const file = join(dir, 'parser-input.log');
  const out = createWriteStream(file, { encoding: 'latin1' });
  for (let i = 0; i < copies; i++)
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  await new Promise<void>((resolve) => out.end(() => resolve()));
  return { file, lines: copies * perCopy };
}

/** The benchmark `bench/run.ts` runs; `quick` stays under ~40 s. */
export const detonationBenchmark: Benchmark = {
  id: 'detonation',
  title: 'Detonation agent (strace with the agent options, trace parser)',
  async run({ quick }) {
    const dir = await mkdtemp(join(tmpdir(), 'sandtrap-bench-'));
    try {
      const config = parseAgentConfig({}, { allowInternet: false });
      const tracer = (trace: string) => straceArguments(config, trace);
      const runs = quick ? 5 : 10;
      const metrics: Metric[] = [];

      await writeFile(join(dir, 'cpu.c'), CPU_PROGRAM);
      await timeRun(['gcc', '-O1', '-o', join(dir, 'cpu'), join(dir, 'cpu.c')]);
      // Traced against bare, one workload each: CPU-bound (nothing to trace), interpreter start-ups
      // with imports and a file walk (many file calls), and a fork loop (the tracer's worst case).
      const workloads: { name: string; command: string[]; unit: string; target: string }[] = [
        {
          name: 'tracer_overhead_cpu',
          command: [join(dir, 'cpu'), quick ? '150000000' : '400000000'],
          unit: 'x (traced / bare wall time, median of pairs)',
          target: '<= 1.05',
        },
        {
          name: 'tracer_overhead_script',
          command: ['/bin/sh', '-c', SCRIPT_WORKLOAD(quick ? 3 : 10)],
          unit: 'x (python start-ups with imports, file walk)',
          target: '<= 1.5',
        },
        {
          name: 'tracer_overhead_fork',
          command: ['/bin/sh', '-c', FORK_WORKLOAD(quick ? 500 : 2000)],
          unit: 'x (sh loop of /bin/true)',
          target: '<= 2',
        },
      ];
      for (const { name, command, unit, target } of workloads)
        metrics.push({ name, value: await overhead(command, tracer, runs, dir), unit, target });

      const input = await recordedTrace(
        dir,
        quick ? 400_000 : 1_000_000,
        `${SCRIPT_WORKLOAD(1)}\n${FORK_WORKLOAD(50)}`,
      );
      const megabytes = (await stat(input.file)).size / 1e6;
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const start = performance.now();
        let events = 0;
        const stats = await parseTraceFile(input.file, () => events++);
        if (stats.lines !== input.lines || events === 0)
          throw new Error(`parser read ${stats.lines} of ${input.lines} lines`);
        best = Math.min(best, (performance.now() - start) / 1000);
      }
      metrics.push({
        name: 'parser_lines_per_s',
        value: Math.round(input.lines / best),
        unit: `lines/s (${input.lines} lines, best of 3)`,
        target: '>= 700000',
      });
      metrics.push({ name: 'parser_mb_per_s', value: Math.round((megabytes / best) * 10) / 10, unit: 'MB/s' });

      // Where the host box can be made (root, namespaces): what it adds to each detonation.
      const box = await boxSetupCost(runs);
      if (box) metrics.push(box);
      return metrics;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
