import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SYSCALL_FILTER, parseAgentConfig, RULE_SYSCALLS } from '../../lambdas/core/contracts/agent-config';
import { judgeTrace } from './judge';
import { TraceParser, type TraceEvent } from '../../container/agent';
import { TraceCollector, type Observation } from '../../container/agent/observations';
import {
  decodeArgv,
  decodeFd,
  decodeMode,
  decodeSockaddr,
  decodeString,
  splitArgs,
} from '../../container/agent/strace-args';

/** Lines recorded from `strace -f -q --seccomp-bpf -ttt -yy -s 256` runs of the samples (paths shortened). */
const RECORDED = String.raw`793   1795370910.025957 execve("/usr/bin/prlimit", ["prlimit", "--cpu=10:12", "--", "setpriv"], 0x7ffef271beb8 /* 1 var */) = 0
793   1795370910.026506 openat(AT_FDCWD</>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache>
793   1795370910.028504 execve("/usr/bin/setpriv", ["setpriv", "--reuid=10001", "--", "env"], 0x7ffead5bed90 /* 1 var */) = 0
793   1795370910.028600 setresuid(10001, 10001, -1) = 0
793   1795370910.047453 execve("/usr/bin/env", ["env", "-i", "-C", "/run/home", "/bin/sh", "sample.sh"], 0x7ffd0e1d8068 /* 1 var */) = 0
793   1795370910.047600 chdir("/run/home") = 0
793   1795370910.047700 execve("/bin/sh", ["/bin/sh", "sample.sh"], 0x7ffd0e1d8000 /* 7 vars */) = 0
793   1795370910.048000 openat(AT_FDCWD</run/home>, "sample.sh", O_RDONLY) = 3</run/home/sample.sh>
793   1795370910.048100 vfork( <unfinished ...>
10276 1795370910.048200 execve("/bin/true", ["/bin/true"], 0x7ffe02bb3d90 /* 7 vars */ <unfinished ...>
793   1795370910.048300 <... vfork resumed>) = 10276
10276 1795370910.048400 <... execve resumed>) = 0
10276 1795370910.048500 exit_group(0)   = ?
10276 1795370910.048600 +++ exited with 0 +++
793   1795370910.048700 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=10276, si_uid=10001, si_status=0, si_utime=0, si_stime=0} ---
793   1795370910.048800 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7fe633a8a990, parent_tid=0x7fe633a8a990, exit_signal=0, stack=0x7fe63328a000, stack_size=0x7fff80, tls=0x7fe633a8a6c0} => {parent_tid=[10277]}, 88) = 10277
10277 1795370910.048900 openat(AT_FDCWD</run/home>, "/etc/shadow", O_RDONLY|O_CLOEXEC) = -1 EACCES (Permission denied)
793   1795370910.049000 chdir("sub") = 0
793   1795370910.049100 openat(AT_FDCWD</run/home/sub>, "a) = 0 x", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4</run/home/sub/a) = 0 x>
793   1795370910.049200 fchmod(4</run/home/sub/a\76b\"c) = 0 x\n\74y\76>, 04755) = 0
793   1795370910.049300 renameat2(AT_FDCWD</run/home/sub>, "doc.txt", AT_FDCWD</run/home/sub>, "doc.txt.locked", RENAME_NOREPLACE) = 0
793   1795370910.049400 openat(AT_FDCWD</run/home/sub>, "/dev/null", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 5</dev/null<char 1:3>>
793   1795370910.049500 sendto(3<UDP:[127.0.0.1:45613->127.0.0.1:53]>, "\316\314\1\0\0\1", 33, MSG_NOSIGNAL, NULL, 0) = 33
793   1795370910.049600 connect(6<UNIX-STREAM:[98765]>, {sa_family=AF_UNIX, sun_path="/var/run/docker.sock"}, 23) = -1 ENOENT (No such file or directory)
793   1795370910.049700 ptrace(PTRACE_TRACEME) = -1 EPERM (Operation not permitted)
793   1795370910.049800 nanosleep({tv_sec=300, tv_nsec=0},  <unfinished ...>
10278 1795370910.049900 +++ killed by SIGSEGV (core dumped) +++
793   1795370910.050000 <... nanosleep resumed> <unfinished ...>) = ?
793   1795370910.050100 +++ killed by SIGKILL +++
`;

