import {
  REPORT_LIMITS,
  type BoundedList,
  type Connection,
  type DnsQuery,
  type Execution,
  type FileOperation,
  type FileOperationKind,
  type HttpRequest,
  type NetworkActivity,
  type Payload,
  type ProcessRecord,
  type ResourceSample,
  type TlsServerName,
} from '../../lambdas/core/contracts/detonation-report';
import type { AgentConfig } from '../../lambdas/core/contracts/agent-config';
import { Clip, offsetSeconds } from './bounded';
import type { Observation, ProcessState } from './observations';
import type { RawSample } from './run';

/**
 * Keeps what the report lists (processes, executions, file operations by path, network activity,
 * resource samples), each capped as it fills: the count goes on, the items stop. Which sections
 * fill at all follows the configuration (monitor_processes, monitor_files and watched_directories,
 * capture_network, monitor_performance).
 */

/** A list that keeps its first `max` items and counts the rest. */
export class Capped<T> {
  private readonly items: T[] = [];
  private count = 0;

  constructor(private readonly max: number) {}

  push(item: T): void {
    this.count++;
    if (this.items.length < this.max) this.items.push(item);
  }

  list(): BoundedList<T> {
    return { items: [...this.items], count: this.count, truncated: this.count > this.items.length };
  }
}

/** Distinct paths tracked before further new paths are only counted. */
const MAX_TRACKED_PATHS = 20_000;

interface PathTally {
  ops: Set<FileOperationKind>;
  count: number;
  failures: number;
  first: number;
}

/** Characters of a DNS type, an errno name, a guard reason: short by nature, bounded all the same. */
const SHORT = 64;
const PREVIEW = 256;

const CONNECTION_PROTOCOLS = new Set<Connection['protocol']>(['tcp', 'udp', 'unix', 'other']);
const CONNECTION_ACTIONS = new Set<Connection['action']>(['redirected', 'blocked', 'allowed', 'observed']);

/** The report's lists, filled from observations across all runs of one detonation. */
export class ActivityRecorder {
  private readonly processes = new Capped<ProcessRecord>(REPORT_LIMITS.processes);
  private readonly executions = new Capped<Execution>(REPORT_LIMITS.executions);
  private readonly paths = new Map<string, PathTally>();
  private untrackedPaths = 0;
  private readonly dns = new Capped<DnsQuery>(REPORT_LIMITS.dnsQueries);
  private readonly connections = new Capped<Connection>(REPORT_LIMITS.connections);
  private readonly http = new Capped<HttpRequest>(REPORT_LIMITS.httpRequests);
  private readonly tls = new Capped<TlsServerName>(REPORT_LIMITS.tlsServerNames);
  private readonly payloads = new Capped<Payload>(REPORT_LIMITS.payloads);
  private readonly samples: ResourceSample[] = [];
  private readonly watched: string[];

  /** `t0`: epoch seconds the report's offsets count from. */
  constructor(
    private readonly config: AgentConfig,
    home: string,
    private readonly t0: number,
  ) {
    this.watched = config.watchedDirectories.map(
      (dir) => (dir === '~' || dir.startsWith('~/') ? `${home}${dir.slice(1)}` : dir).replace(/\/+$/, '') || '/',
    );
  }

  private offset(time: number, clip: Clip): number {
    return offsetSeconds(time, this.t0, clip);
  }

  private isWatched(path: string): boolean {
    return this.watched.some((dir) => dir === '/' || path === dir || path.startsWith(`${dir}/`));
  }

  private file(path: string, op: FileOperationKind, ok: boolean, time: number): void {
    if (typeof path !== 'string' || !this.config.monitorFiles || !this.isWatched(path)) return;
    let tally = this.paths.get(path);
    if (!tally) {
      if (this.paths.size >= MAX_TRACKED_PATHS) {
        this.untrackedPaths++;
        return;
      }
      tally = { ops: new Set(), count: 0, failures: 0, first: Number.isFinite(time) ? time : this.t0 };
      this.paths.set(path, tally);
    }
    tally.ops.add(op);
    tally.count++;
    if (!ok) tally.failures++;
  }

