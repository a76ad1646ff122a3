import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BehaviorKey } from '../../lambdas/core/contracts/detonation-report';
import { PathResolver, type ProcessView } from '../../container/agent/path-resolver';
import { judgeTrace } from './judge';

/**
 * Canonical paths: a trace that names a file another way (through /proc/self/cwd, /proc/self/root,
 * a `~/l -> .` symlink the sample made, `a/../`, `//`, an fd of the root directory) raises exactly
 * the indicators of its direct twin, for every behaviour key. The twins are strace lines as strace
 * prints them; successful opens come both without an fd annotation (strace could not decode it, so
 * the resolver does the work) and with the kernel's own path in it.
 */

const HOME = '/run/home';
const PID = 700;
const CHILD = 701;

/** One action of a scenario, on absolute paths (the spelling is applied when the trace is written). */
type Action =
  | { open: string; flags: string; ok: boolean }
  | { exec: string; argv?: string[] }
  | { unlink: string }
  | { rename: [string, string] }
  | { chmod: string; mode: string }
  | { unixConnect: string }
  | { connect: [string, number] };

/** How a twin spells an absolute path; `setup` are the lines that make the spelling work. */
interface Spelling {
  name: string;
  setup: string[];
  spell(path: string): string;
}

const line = (pid: number, call: string, ret: string, t = 1795370910.5) => `${pid} ${t.toFixed(6)} ${call} = ${ret}`;
const quoted = (s: string) => JSON.stringify(s);
/** The part of `path` relative to the home, through `..` when it is outside it. */
const fromHome = (path: string) => posix.relative(HOME, path) || '.';

const SPELLINGS: Spelling[] = [
  { name: 'direct', setup: [], spell: (p) => p },
  { name: '/proc/self/cwd', setup: [], spell: (p) => `/proc/self/cwd/${fromHome(p)}` },
  { name: '/proc/self/root', setup: [], spell: (p) => `/proc/self/root${p}` },
  { name: '/proc/<own pid>/root', setup: [], spell: (p) => `/proc/${PID}/root/${p}` },
  { name: '/proc/thread-self/cwd', setup: [], spell: (p) => `/proc/thread-self/cwd/${fromHome(p)}` },
  { name: 'relative', setup: [], spell: (p) => fromHome(p) },
  {
    name: '~/l -> .',
    setup: [line(PID, `symlinkat(".", AT_FDCWD<${HOME}>, "l")`, '0')],
    spell: (p) => `${HOME}/l/${fromHome(p)}`,
  },
  {
    name: 'l -> . (relative, renamed from tmp)',
    setup: [
      line(PID, 'symlink(".", "tmp")', '0'),
      line(PID, `renameat2(AT_FDCWD<${HOME}>, "tmp", AT_FDCWD<${HOME}>, "l", RENAME_NOREPLACE)`, '0'),
    ],
    spell: (p) => `l/l/./${fromHome(p)}`,
  },
  {
    name: '~/r -> / (absolute target), via a chain of links',
    setup: [
      line(PID, `symlinkat("/", AT_FDCWD<${HOME}>, "r")`, '0'),
      line(PID, `symlinkat("r", AT_FDCWD<${HOME}>, "r2")`, '0'),
    ],
    spell: (p) => `${HOME}/r2${p}`,
  },
  { name: 'a/../', setup: [], spell: (p) => `${posix.dirname(p)}/a/../${posix.basename(p)}` },
  { name: '//', setup: [], spell: (p) => `/${p.replaceAll('/', '//')}` },
  {
    name: '/proc/self/fd/N of the root directory',
    setup: [line(PID, 'openat(AT_FDCWD, "/", O_RDONLY|O_DIRECTORY)', '7')],
    spell: (p) => `/proc/self/fd/7${p}`,
  },
  {
    name: '/dev/fd/N of a child, after chdir',
    setup: [
      line(PID, `clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD)`, String(CHILD)),
      line(CHILD, 'openat(AT_FDCWD, "..", O_RDONLY|O_DIRECTORY)', '5'),
      line(CHILD, 'chdir("/tmp")', '0'),
    ],
    spell: (p) => `/dev/fd/5/${posix.relative('/run', p)}`,
  },
];