function parse(text: string, chunk = 1 << 20): { events: TraceEvent[]; parser: TraceParser } {
  const events: TraceEvent[] = [];
  const parser = new TraceParser((e) => events.push(e));
  for (let i = 0; i < text.length; i += chunk) parser.push(text.slice(i, i + chunk));
  parser.end();
  return { events, parser };
}

describe('trace parser', () => {
  it('reads padded pids, -ttt times, calls, returns and errnos', () => {
    const { events, parser } = parse(RECORDED);
    expect(parser.stats).toMatchObject({ lines: 29, unparsed: 0, exits: 3, signals: 1, resumed: 3, unfinished: 0 });
    const first = events[0];
    expect(first).toMatchObject({ kind: 'syscall', pid: 793, name: 'execve', retval: 0, errno: null });
    expect(first?.time).toBeCloseTo(1795370910.025957, 6);
    const shadow = events.find((e) => e.kind === 'syscall' && e.args.includes('/etc/shadow'));
    expect(shadow).toMatchObject({ pid: 10277, retval: -1, errno: 'EACCES', ret: '-1 EACCES (Permission denied)' });
  });

  it('stitches unfinished calls to their resumption per pid, even interleaved', () => {
    const { events } = parse(RECORDED);
    const vfork = events.find((e) => e.kind === 'syscall' && e.name === 'vfork');
    expect(vfork).toMatchObject({ pid: 793, retval: 10276, args: '' });
    const exec = events.find((e) => e.kind === 'syscall' && e.pid === 10276 && e.name === 'execve');
    expect(exec).toMatchObject({ retval: 0, args: '"/bin/true", ["/bin/true"], 0x7ffe02bb3d90 /* 7 vars */' });
    // The evidence line of a stitched call is the whole call, not "<... execve resumed>".
    expect(exec?.line).toBe(
      '10276 1795370910.048400 execve("/bin/true", ["/bin/true"], 0x7ffe02bb3d90 /* 7 vars */) = 0',
    );
    const sleep = events.find((e) => e.kind === 'syscall' && e.name === 'nanosleep');
    expect(sleep).toMatchObject({ retval: null, errno: null });
  });

  it('announces a fork left unfinished before the lines of the child it makes', () => {
    const { events } = parse(RECORDED);
    const spawning = events.findIndex((e) => e.kind === 'spawning');
    expect(events[spawning]).toMatchObject({ kind: 'spawning', pid: 793, thread: false });
    expect(events.findIndex((e) => e.pid === 10276)).toBeGreaterThan(spawning);
    const thread = parse('793 1795370910.1 clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0} <unfinished ...>\n');
    expect(thread.events).toEqual([expect.objectContaining({ kind: 'spawning', thread: true })]);
    // Only fork calls: another call left unfinished is no sign of a child.
    expect(parse('793 1795370910.1 nanosleep({tv_sec=3, tv_nsec=0},  <unfinished ...>\n').events).toEqual([]);
  });

  it('is not fooled by ") = " inside strings and -yy annotations', () => {
    const { events } = parse(RECORDED);
    const open = events.find((e) => e.kind === 'syscall' && e.args.includes('"a) = 0 x"'));
    expect(open).toMatchObject({ name: 'openat', retval: 4, ret: '4</run/home/sub/a) = 0 x>' });
    const fchmod = events.find((e) => e.kind === 'syscall' && e.name === 'fchmod');
    expect(fchmod).toMatchObject({ retval: 0, args: String.raw`4</run/home/sub/a\76b\"c) = 0 x\n\74y\76>, 04755` });
    const devnull = events.find((e) => e.kind === 'syscall' && e.args.includes('/dev/null'));
    expect(devnull).toMatchObject({ retval: 5 });
  });

  it('reports exits with their code or signal, and signals by name', () => {
    const { events } = parse(RECORDED);
    expect(events.filter((e) => e.kind === 'exit')).toEqual([
      expect.objectContaining({ pid: 10276, code: 0, signal: null }),
      expect.objectContaining({ pid: 10278, code: null, signal: 'SIGSEGV' }),
      expect.objectContaining({ pid: 793, code: null, signal: 'SIGKILL' }),
    ]);
    expect(events.filter((e) => e.kind === 'signal')).toEqual([
      expect.objectContaining({ pid: 793, signal: 'SIGCHLD' }),
    ]);
  });

  it('gives the same events whatever the chunk boundaries', () => {
    const whole = parse(RECORDED).events;
    for (const chunk of [1, 7, 64, 333]) expect(parse(RECORDED, chunk).events).toEqual(whole);
  });

  it('counts what is not an event line instead of guessing', () => {
    const { events, parser } = parse(
      'strace: Process 5 attached\n5 1.5 +++ superseded by execve in pid 4 +++\n5 1.5 --- stopped by SIGSTOP ---\nnot a line\n',
    );
    expect(parser.stats.unparsed).toBe(3);
    expect(events).toEqual([expect.objectContaining({ kind: 'signal', signal: 'SIGSTOP' })]);
  });
});

