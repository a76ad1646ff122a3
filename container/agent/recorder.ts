import {
  REPORT_LIMITS,
  type AgentConfig,
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
} from '../../lambdas/core/detonation-report';
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

const text = (s: string) => (s.length > REPORT_LIMITS.text ? `${s.slice(0, REPORT_LIMITS.text - 3)}...` : s);
const round = (seconds: number) => Math.max(0, Math.round(seconds * 1000) / 1000);

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

  private offset(time: number): number {
    return round(time - this.t0);
  }

  private isWatched(path: string): boolean {
    return this.watched.some((dir) => dir === '/' || path === dir || path.startsWith(`${dir}/`));
  }

  private file(path: string, op: FileOperationKind, ok: boolean, time: number): void {
    if (!this.config.monitorFiles || !this.isWatched(path)) return;
    let tally = this.paths.get(path);
    if (!tally) {
      if (this.paths.size >= MAX_TRACKED_PATHS) {
        this.untrackedPaths++;
        return;
      }
      tally = { ops: new Set(), count: 0, failures: 0, first: time };
      this.paths.set(path, tally);
    }
    tally.ops.add(op);
    tally.count++;
    if (!ok) tally.failures++;
  }

  observe(o: Observation): void {
    switch (o.type) {
      case 'file': {
        if (o.op === 'write' && o.ok) {
          const flags = o.flags ?? '';
          if (/O_CREAT/.test(flags)) this.file(o.path, 'create', true, o.time);
          if (/O_TRUNC/.test(flags)) this.file(o.path, 'truncate', true, o.time);
          if (/O_APPEND/.test(flags)) this.file(o.path, 'append', true, o.time);
        }
        this.file(o.path, o.op, o.ok, o.time);
        if (o.op === 'rename-from' && o.target) this.file(o.target, 'rename-to', o.ok, o.time);
        return;
      }
      case 'exec':
        this.file(o.path, 'exec', o.ok, o.time);
        if (this.config.monitorProcesses) {
          this.executions.push({
            time: this.offset(o.time),
            pid: o.pid,
            path: text(o.path),
            argv: o.argv.map(text),
            uid: o.uid,
            result: o.ok ? 'ok' : (o.errno ?? 'error'),
          });
        }
        return;
      default:
    }
    if (!this.config.captureNetwork) return;
    switch (o.type) {
      case 'connect':
        this.connections.push({
          time: this.offset(o.time),
          pid: o.pid,
          protocol: o.protocol,
          address: text(o.address),
          port: o.port,
          hostname: o.hostname,
          action: o.action,
          reason: o.reason,
          result: o.result,
        });
        return;
      case 'dns':
        this.dns.push({ time: this.offset(o.time), name: text(o.name), type: o.qtype, answer: o.answer });
        return;
      case 'http':
        this.http.push({
          time: this.offset(o.time),
          method: o.method,
          host: text(o.host),
          path: text(o.path),
          userAgent: o.userAgent === null ? null : text(o.userAgent),
          port: o.port,
          bodyBytes: o.bodyBytes,
          bodyPreview: o.bodyPreview,
        });
        return;
      case 'tls':
        this.tls.push({ time: this.offset(o.time), serverName: text(o.serverName), port: o.port });
        return;
      case 'payload':
        this.payloads.push({
          time: this.offset(o.time),
          protocol: o.protocol,
          address: o.address,
          port: o.port,
          hostname: o.hostname,
          bytes: o.bytes,
          preview: o.preview,
        });
        return;
      default:
    }
  }

  /** The processes of one run (its collector's table). */
  addProcesses(states: readonly ProcessState[]): void {
    if (!this.config.monitorProcesses) return;
    for (const p of states) {
      this.processes.push({
        pid: p.pid,
        ppid: p.ppid,
        exe: p.exe === null ? null : text(p.exe),
        argv: p.argv.slice(0, REPORT_LIMITS.argv).map(text),
        uid: p.uid,
        start: this.offset(p.start),
        end: p.end === null ? null : this.offset(p.end),
        exitCode: p.exitCode,
        signal: p.signal,
        ...(p.member ? { member: text(p.member) } : {}),
      });
    }
  }

  addSamples(samples: readonly RawSample[]): void {
    for (const s of samples) {
      this.samples.push({
        time: this.offset(s.time),
        processes: s.processes,
        cpuSeconds: Math.round(s.cpuSeconds * 100) / 100,
        rssBytes: s.rssBytes,
        diskBytes: s.diskBytes,
        traceBytes: s.traceBytes,
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
    const items = all.slice(0, REPORT_LIMITS.fileOperations).map(([path, t]) => ({
      path: text(path),
      operations: [...t.ops],
      count: t.count,
      failures: t.failures,
      first: this.offset(t.first),
    }));
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
