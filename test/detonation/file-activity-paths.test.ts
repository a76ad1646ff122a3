import { describe, expect, it } from 'vitest';
import { TraceParser, type TraceEvent } from '../../container/agent';
import { TraceCollector, type Observation } from '../../container/agent/observations';

/**
 * The paths of the report's file activity: relative names after a chdir, `AT_FDCWD` with and
 * without strace's annotation, and dirfd-relative `*at` calls, each resolved once. A chdir used to
 * move the working directory before its own path was resolved, so `cd lib` from /var was recorded
 * as `/var/lib/lib` and `cd home` from / as `/home/home`.
 */

const ROOT = 800;
/** The wrapper chain: prlimit, setpriv, env, then the sample's own exec. */
const WRAPPERS = [
  `${ROOT} 1795370910.000100 execve("/usr/bin/prlimit", ["prlimit"], 0x7ffe /* 1 var */) = 0`,
  `${ROOT} 1795370910.000200 execve("/usr/bin/setpriv", ["setpriv"], 0x7ffe /* 1 var */) = 0`,
  `${ROOT} 1795370910.000300 execve("/usr/bin/env", ["env"], 0x7ffe /* 1 var */) = 0`,
  `${ROOT} 1795370910.000400 execve("/run/home/sample", ["./sample"], 0x7ffe /* 1 var */) = 0`,
];

function fileActivity(lines: readonly string[]): Array<[string, string]> {
  const events: TraceEvent[] = [];
  const parser = new TraceParser((e) => events.push(e));
  parser.push(`${[...WRAPPERS, ...lines].join('\n')}\n`);
  parser.end();
  const observations: Observation[] = [];
  const collector = new TraceCollector((o) => observations.push(o), {
    sandboxUid: 10001,
    wrapperExecs: 3,
    cwd: '/run/home',
    maxArgv: 32,
    followChildren: true,
  });
  for (const e of events) collector.handle(e);
  return observations.flatMap((o) => (o.type === 'file' ? [[o.op ?? '', o.path] as [string, string]] : []));
}

const at = (n: number) => `1795370911.${String(n).padStart(6, '0')}`;

describe('file activity paths', () => {
  it('records a relative chdir as the directory it enters, not that directory joined again', () => {
    const files = fileActivity([
      `${ROOT} ${at(1)} chdir("/var") = 0`,
      `${ROOT} ${at(2)} chdir("lib") = 0`,
      `${ROOT} ${at(3)} openat(AT_FDCWD, "dpkg/status", O_RDONLY) = -1 ENOENT (No such file or directory)`,
      `${ROOT} ${at(4)} chdir("/") = 0`,
      `${ROOT} ${at(5)} chdir("home") = 0`,
      `${ROOT} ${at(6)} openat(AT_FDCWD, "x/.ssh/id_rsa", O_RDONLY) = -1 EACCES (Permission denied)`,
    ]);
    expect(files).toEqual([
      ['chdir', '/var'],
      ['chdir', '/var/lib'],
      ['read', '/var/lib/dpkg/status'],
      ['chdir', '/'],
      ['chdir', '/home'],
      ['read', '/home/x/.ssh/id_rsa'],
    ]);
    expect(files.some(([, path]) => /\/(lib\/lib|home\/home)(\/|$)/.test(path))).toBe(false);
  });

  it("uses strace's AT_FDCWD annotation when there is one, and the tracked cwd when there is not", () => {
    const files = fileActivity([
      `${ROOT} ${at(1)} openat(AT_FDCWD</run/home>, ".bashrc", O_WRONLY|O_APPEND) = 3</run/home/.bashrc>`,
      `${ROOT} ${at(2)} chdir("/tmp") = 0`,
      `${ROOT} ${at(3)} openat(AT_FDCWD</tmp>, "drop.sh", O_WRONLY|O_CREAT|O_TRUNC, 0755) = 4</tmp/drop.sh>`,
      `${ROOT} ${at(4)} unlinkat(AT_FDCWD</tmp>, "drop.sh", 0) = 0`,
      `${ROOT} ${at(5)} chdir("..") = 0`,
      `${ROOT} ${at(6)} openat(AT_FDCWD, "etc/passwd", O_RDONLY) = -1 ENOENT (No such file or directory)`,
    ]);
    expect(files).toEqual([
      ['write', '/run/home/.bashrc'],
      ['chdir', '/tmp'],
      ['write', '/tmp/drop.sh'],
      ['delete', '/tmp/drop.sh'],
      ['chdir', '/'],
      ['read', '/etc/passwd'],
    ]);
  });

  it('resolves dirfd-relative calls against the directory the fd holds, annotated or tracked', () => {
    const files = fileActivity([
      `${ROOT} ${at(1)} openat(AT_FDCWD</run/home>, "/var/lib", O_RDONLY|O_DIRECTORY) = 5</var/lib>`,
      `${ROOT} ${at(2)} openat(5</var/lib>, "apt/lists/lock", O_RDONLY) = -1 ENOENT (No such file or directory)`,
      // Without -yy annotations the resolver reads the fd table it kept.
      `${ROOT} ${at(3)} openat(5, "lib/x", O_RDONLY) = -1 ENOENT (No such file or directory)`,
      `${ROOT} ${at(4)} mkdirat(5, "cache", 0700) = 0`,
      `${ROOT} ${at(5)} fchdir(5</var/lib>) = 0`,
      `${ROOT} ${at(6)} openat(AT_FDCWD, "lib", O_RDONLY) = -1 ENOENT (No such file or directory)`,
    ]);
    expect(files).toEqual([
      ['read', '/var/lib'],
      ['read', '/var/lib/apt/lists/lock'],
      ['read', '/var/lib/lib/x'],
      ['mkdir', '/var/lib/cache'],
      ['read', '/var/lib/lib'],
    ]);
  });
});
