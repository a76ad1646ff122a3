import type { FakeNetworkLog } from '../../../container/agent/fakenet';
import type { GuardConnection } from '../../../container/agent/guard';
import { networkObservations } from '../../../container/agent/network-log';
import type { Observation } from '../../../container/agent/observations';
import { JUDGED_HOME, judgeTrace } from '../judge';

/**
 * Builds strace lines as the agent's strace prints them (pid, epoch time, call, result) for the
 * rule tests, and network observations through the agent's own guard/fake-network join.
 */

export const HOME = JUDGED_HOME;
/** The sample's first process. */
export const SAMPLE = 700;
const T0 = 1795370910;

const q = (s: string) => JSON.stringify(s);

export class Trace {
  private readonly lines: string[] = [];
  private tick = 0;

  constructor(sample = `${HOME}/s`) {
    this.exec(SAMPLE, sample, [sample.split('/').pop() as string]);
  }

  /** Any call of `pid`, as strace prints it: `name(args) = ret`. */
  call(pid: number, call: string, ret = '0'): this {
    this.tick++;
    this.lines.push(`${pid} ${T0}.${String(this.tick).padStart(6, '0')} ${call} = ${ret}`);
    return this;
  }

  /** A line of `pid` as strace prints it after the time: an unfinished start or a resumption. */
  raw(pid: number, text: string): this {
    this.tick++;
    this.lines.push(`${pid} ${T0}.${String(this.tick).padStart(6, '0')} ${text}`);
    return this;
  }

  /** `parent` forks `child`. */
  fork(parent: number, child: number): this {
    return this.call(
      parent,
      'clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD)',
      String(child),
    );
  }

  /** `pid` execs `path` with `argv` (and an environment when given); `ret` `-1 ENOENT (...)` for a failure. */
  exec(pid: number, path: string, argv: string[], env?: string[], ret = '0'): this {
    const envText = env ? `[${env.map(q).join(', ')}]` : '0x7ffd /* 7 vars */';
    return this.call(pid, `execve(${q(path)}, [${argv.map(q).join(', ')}], ${envText})`, ret);
  }

  /** A child of the sample runs a program: fork, then exec. */
  run(child: number, path: string, argv: string[], env?: string[]): this {
    return this.fork(SAMPLE, child).exec(child, path, argv, env);
  }

  open(pid: number, path: string, flags = 'O_RDONLY', ret = '3'): this {
    return this.call(pid, `openat(AT_FDCWD, ${q(path)}, ${flags}${/O_CREAT/.test(flags) ? ', 0644' : ''})`, ret);
  }

  /** `pid` creates (or truncates) `path` for writing. */
  create(pid: number, path: string): this {
    return this.open(pid, path, 'O_WRONLY|O_CREAT|O_TRUNC');
  }

  unlink(pid: number, path: string): this {
    return this.call(pid, `unlinkat(AT_FDCWD, ${q(path)}, 0)`);
  }

  rename(pid: number, from: string, to: string): this {
    return this.call(pid, `rename(${q(from)}, ${q(to)})`);
  }

  /** A TCP (or UDP) connect of `pid` to an IPv4 address. */
  connect(pid: number, address: string, port: number, proto: 'TCP' | 'UDP' = 'TCP'): this {
    return this.call(
      pid,
      `connect(3<${proto}:[12345]>, {sa_family=AF_INET, sin_port=htons(${port}), sin_addr=inet_addr(${q(address)})}, 16)`,
    );
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }

  /** The indicators the trace raises (id → ATT&CK ids), with network observations added after it. */
  ids(after: readonly Observation[] = []): Map<string, string[]> {
    return judgeTrace(this.text(), {}, after).ids;
  }
}

/** One connection the guard logged, and what the fake network heard on it. */
export interface Contact {
  pid?: number;
  address: string;
  port: number;
  /** The name the fake resolver handed `address` out for. */
  name?: string;
  proto?: 'tcp' | 'udp';
  http?: { method: string; path: string; body?: string; host?: string };
  tls?: string;
  payload?: string;
}

/** Network observations as the agent builds them from the guard's log and the fake network's records. */
export function network(contacts: readonly Contact[], dns: { name: string; qtype?: string }[] = []): Observation[] {
  const log: FakeNetworkLog = { dns: [], http: [], tls: [], payloads: [], dropped: 0 };
  const connections: GuardConnection[] = contacts.map((c, i) => {
    const time = T0 + 10 + i;
    const localPort = 40000 + i;
    const proto = c.proto ?? 'tcp';
    if (c.http)
      log.http.push({
        time,
        clientPort: localPort,
        method: c.http.method,
        host: c.http.host ?? c.name ?? c.address,
        path: c.http.path,
        userAgent: 'curl/8.5.0',
        bodyBytes: c.http.body?.length ?? 0,
        bodyPreview: c.http.body ?? '',
      });
    if (c.tls) log.tls.push({ time, clientPort: localPort, serverName: c.tls });
    if (c.payload)
      log.payloads.push({ time, clientPort: localPort, protocol: proto, bytes: c.payload.length, preview: c.payload });
    return {
      time,
      pid: c.pid ?? SAMPLE,
      call: 'connect',
      family: 'inet',
      proto,
      addr: c.address,
      port: c.port,
      action: 'redirect',
      reason: '',
      localPort,
      result: 0,
      line: `{"pid":${c.pid ?? SAMPLE},"call":"connect","addr":${q(c.address)},"port":${c.port},"action":"redirect"}`,
    };
  });
  for (const [i, d] of dns.entries())
    log.dns.push({
      time: T0 + 5 + i,
      clientPort: 30000 + i,
      name: d.name,
      qtype: d.qtype ?? 'A',
      answer: '127.10.0.9',
    });
  const names = new Map(contacts.filter((c) => c.name).map((c) => [c.address, c.name as string]));
  return networkObservations(
    { started: true, mountNamespace: true, connections, dropped: 0 },
    log,
    (a) => names.get(a) ?? null,
  );
}