describe('strace argument decoding', () => {
  it('splits at top-level commas only', () => {
    expect(splitArgs('AT_FDCWD</a, b>, "x, \\"y\\"", {sa_family=AF_INET, sin_port=htons(53)}, [1, 2], 0644')).toEqual([
      'AT_FDCWD</a, b>',
      '"x, \\"y\\""',
      '{sa_family=AF_INET, sin_port=htons(53)}',
      '[1, 2]',
      '0644',
    ]);
  });

  it('decodes strings, fds, argv, modes and socket addresses', () => {
    expect(decodeString(String.raw`"a\"b\n\303\251\x41"`)).toEqual({ value: 'a"b\néA', truncated: false });
    expect(decodeString('"abc"...')).toEqual({ value: 'abc', truncated: true });
    expect(decodeFd(String.raw`4</run/a\76b\"c\n\74y\76>`)).toEqual({ fd: '4', target: '/run/a>b"c\n<y>' });
    expect(decodeFd('5</dev/null<char 1:3>>')).toEqual({ fd: '5', target: '/dev/null<char 1:3>' });
    expect(decodeArgv('["sh", "-c", "echo \\"hi\\""]', 10)).toEqual(['sh', '-c', 'echo "hi"']);
    expect(decodeMode('04755')).toBe(0o4755);
    expect(decodeMode('S_IFREG|0644')).toBe(0o644);
    expect(decodeSockaddr('{sa_family=AF_INET, sin_port=htons(3333), sin_addr=inet_addr("203.0.113.10")}')).toEqual({
      family: 'AF_INET',
      address: '203.0.113.10',
      port: 3333,
    });
    expect(decodeSockaddr('{sa_family=AF_UNIX, sun_path="/var/run/docker.sock"}')).toEqual({
      family: 'AF_UNIX',
      address: '/var/run/docker.sock',
      port: null,
    });
  });
});