  /** Records one observation; every sample-controlled value is bounded here (see `Clip`). */
  observe(o: Observation): void {
    switch (o.type) {
      case 'file': {
        if (o.op === 'write' && o.ok) {
          const flags = typeof o.flags === 'string' ? o.flags : '';
          if (/O_CREAT/.test(flags)) this.file(o.path, 'create', true, o.time);
          if (/O_TRUNC/.test(flags)) this.file(o.path, 'truncate', true, o.time);
          if (/O_APPEND/.test(flags)) this.file(o.path, 'append', true, o.time);
        }
        this.file(o.path, o.op, o.ok, o.time);
        if (o.op === 'rename-from' && o.target) this.file(o.target, 'rename-to', o.ok, o.time);
        return;
      }
      case 'exec': {
        this.file(o.path, 'exec', o.ok, o.time);
        if (!this.config.monitorProcesses) return;
        const clip = new Clip();
        const pid = clip.pid(o.pid);
        if (pid === null) return;
        this.executions.push({
          time: this.offset(o.time, clip),
          pid,
          path: clip.text(o.path),
          argv: clip.list<unknown>(o.argv, REPORT_LIMITS.argv).map((a) => clip.text(a)),
          uid: clip.uid(o.uid),
          result: o.ok ? 'ok' : clip.text(o.errno ?? 'error', SHORT),
          ...clip.flag(),
        });
        return;
      }
      default:
    }
    if (!this.config.captureNetwork) return;
    const clip = new Clip();
    switch (o.type) {
      case 'connect':
        this.connections.push({
          time: this.offset(o.time, clip),
          pid: clip.pid(o.pid),
          protocol: CONNECTION_PROTOCOLS.has(o.protocol) ? o.protocol : 'other',
          address: clip.text(o.address),
          port: clip.port(o.port),
          hostname: clip.nullableText(o.hostname),
          action: CONNECTION_ACTIONS.has(o.action) ? o.action : 'observed',
          reason: clip.nullableText(o.reason),
          result: clip.text(o.result, SHORT),
          ...clip.flag(),
        });
        return;
      case 'dns':
        this.dns.push({
          time: this.offset(o.time, clip),
          name: clip.text(o.name),
          type: clip.text(o.qtype, SHORT),
          answer: clip.nullableText(o.answer, SHORT),
          ...clip.flag(),
        });
        return;
      case 'http':
        this.http.push({
          time: this.offset(o.time, clip),
          method: clip.text(o.method, 32),
          host: clip.text(o.host),
          path: clip.text(o.path),
          userAgent: clip.nullableText(o.userAgent),
          port: clip.port(o.port),
          bodyBytes: clip.count(o.bodyBytes),
          bodyPreview: clip.text(o.bodyPreview, PREVIEW),
          ...clip.flag(),
        });
        return;
      case 'tls':
        this.tls.push({
          time: this.offset(o.time, clip),
          serverName: clip.text(o.serverName),
          port: clip.port(o.port),
          ...clip.flag(),
        });
        return;
      case 'payload':
        this.payloads.push({
          time: this.offset(o.time, clip),
          protocol: o.protocol === 'udp' ? 'udp' : 'tcp',
          address: clip.nullableText(o.address),
          port: clip.port(o.port),
          hostname: clip.nullableText(o.hostname),
          bytes: clip.count(o.bytes),
          preview: clip.text(o.preview, PREVIEW),
          ...clip.flag(),
        });
        return;
      default:
    }
  }

  /** The processes of one run (its collector's table). */
  addProcesses(states: readonly ProcessState[]): void {
    if (!this.config.monitorProcesses) return;
    for (const p of states) {
      const clip = new Clip();
      const pid = clip.pid(p.pid);
      if (pid === null) continue;
      this.processes.push({
        pid,
        ppid: clip.pid(p.ppid),
        exe: clip.nullableText(p.exe),
        argv: clip.list<unknown>(p.argv, REPORT_LIMITS.argv).map((a) => clip.text(a)),
        uid: clip.uid(p.uid),
        start: this.offset(p.start, clip),
        end: p.end === null ? null : this.offset(p.end, clip),
        exitCode: clip.integer(p.exitCode),
        signal: clip.nullableText(p.signal, SHORT),
        ...(p.member ? { member: clip.text(p.member) } : {}),
        ...clip.flag(),
      });
    }
  }

  addSamples(samples: readonly RawSample[]): void {
    for (const s of samples) {
      const clip = new Clip();
      this.samples.push({
        time: this.offset(s.time, clip),
        processes: clip.count(s.processes),
        cpuSeconds: Math.round(clip.seconds(s.cpuSeconds) * 100) / 100,
        rssBytes: clip.count(s.rssBytes),
        diskBytes: clip.count(s.diskBytes),
        traceBytes: clip.count(s.traceBytes),
        ...clip.flag(),
      });
    }
  }

  processList(): BoundedList<ProcessRecord> {
    return this.processes.list();
  }

  executionList(): BoundedList<Execution> {
    return this.executions.list();
  }

  fileOperationList(): BoundedList<FileOperation> {
    const all = [...this.paths.entries()].sort((a, b) => a[1].first - b[1].first);
    const items = all.slice(0, REPORT_LIMITS.fileOperations).map(([path, t]) => {
      const clip = new Clip();
      return {
        path: clip.text(path),
        operations: [...t.ops],
        count: Math.max(1, clip.count(t.count)),
        failures: clip.count(t.failures),
        first: this.offset(t.first, clip),
        ...clip.flag(),
      };
    });
    const count = all.length + this.untrackedPaths;
    return { items, count, truncated: count > items.length };
  }

  network(): NetworkActivity {
    return {
      dnsQueries: this.dns.list(),
      connections: this.connections.list(),
      httpRequests: this.http.list(),
      tlsServerNames: this.tls.list(),
      payloads: this.payloads.list(),
    };
  }

  /** Resource samples, thinned evenly when there are more than the report keeps. */
  resourceUsage(): BoundedList<ResourceSample> {
    const max = REPORT_LIMITS.resourceSamples;
    if (this.samples.length <= max) return { items: [...this.samples], count: this.samples.length, truncated: false };
    const step = this.samples.length / max;
    const items = Array.from({ length: max }, (_, i) => this.samples[Math.floor(i * step)] as ResourceSample);
    return { items, count: this.samples.length, truncated: true };
  }
}