/** Writes a scenario's trace with every path spelled one way. `annotate`: successful opens carry the kernel's path. */
function trace(actions: Action[], spelling: Spelling, annotate: boolean): string {
  // The spellings with a child run the actions in it: the child has the fds and the cwd they rely on.
  const pid = spelling.setup.some((l) => l.startsWith(`${CHILD} `)) ? CHILD : PID;
  const cwd = pid === CHILD ? '/tmp' : HOME;
  const lines = [line(PID, `execve("${HOME}/sample.sh", ["sample.sh"], 0x7ffd /* 7 vars */)`, '0'), ...spelling.setup];
  for (const a of actions) {
    if ('open' in a) {
      const ret = a.ok ? (annotate ? `3<${a.open}>` : '3') : '-1 EACCES (Permission denied)';
      lines.push(line(pid, `openat(AT_FDCWD<${cwd}>, ${quoted(spelling.spell(a.open))}, ${a.flags}, 0644)`, ret));
    } else if ('exec' in a) {
      const argv = (a.argv ?? [posix.basename(a.exec)]).map(quoted).join(', ');
      lines.push(line(pid, `execve(${quoted(spelling.spell(a.exec))}, [${argv}], 0x7ffd /* 7 vars */)`, '0'));
    } else if ('unlink' in a) {
      lines.push(line(pid, `unlinkat(AT_FDCWD<${cwd}>, ${quoted(spelling.spell(a.unlink))}, 0)`, '0'));
    } else if ('rename' in a) {
      const [from, to] = a.rename.map((p) => quoted(spelling.spell(p)));
      lines.push(line(pid, `rename(${from}, ${to})`, '0'));
    } else if ('chmod' in a) {
      lines.push(line(pid, `fchmodat(AT_FDCWD<${cwd}>, ${quoted(spelling.spell(a.chmod))}, ${a.mode})`, '0'));
    } else if ('unixConnect' in a) {
      lines.push(
        line(
          pid,
          `connect(4<UNIX-STREAM:[9]>, {sa_family=AF_UNIX, sun_path=${quoted(spelling.spell(a.unixConnect))}}, 110)`,
          '-1 ENOENT (No such file or directory)',
        ),
      );
    } else {
      const [address, port] = a.connect;
      lines.push(
        line(
          pid,
          `connect(4<TCP:[9]>, {sa_family=AF_INET, sin_port=htons(${port}), sin_addr=inet_addr("${address}")}, 16)`,
          '-1 EINPROGRESS (Operation now in progress)',
        ),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The indicators a trace raises: id and how often, the part of an indicator that spelling must not change. */
function indicators(text: string, strict = true): string[] {
  const { behavior, stats } = judgeTrace(text, {
    home: HOME,
    placed: new Set([`${HOME}/sample.sh`]),
    hidden: ['/opt/sandtrap', '/run/private'],
  });
  if (strict) expect(stats.unparsed).toBe(0);
  return Object.values(behavior)
    .flat()
    .map((i) => `${i.id} x${i.occurrences}`)
    .sort();
}

const write = (path: string, ok = false): Action => ({ open: path, flags: 'O_WRONLY|O_CREAT|O_APPEND', ok });
const read = (path: string, ok = false): Action => ({ open: path, flags: 'O_RDONLY', ok });

/** Per behaviour key: actions on paths whose spelling must not matter, and the indicators the direct twin raises. */
const SCENARIOS: { key: BehaviorKey; actions: Action[]; expected: string[] }[] = [
  {
    key: 'persistence',
    actions: [
      write(`${HOME}/.bashrc`, true),
      write('/etc/cron.d/job'),
      write(`${HOME}/.ssh/authorized_keys`, true),
      write('/etc/ld.so.preload'),
      write('/etc/systemd/system/x.service'),
      write(`${HOME}/.config/autostart/x.desktop`, true),
    ],
    expected: [
      'persistence.autostart',
      'persistence.cron',
      'persistence.preload',
      'persistence.shell-init',
      'persistence.ssh-keys',
      'persistence.systemd',
    ],
  },
  {
    key: 'privilegeEscalation',
    actions: [
      write(`${HOME}/helper`, true),
      { chmod: `${HOME}/helper`, mode: '04755' },
      write('/etc/passwd'),
      write('/etc/sudoers.d/x'),
      { unixConnect: '/var/run/docker.sock' },
    ],
    expected: [
      'privilegeEscalation.account-files',
      'privilegeEscalation.container-socket',
      'privilegeEscalation.setuid-bit',
      'privilegeEscalation.sudoers',
    ],
  },
  {
    key: 'evasion',
    actions: [read('/.dockerenv', true), read('/opt/sandtrap/agent.js'), { unlink: `${HOME}/sample.sh` }],
    expected: ['evasion.agent-probe', 'evasion.sandbox-check', 'evasion.self-deletion'],
  },
  {
    key: 'dataHarvesting',
    actions: [
      read('/etc/shadow'),
      read(`${HOME}/.ssh/id_rsa`, true),
      read(`${HOME}/.aws/credentials`, true),
      read('/proc/1/environ'),
      read(`${HOME}/.bash_history`, true),
    ],
    expected: [
      'dataHarvesting.cloud-credentials',
      'dataHarvesting.password-hashes',
      'dataHarvesting.process-environment',
      'dataHarvesting.shell-history',
      'dataHarvesting.ssh-keys',
    ],
  },
  {
    // The network rules read no path: what changes with the spelling is only who connects.
    key: 'network',
    actions: [{ exec: '/usr/bin/python3' }, { connect: ['203.0.113.10', 4443] }],
    expected: ['network.raw-ip', 'network.unusual-port'],
  },
  {
    key: 'destructive',
    actions: [
      ...Array.from({ length: 20 }, (_, i) => ({ unlink: `${HOME}/docs/f${i}.txt` })),
      // Each original read, then renamed to its mark: the encryption pattern.
      ...Array.from({ length: 5 }, (_, i): Action[] => [
        { open: `${HOME}/d${i}.txt`, flags: 'O_RDONLY', ok: true },
        { rename: [`${HOME}/d${i}.txt`, `${HOME}/d${i}.txt.locked`] },
      ]).flat(),
      { open: `${HOME}/README_DECRYPT.txt`, flags: 'O_WRONLY|O_CREAT|O_TRUNC', ok: true },
    ],
    expected: ['destructive.encrypt-rename', 'destructive.mass-delete', 'destructive.ransom-note'],
  },
  {
    key: 'execution',
    actions: [
      write(`${HOME}/stage2`, true),
      { exec: `${HOME}/stage2` },
      write('/tmp/x', true),
      { exec: '/tmp/x' },
      { exec: '/usr/bin/curl' },
    ],
    expected: ['execution.downloader', 'execution.dropped-file', 'execution.world-writable', 'execution.written-file'],
  },
  {
    key: 'cryptomining',
    actions: [write(`${HOME}/xmrig`, true), { exec: `${HOME}/xmrig`, argv: ['kworker'] }],
    expected: ['cryptomining.miner-program', 'execution.written-file'],
  },
];

describe('canonical paths: every spelling raises what the direct twin raises', () => {
  for (const scenario of SCENARIOS) {
    describe(scenario.key, () => {
      const direct = indicators(trace(scenario.actions, SPELLINGS[0] as Spelling, false));

      it('direct twin raises the expected indicators', () => {
        expect(direct.map((i) => i.split(' ')[0])).toEqual(expect.arrayContaining(scenario.expected));
        expect(direct.some((i) => i.startsWith(`${scenario.key}.`))).toBe(true);
      });

      for (const spelling of SPELLINGS.slice(1)) {
        for (const annotate of [false, true]) {
          it(`via ${spelling.name}${annotate ? ', opens annotated by -yy' : ''}`, () => {
            expect(indicators(trace(scenario.actions, spelling, annotate))).toEqual(direct);
          });
        }
      }
    });
  }
});

describe('path resolver', () => {
  const view = (cwd: Record<number, string>, fds: Record<string, string> = {}): ProcessView => ({
    cwd: (tid) => cwd[tid] ?? null,
    fd: (tid, fd) => fds[`${tid}:${fd}`] ?? null,
    threadGroup: (tid) => (tid in cwd ? tid : null),
  });

  it('resolves `..` after a symlink the way the kernel does (the link first)', () => {
    const r = new PathResolver(view({ 1: '/h' }));
    r.symlink('/h/deep', '/etc/cron.d');
    // Lexically `/h/deep/../x` is `/h/x`; the kernel reaches /etc/x.
    expect(r.resolve(1, '/h', 'deep/../x')).toBe('/etc/x');
  });

  it("leaves other processes' /proc links and unknown relative bases as written", () => {
    const r = new PathResolver(view({ 1: '/h' }));
    expect(r.resolve(1, '/h', '/proc/999/cwd/.bashrc')).toBe('/proc/999/cwd/.bashrc');
    expect(r.resolve(1, null, 'x/../y')).toBe('x/../y');
    expect(r.resolve(1, '/h', '/proc/self/status')).toBe('/proc/1/status');
  });

  it('does not follow the last component when the call acts on the link itself', () => {
    const r = new PathResolver(view({ 1: '/h' }));
    r.symlink('/h/l', '/etc/passwd');
    expect(r.resolve(1, '/h', 'l', false)).toBe('/h/l');
    expect(r.resolve(1, '/h', 'l')).toBe('/etc/passwd');
    r.remove('/h/l');
    expect(r.resolve(1, '/h', 'l')).toBe('/h/l');
  });

  it('moves links with a renamed directory and stops at a symlink loop', () => {
    const r = new PathResolver(view({ 1: '/h' }));
    r.symlink('/h/d/l', '/etc');
    r.rename('/h/d', '/h/e');
    expect(r.resolve(1, '/h', 'e/l/shadow')).toBe('/etc/shadow');
    expect(r.resolve(1, '/h', 'd/l/shadow')).toBe('/h/d/l/shadow');
    r.symlink('/h/a', 'b');
    r.symlink('/h/b', 'a');
    expect(r.resolve(1, '/h', 'a/x')).toMatch(/^\/h\/[ab]\/x$/);
  });

  it('swaps links on RENAME_EXCHANGE', () => {
    const r = new PathResolver(view({ 1: '/h' }));
    r.symlink('/h/a', '/etc');
    r.symlink('/h/d/l', '/var/log');
    r.exchange('/h/a', '/h/d');
    expect(r.resolve(1, '/h', 'd/shadow')).toBe('/etc/shadow');
    expect(r.resolve(1, '/h', 'a/l/x')).toBe('/var/log/x');
    expect(r.resolve(1, '/h', 'd/l/x')).toBe('/etc/l/x');
  });

  it('an exchange with a start-up file is persistence, whichever name comes first', () => {
    const head = `${PID} 1795370910.4 execve("${HOME}/sample.sh", ["sample.sh"], 0x7ffd /* 7 vars */) = 0`;
    const exchange = (a: string, b: string) =>
      `${head}\n${PID} 1795370910.5 renameat2(AT_FDCWD<${HOME}>, "${a}", AT_FDCWD<${HOME}>, "${b}", RENAME_EXCHANGE) = 0\n`;
    expect(indicators(exchange('staged', '/proc/self/cwd/.bashrc'))).toContain('persistence.shell-init x1');
    expect(indicators(exchange('l/../.bashrc', 'staged'))).toContain('persistence.shell-init x1');
    expect(indicators(exchange('staged', 'other'))).toEqual([]);
  });

  it('always ends, with a clean absolute path, whatever links and spellings a sample throws at it', () => {
    const part = fc.constantFrom(
      '..',
      '.',
      '',
      'proc',
      'self',
      'thread-self',
      'cwd',
      'root',
      'fd',
      '3',
      'task',
      '1',
      'l',
      'm',
      'h',
    );
    const path = fc.array(part, { maxLength: 24 }).map((parts) => parts.join('/'));
    fc.assert(
      fc.property(fc.array(fc.tuple(path, path), { maxLength: 6 }), path, fc.boolean(), (links, probe, follow) => {
        const r = new PathResolver(view({ 1: '/h' }, { '1:3': '/h/l' }));
        for (const [at, target] of links) r.symlink(r.resolve(1, '/h', at, false), target);
        const out = r.resolve(1, '/h', probe, follow);
        expect(out.startsWith('/')).toBe(true);
        expect(out === '/' || !/(^|\/)\.\.?(\/|$)|\/\/|\/$/.test(out)).toBe(true);
        expect(out.length).toBeLessThan(5 * 4096 * 12);
      }),
      { numRuns: 300 },
    );
  });

  it('costs each component one lookup: long paths under a deep link stay cheap', () => {
    const r = new PathResolver(view({ 1: '/h' }));
    const deep = `/h/${'a/'.repeat(2000)}l`;
    r.symlink(deep, '/etc');
    expect(r.resolve(1, '/h', `${deep}/shadow`)).toBe('/etc/shadow');
    const started = performance.now();
    for (let i = 0; i < 1000; i++) r.resolve(1, '/h', `/proc/self/cwd/${'a/'.repeat(2000)}x`);
    // About 0.3 s on a loaded 2-core machine; a walk that rebuilt the path per component took 95 s.
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('bounds the symlink table', () => {
    const r = new PathResolver(view({ 1: '/h' }));
    for (let i = 0; i < 20_005; i++) r.symlink(`/h/l${i}`, '.');
    expect(r.overflow).toBe(5);
  });
});

describe('hostile traces', () => {
  it('never make path tracking throw, whatever the calls, names and annotations', () => {
    const name = fc.constantFrom(
      'openat',
      'open',
      'creat',
      'symlinkat',
      'symlink',
      'renameat2',
      'rename',
      'unlinkat',
      'chdir',
      'fchdir',
      'execve',
      'execveat',
      'fchmodat2',
      'syscall_0x1c4',
      'connect',
      'process_vm_writev',
      'clone',
    );
    const fragment = fc.constantFrom(
      '"/proc/self/fd/3/x"',
      '"l/../.."',
      '"."',
      '""',
      '"\\x1b\\r"',
      'AT_FDCWD</h>',
      'AT_FDCWD',
      '3</a\\74b>',
      '3<pipe:[1]>',
      '5</dev/null<char 1:3>>',
      '0x9ed',
      'RENAME_EXCHANGE',
      'O_RDWR|O_CREAT',
      '{sa_family=AF_UNIX, sun_path="/proc/self/root/x"}',
      '[{iov_base="x", iov_len=1}]',
      '701',
    );
    const ret = fc.constantFrom('0', '3', '3</h/y (deleted)>', '-1 ENOENT (No such file or directory)', '?', '701');
    const call = fc.tuple(name, fc.array(fragment, { maxLength: 5 }), ret, fc.constantFrom(PID, CHILD));
    fc.assert(
      fc.property(fc.array(call, { maxLength: 30 }), (calls) => {
        const lines = calls.map(([n, args, r, pid]) => line(pid, `${n}(${args.join(', ')})`, r));
        const text = `${line(PID, `execve("${HOME}/s", ["s"], 0x1 /* 1 var */)`, '0')}\n${lines.join('\n')}\n`;
        expect(() => indicators(text, false)).not.toThrow();
      }),
      { numRuns: 200 },
    );
  });
});