describe('trace collector', () => {
  function collect(text: string): { observations: Observation[]; collector: TraceCollector } {
    const observations: Observation[] = [];
    const collector = new TraceCollector((o) => observations.push(o), {
      sandboxUid: 10001,
      wrapperExecs: 3,
      cwd: '/run/home',
      maxArgv: 32,
      followChildren: true,
    });
    for (const e of parse(text).events) collector.handle(e);
    return { observations, collector };
  }

  it('skips the wrapper chain and starts at the sample exec, as the sandbox uid', () => {
    const { observations, collector } = collect(RECORDED);
    expect(collector.started).toBe(true);
    // Neither the wrappers' setresuid nor their library opens reach the rules.
    expect(observations.some((o) => o.type === 'call' && o.name === 'setresuid')).toBe(false);
    expect(observations.some((o) => o.type === 'file' && o.path === '/etc/ld.so.cache')).toBe(false);
    const execs = observations.filter((o) => o.type === 'exec');
    expect(execs.map((o) => [o.pid, o.path, o.uid])).toEqual([
      [793, '/bin/sh', 10001],
      [10276, '/bin/true', 10001],
    ]);
  });

  it('builds the process tree: forks are processes, CLONE_THREAD children are not', () => {
    const { collector } = collect(RECORDED);
    const processes = collector
      .processes()
      .map((p) => ({ pid: p.pid, ppid: p.ppid, exe: p.exe, exitCode: p.exitCode, signal: p.signal }));
    expect(processes).toEqual([
      { pid: 793, ppid: null, exe: '/bin/sh', exitCode: null, signal: 'SIGKILL' },
      { pid: 10276, ppid: 793, exe: '/bin/true', exitCode: 0, signal: null },
      { pid: 10278, ppid: null, exe: null, exitCode: null, signal: 'SIGSEGV' },
    ]);
  });

  it('gives a thread printed before its clone returns to its process', () => {
    const head = RECORDED.split('\n').slice(0, 8).join('\n');
    const { observations, collector } = collect(`${head}
793   1795370910.048100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_THREAD, exit_signal=0} <unfinished ...>
10290 1795370910.048200 openat(AT_FDCWD, "notes", O_RDONLY) = 3
793   1795370910.048300 <... clone3 resumed> => {parent_tid=[10290]}, 88) = 10290
`);
    expect(collector.processes().map((p) => p.pid)).toEqual([793]);
    expect(observations).toContainEqual(expect.objectContaining({ type: 'file', path: '/run/home/notes', pid: 793 }));
  });

  it('resolves relative paths against the working directory and fd annotations', () => {
    const { observations } = collect(RECORDED);
    const files = observations
      .filter((o) => o.type === 'file')
      .map((o) => (o.type === 'file' ? [o.op, o.path, o.target, o.mode, o.ok, o.pid] : []));
    // Opened by a thread (10277): attributed to its process.
    expect(files).toContainEqual(['read', '/etc/shadow', null, null, false, 793]);
    expect(files).toContainEqual(['write', '/run/home/sub/a) = 0 x', null, 0o644, true, 793]);
    expect(files).toContainEqual(['chmod', '/run/home/sub/a>b"c) = 0 x\n<y>', null, 0o4755, true, 793]);
    expect(files).toContainEqual([
      'rename-from',
      '/run/home/sub/doc.txt',
      '/run/home/sub/doc.txt.locked',
      null,
      true,
      793,
    ]);
  });

  it('passes the calls the rules need, with decoded arguments', () => {
    const { observations } = collect(RECORDED);
    expect(observations).toContainEqual(
      expect.objectContaining({ type: 'call', name: 'ptrace', args: ['PTRACE_TRACEME'], errno: 'EPERM' }),
    );
    expect(observations).toContainEqual(
      expect.objectContaining({
        type: 'connect',
        source: 'trace',
        protocol: 'unix',
        address: '/var/run/docker.sock',
        result: 'ENOENT',
      }),
    );
    expect(observations).toContainEqual(expect.objectContaining({ type: 'signal', pid: 10278, signal: 'SIGSEGV' }));
  });
});

