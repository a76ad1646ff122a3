import * as z from 'zod';
import { RunNonceSchema } from './detonation-report';

/**
 * The monitoring agent's configuration: what Prepare hands the detonation task and the agent parses
 * (snake_case or camelCase keys), with the limits and network settings a run may ask for.
 */

/** Byte sizes: a number is MiB; a string takes a binary unit (`512m`, `1g`, `64k`, `1048576b` or bare bytes). */
const SizeSchema = z
  .union([z.number().positive(), z.string().regex(/^\s*\d+(\.\d+)?\s*[kmgt]?i?b?\s*$/i, 'a size such as 512m')])
  .transform((value) => {
    if (typeof value === 'number') return Math.round(value * 1024 * 1024);
    const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)/i.exec(value) as RegExpExecArray;
    const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[
      (match[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g' | 't'
    ];
    return Math.round(Number(match[1]) * unit);
  });
const PortSchema = z.number().int().min(1).max(65535);
const IpSchema = z.union([z.ipv4(), z.ipv6()]);

/**
 * The calls the behaviour rules read as they are, arguments and all: identity and capability
 * changes, namespaces, kernel modules and BPF, signals, sockets, reaching into other processes
 * (injection, fd theft, signals by pidfd), shared memory that outlives a process, and CPU affinity
 * (a sample widening its own). The default filter traces each of them.
 */
export const RULE_SYSCALLS = [
  'ptrace',
  'prctl',
  'setuid',
  'setgid',
  'setreuid',
  'setregid',
  'setresuid',
  'setresgid',
  'setgroups',
  'capset',
  'unshare',
  'init_module',
  'finit_module',
  'delete_module',
  'bpf',
  'memfd_create',
  'mount',
  'umount2',
  'chroot',
  'setsid',
  'kill',
  'tkill',
  'tgkill',
  'socket',
  'bind',
  'listen',
  'process_vm_writev',
  'process_vm_readv',
  'pidfd_open',
  'pidfd_send_signal',
  'pidfd_getfd',
  'shmget',
  'shmat',
  'sched_setaffinity',
] as const;

/** The calls that add, remove or rename a directory entry (and act on the entry itself, not a symlink's target). */
export const DIRECTORY_ENTRY_SYSCALLS = [
  'unlink',
  'unlinkat',
  'rename',
  'renameat',
  'renameat2',
  'link',
  'linkat',
  'symlink',
  'symlinkat',
] as const;

/**
 * The default syscall set: the rules' calls, the file-mutating calls and no stat family, with
 * %process and %network narrowed to what the agent reads. wait4/waitid and exit_group are left out
 * (`+++ exited +++` lines carry the exit status), and so are the send/recv calls: the network guard
 * sees connect, sendto with an address, sendmsg and sendmmsg before strace could.
 */
export const DEFAULT_SYSCALL_FILTER: readonly string[] = [
  ...RULE_SYSCALLS,
  'execve',
  'execveat',
  'clone',
  'clone3',
  'fork',
  'vfork',
  'socketpair',
  'connect',
  'accept',
  'accept4',
  'open',
  'openat',
  'openat2',
  'creat',
  ...DIRECTORY_ENTRY_SYSCALLS,
  'chmod',
  'fchmod',
  'fchmodat',
  'chown',
  'fchown',
  'lchown',
  'fchownat',
  'mkdir',
  'mkdirat',
  'rmdir',
  'truncate',
  'ftruncate',
  'mknod',
  'mknodat',
  'access',
  'faccessat',
  'faccessat2',
  'readlink',
  'readlinkat',
  'chdir',
  'fchdir',
  // `?`: strace older than 6.5 does not know the name and would refuse the whole set; it prints the
  // call as syscall_0x1c4 anyway (it traces every number it has no name for).
  '?fchmodat2',
];

const CONFIG_FIELDS = {
  memoryLimit: 'memory_limit',
  cpuLimit: 'cpu_limit',
  timeout: 'timeout',
  idleTimeout: 'idle_timeout',
  diskLimit: 'disk_limit',
  networkEnabled: 'network_enabled',
  internetAccess: 'internet_access',
  dnsServers: 'dns_servers',
  allowedPorts: 'allowed_ports',
  blockedPorts: 'blocked_ports',
  captureNetwork: 'capture_network',
  pcap: 'pcap',
  traceSyscalls: 'trace_syscalls',
  syscallFilter: 'syscall_filter',
  monitorFiles: 'monitor_files',
  watchedDirectories: 'watched_directories',
  monitorProcesses: 'monitor_processes',
  trackChildren: 'track_children',
  monitorPerformance: 'monitor_performance',
  sampleInterval: 'sample_interval',
  runNonce: 'run_nonce',
} as const;

/** Accepts the seed's snake_case names beside the camelCase ones; naming one setting twice is an error. */
function toCamelCase(
  input: unknown,
  ctx: { addIssue: (issue: { code: 'custom'; message: string; input: unknown }) => void },
): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const out: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const [camel, snake] of Object.entries(CONFIG_FIELDS)) {
    if (camel === snake || !(snake in out)) continue;
    if (camel in out) ctx.addIssue({ code: 'custom', message: `${snake} and ${camel} name the same setting`, input });
    out[camel] = out[snake];
    delete out[snake];
  }
  return out;
}

