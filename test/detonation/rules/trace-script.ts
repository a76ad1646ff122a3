import { posix } from 'node:path';
import type { Indicator } from '../../../lambdas/core/contracts/detonation-report';
import { JUDGED_HOME, judgeTrace } from '../judge';

/**
 * Writes strace lines (as the agent's strace prints them: pid, time, `-yy` fd annotations) for a
 * sample and its children, so a rule test reads as what the sample does. Each line is 0.1 s after
 * the last; `pause` moves the clock.
 */

export const SAMPLE_PID = 900;
export const HOME = JUDGED_HOME;

const quote = (s: string) => JSON.stringify(s);
const DENIED = '-1 EACCES (Permission denied)';

export class TraceScript {
  private readonly lines: string[] = [];
  private time = 1795370910;
  private nextPid = SAMPLE_PID + 1;
  /** The process the next lines come from. */
  pid = SAMPLE_PID;

  constructor(sample = `${HOME}/s`) {
    this.exec(sample, [posix.basename(sample)]);
  }

  /** A raw call line of the current process. */
  call(call: string, ret: string): this {
    this.time += 0.1;
    this.lines.push(`${this.pid} ${this.time.toFixed(6)} ${call} = ${ret}`);
    return this;
  }

  pause(seconds: number): this {
    this.time += seconds;
    return this;
  }

  /** Forks a child of the current process and continues as the child. */
  fork(): this {
    const child = this.nextPid++;
    this.call('clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD)', String(child));
    this.pid = child;
    return this;
  }

  /** Continues as `pid` (the sample itself by default). */
  as(pid = SAMPLE_PID): this {
    this.pid = pid;
    return this;
  }

  exec(path: string, argv: string[], env: string[] | null = null, ok = true): this {
    const envText = env === null ? '0x7ffd /* 7 vars */' : `[${env.map(quote).join(', ')}]`;
    return this.call(
      `execve(${quote(path)}, [${argv.map(quote).join(', ')}], ${envText})`,
      ok ? '0' : '-1 ENOENT (No such file or directory)',
    );
  }

  /** Forks, runs `argv` (its program looked up in /usr/bin unless a path), and returns to the parent. */
  run(argv: string[], env: string[] | null = null, ok = true): this {
    const parent = this.pid;
    const [program = ''] = argv;
    this.fork().exec(program.includes('/') ? program : `/usr/bin/${program}`, argv, env, ok);
    this.pid = parent;
    return this;
  }

  open(path: string, flags: string, ok = true): this {
    return this.call(`openat(AT_FDCWD, ${quote(path)}, ${flags}, 0644)`, ok ? `3<${path}>` : DENIED);
  }

  read(path: string, ok = true): this {
    return this.open(path, 'O_RDONLY|O_CLOEXEC', ok);
  }

  /** Creates or replaces a file's content. */
  write(path: string, ok = true): this {
    return this.open(path, 'O_WRONLY|O_CREAT|O_TRUNC', ok);
  }

  append(path: string, ok = true): this {
    return this.open(path, 'O_WRONLY|O_CREAT|O_APPEND', ok);
  }

  unlink(path: string, ok = true): this {
    return this.call(`unlinkat(AT_FDCWD, ${quote(path)}, 0)`, ok ? '0' : DENIED);
  }

  truncate(path: string, ok = true): this {
    return this.call(`truncate(${quote(path)}, 0)`, ok ? '0' : DENIED);
  }

  symlink(target: string, path: string, ok = true): this {
    return this.call(`symlinkat(${quote(target)}, AT_FDCWD, ${quote(path)})`, ok ? '0' : DENIED);
  }

  rename(from: string, to: string): this {
    return this.call(`renameat2(AT_FDCWD, ${quote(from)}, AT_FDCWD, ${quote(to)}, 0)`, '0');
  }

  mkdir(path: string, ok = true): this {
    return this.call(`mkdirat(AT_FDCWD, ${quote(path)}, 0755)`, ok ? '0' : DENIED);
  }

  chmod(path: string, mode: string): this {
    return this.call(`fchmodat(AT_FDCWD, ${quote(path)}, ${mode})`, '0');
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }

  /** Every indicator the trace raises. */
  judgeAll(placed: string[] = []): Indicator[] {
    return Object.values(judgeTrace(this.text(), { placed: new Set(placed) }).behavior).flat();
  }

  /** The indicators the trace raises: rule id → ATT&CK ids. */
  judge(placed: string[] = [], hidden: string[] = []): Map<string, string[]> {
    return judgeTrace(this.text(), { placed: new Set(placed), hidden }).ids;
  }
}

/** A fresh script for the sample. */
export const sample = (path?: string) => new TraceScript(path);