describe('trace gaps: calls that reach into other processes are traced and judged', () => {
  const SAMPLE = 800;
  const CHILD = 801;
  const head = `${SAMPLE} 1795370910.000001 execve("/run/home/s", ["s"], 0x7ffd /* 7 vars */) = 0\n${SAMPLE} 1795370910.000002 clone(child_stack=NULL, flags=SIGCHLD) = ${CHILD}\n`;

  const judge = (lines: string) => judgeTrace(head + lines);
  const at = (call: string, ret = '0', pid = SAMPLE) => `${pid} 1795370910.5 ${call} = ${ret}\n`;

  it('the default set traces every one of them, and strace accepts it', () => {
    for (const name of [...RULE_SYSCALLS, '?fchmodat2']) expect(DEFAULT_SYSCALL_FILTER).toContain(name);
    const strace = spawnSync('strace', [
      '-f',
      '--seccomp-bpf',
      '-q',
      '-o',
      '/dev/null',
      '-e',
      `trace=${DEFAULT_SYSCALL_FILTER.join(',')}`,
      'true',
    ]);
    expect(strace.error?.message ?? strace.stderr.toString()).toBe('');
    expect(strace.status).toBe(0);
    expect(parseAgentConfig({}, { allowInternet: false }).syscallFilter).toContain('?fchmodat2');
  });

  it('process_vm_writev into another process is injection (T1055); into itself it is not', () => {
    const other = judge(
      at(
        `process_vm_writev(${CHILD}, [{iov_base="INJECTED\\0", iov_len=9}], 1, [{iov_base=0x55e0b49f9070, iov_len=9}], 1, 0)`,
        '9',
      ),
    );
    expect(other.ids.get('execution.injection-vm-write')).toEqual(['T1055']);
    const self = judge(
      at(`process_vm_writev(${SAMPLE}, [{iov_base="x", iov_len=1}], 1, [{iov_base=0x1, iov_len=1}], 1, 0)`, '1'),
    );
    expect(self.ids.has('execution.injection-vm-write')).toBe(false);
  });

  it('writing /proc/<child>/mem is T1055.009, /proc/self/mem is not; reading it harvests memory', () => {
    const child = judge(at(`openat(AT_FDCWD</run/home>, "/proc/${CHILD}/mem", O_RDWR)`, `3</proc/${CHILD}/mem>`));
    expect(child.ids.get('execution.injection-proc-mem')).toEqual(['T1055.009']);
    const viaSelfOfChild = judge(
      at('openat(AT_FDCWD</run/home>, "/proc/self/mem", O_RDWR)', '-1 EACCES (Permission denied)', CHILD),
    );
    expect(viaSelfOfChild.ids.has('execution.injection-proc-mem')).toBe(false);
    const read = judge(
      at(`openat(AT_FDCWD</run/home>, "/proc/${CHILD}/mem", O_RDONLY)`, `3</proc/${CHILD}/mem>`) +
        at(`process_vm_readv(${CHILD}, [{iov_base="", iov_len=8}], 1, [{iov_base=0x1, iov_len=8}], 1, 0)`, '8'),
    );
    expect(read.ids.get('dataHarvesting.process-memory')).toEqual(['T1003.007']);
  });

  it('ptrace POKEDATA/SETREGS on another pid is T1055.008', () => {
    for (const request of ['PTRACE_POKEDATA', 'PTRACE_POKETEXT', 'PTRACE_SETREGS']) {
      const { ids } = judge(at(`ptrace(${request}, ${CHILD}, 0x55e0b49f9070, 0x41)`));
      expect(ids.get('execution.injection')).toEqual(['T1055.008']);
    }
  });

  it('pidfd, SysV shared memory and affinity calls reach the rules as calls', () => {
    const { observations } = judge(
      at(`pidfd_open(${CHILD}, 0)`, '4<anon_inode:[pidfd]>') +
        at('pidfd_send_signal(4<anon_inode:[pidfd]>, SIGKILL, NULL, 0)') +
        at('pidfd_getfd(4<anon_inode:[pidfd]>, 3, 0)', '5') +
        at('shmget(0x5a, 4096, IPC_CREAT|0600)', '7') +
        at('shmat(7, NULL, 0)', '0x7f0000000000') +
        at(`sched_setaffinity(${SAMPLE}, 8, [0, 1])`),
    );
    const names = observations.flatMap((o) => (o.type === 'call' ? [o.name] : []));
    expect(names).toEqual(['pidfd_open', 'pidfd_send_signal', 'pidfd_getfd', 'shmget', 'shmat', 'sched_setaffinity']);
  });

  it('fchmodat2 sets a setuid bit whether strace names it or prints it by number', () => {
    const named = judge(at('fchmodat2(AT_FDCWD</run/home>, "helper", 04755, 0)'));
    expect(named.ids.has('privilegeEscalation.setuid-bit')).toBe(true);
    expect(named.observations).toContainEqual(
      expect.objectContaining({ type: 'file', op: 'chmod', path: '/run/home/helper' }),
    );
    const numbered = judge(at('syscall_0x1c4(0xffffff9c, 0x55e6a763e004, 0x9ed, 0, 0x7fe8c9df86d0, 0x1)'));
    expect(numbered.ids.has('privilegeEscalation.setuid-bit')).toBe(true);
    const plain = judge(at('syscall_0x1c4(0xffffff9c, 0x55e6a763e004, 0x1ed, 0, 0x7fe8c9df86d0, 0x1)'));
    expect(plain.ids.has('privilegeEscalation.setuid-bit')).toBe(false);
  });
});