/**
 * The agent's configuration (`AGENT_CONFIG`), every setting optional with a safe default. Sizes
 * accept `512m`-style strings; durations are seconds.
 */
export const AgentConfigSchema = z.preprocess(
  toCamelCase,
  z
    .object({
      /** Address-space limit of each sample process (RLIMIT_AS). Default 512 MiB. */
      memoryLimit: SizeSchema.default(512 * 1024 * 1024),
      /** CPUs the sample may use (affinity), and with `timeout` its CPU-time budget (RLIMIT_CPU). Default 1. */
      cpuLimit: z.number().positive().max(64).default(1),
      /** Hard deadline of the run, seconds. Default 60. */
      timeout: z.number().positive().max(3600).default(60),
      /** Stop early after this many seconds without trace, CPU or network activity; 0 (or ≥ timeout) turns it off. Default 15. */
      idleTimeout: z.number().nonnegative().max(3600).default(15),
      /** Largest file (RLIMIT_FSIZE) and total bytes under the sandbox's writable directories. Default 256 MiB. */
      diskLimit: SizeSchema.default(256 * 1024 * 1024),
      /** False: every IP connection is refused (and recorded). */
      networkEnabled: z.boolean().default(true),
      /** True lets connections out for real; refused on AWS and without an explicit local override. */
      internetAccess: z.boolean().default(false),
      /** Name servers written into the sample's resolv.conf: the fake resolver. */
      dnsServers: z.array(IpSchema).min(1).max(3).default(['127.0.0.1']),
      /** When non-empty, only these destination ports (DNS to the fake resolver is always allowed). */
      allowedPorts: z.array(PortSchema).max(64).default([]),
      /** Destination ports refused outright. */
      blockedPorts: z.array(PortSchema).max(64).default([]),
      /** Include the network activity in the report. */
      captureNetwork: z.boolean().default(true),
      /**
       * A pcap of the sample's conversations with the fake network, uploaded beside the report. On by
       * default: it is taken from bytes the fake network already holds (no NET_RAW needed) and is
       * bounded, so it costs little; reported as unsupported, with the reason, where it cannot be taken.
       */
      pcap: z.boolean().default(true),
      /** Trace system calls with strace; without it only limits, network and resources are observed. */
      traceSyscalls: z.boolean().default(true),
      /** strace `-e trace=` set: names and %classes. */
      syscallFilter: z
        .union([
          z.array(z.string()),
          z.string().transform((s) =>
            s
              .split(',')
              .map((p) => p.trim())
              .filter(Boolean),
          ),
        ])
        .pipe(
          z
            // A leading `?` is strace's "skip this name if unknown" (for calls newer than the strace).
            .array(z.string().regex(/^\??%?[a-z0-9_]+$/, 'a syscall name or %class'))
            .min(1)
            .max(200),
        )
        .default([...DEFAULT_SYSCALL_FILTER]),
      /** Report file operations (rules see every path either way). */
      monitorFiles: z.boolean().default(true),
      /** Directories whose file operations the report lists; `~` is the sandbox's home. */
      watchedDirectories: z
        .array(z.string().regex(/^(~|\/)/, 'an absolute path or ~'))
        .max(64)
        .default([
          '~',
          '/tmp',
          '/var/tmp',
          '/dev/shm',
          '/etc',
          '/var',
          '/root',
          '/home',
          '/opt',
          '/usr/local',
          '/proc',
          '/sys',
        ]),
      /** Report the process tree and executions. */
      monitorProcesses: z.boolean().default(true),
      /** Observe the sample's children too; off: only its own process is reported and judged. */
      trackChildren: z.boolean().default(true),
      /** Sample CPU, memory, process count and disk use. */
      monitorPerformance: z.boolean().default(true),
      /** Seconds between resource samples. */
      sampleInterval: z.number().min(0.1).max(60).default(1),
      /**
       * A random value Prepare makes for this run only; the agent echoes it in the report so that
       * Collect can refuse a report written for another run (a replay or a forgery).
       */
      runNonce: RunNonceSchema.optional(),
    })
    .strict(),
);
/** The validated configuration, camelCase. */
export type AgentConfig = z.infer<typeof AgentConfigSchema>;
/** The configuration as written (snake_case or camelCase, defaults optional). */
export type AgentConfigInput = z.input<typeof AgentConfigSchema>;

/** The configuration could not be accepted; the message names the setting. */
export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
}

const isLoopback = (ip: string) => /^127\./.test(ip) || ip === '::1';

/**
 * Validates a configuration and applies the rules zod cannot see: real internet access, and
 * non-loopback name servers with it, need `allowInternet` (a local override the caller sets
 * explicitly, never on AWS).
 */
export function parseAgentConfig(input: unknown, options: { allowInternet: boolean }): AgentConfig {
  const parsed = AgentConfigSchema.safeParse(input ?? {});
  if (!parsed.success) throw new AgentConfigError(`invalid agent configuration: ${z.prettifyError(parsed.error)}`);
  const config = parsed.data;
  if (config.internetAccess && !options.allowInternet)
    throw new AgentConfigError(
      'internet_access is refused: it needs an explicit local override and is never allowed on AWS',
    );
  if (!options.allowInternet && !config.dnsServers.every(isLoopback))
    throw new AgentConfigError(
      'dns_servers must be loopback addresses (the fake resolver) without the local internet override',
    );
  return config;
}
