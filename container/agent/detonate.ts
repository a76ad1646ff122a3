import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, open, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  parseAgentConfig,
  REPORT_LIMITS,
  type AgentConfig,
  type AppliedLimits,
  type Capabilities,
  type DetonationReport,
  type DetonationStatus,
  type EndReason,
  type LimitsHit,
  type SampleFacts,
} from '../../lambdas/core/detonation-report';
import { FakeNetwork, type FakeNetworkLog } from './fakenet';
import { downloadSample, TransferError, uploadReport } from './fetch';
import { agentDirectory, ensureGuard, probeGuard, readGuardLog } from './guard';
import { networkObservations } from './network-log';
import { TraceCollector, type Observation } from './observations';
import { prepareSample, type Preparation } from './prepare';
import { ActivityRecorder } from './recorder';
import { assembleReport, emptyBehavior, noLimitsHit } from './report';
import { RuleEngine } from './rules';
import { limitsFor, removeLeftovers, removeTree, runSandboxed, sweepUid, type RunResult } from './run';
import { leaseSandboxUser } from './sandbox-user';
import { staticStrings, type StaticStrings } from './static';
import { parseTraceFile } from './trace-parser';

/**
 * One detonation from end to end: download, prepare, run each program under the tracer with the
 * fake network and the guard, turn the trace into observations, match the rules, assemble and
 * upload the report. The container's entry point and the local runtime both call this.
 */

/** What a detonation needs. */
export interface DetonationRequest {
  /** Presigned GET of the sample. */
  sampleUrl: string;
  /** Presigned PUT for the report. */
  reportUrl: string;
  /** The sample's original name (its extension helps name scripts and C sources). */
  sampleName: string;
  /** The agent configuration (`AGENT_CONFIG`), snake_case or camelCase; validated here. */
  config?: unknown;
  /**
   * Local override that lets `internet_access: true` through. Ignored on AWS (where the task
   * metadata variables are set): there the agent always refuses real internet access.
   */
  allowInternet?: boolean;
  /** Root of the run directories, the uid locks and the guard cache. Default `/var/lib/sandtrap`. */
  workRoot?: string;
  /** More host paths to hide from the sample, where a private mount namespace is available. */
  hidePaths?: string[];
  /**
   * A sandbox uid the caller already holds (the host detonator leases it outside its box, where
   * every box's uids are seen); by default one is leased under the work root.
   */
  sandboxUid?: number;
}

/** The report was built but could not be uploaded; it is attached. */
export class ReportUploadError extends TransferError {
  constructor(
    message: string,
    readonly report: DetonationReport,
  ) {
    super(message);
  }
}

/** True inside ECS, Lambda or anything else that announces AWS in the environment. */
export function onAws(env: NodeJS.ProcessEnv): boolean {
  return Boolean(
    env.ECS_CONTAINER_METADATA_URI_V4 ||
      env.ECS_CONTAINER_METADATA_URI ||
      env.AWS_EXECUTION_ENV ||
      env.AWS_LAMBDA_FUNCTION_NAME,
  );
}

/** Where run directories, uid locks and the guard cache live unless the caller says otherwise. */
export const DEFAULT_WORK_ROOT = '/var/lib/sandtrap';
/** Output text that means an allocation failed under RLIMIT_AS. */
const OUT_OF_MEMORY = /MemoryError|Cannot allocate memory|std::bad_alloc|out of memory/i;
const END_PRIORITY: EndReason[] = ['timeout', 'limit', 'idle', 'exited', 'not-run'];

const now = () => Date.now() / 1000;

async function tail(files: readonly string[]): Promise<{ bytes: number; tail: string }> {
  let bytes = 0;
  let text = '';
  for (const file of files) {
    try {
      const handle = await open(file, 'r');
      const { size } = await handle.stat();
      const length = Math.min(size, 2048);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      await handle.close();
      bytes += size;
      text = `${text}${buffer.toString('utf8')}`.slice(-2048);
    } catch {
      // a run that never started has no output
    }
  }
  return { bytes, tail: text };
}

function appliedLimits(config: AgentConfig | null): AppliedLimits {
  const timeout = config?.timeout ?? 60;
  const l = config
    ? limitsFor(config, timeout)
    : {
        cpus: 1,
        cpuSeconds: timeout,
        memoryBytes: 512 * 1024 ** 2,
        processes: 64,
        fileSizeBytes: 256 * 1024 ** 2,
        diskBytes: 256 * 1024 ** 2,
      };
  return { ...l, timeoutSeconds: timeout, idleTimeoutSeconds: config?.idleTimeout ?? 0 };
}

/**
 * Runs one detonation and uploads its report; returns the report. It resolves for everything the
 * sample does or fails to do (the report says what happened); it rejects only when the report
 * cannot be uploaded (`ReportUploadError`, report attached).
 */
export async function runDetonation(request: DetonationRequest): Promise<DetonationReport> {
  const report = await detonate(request);
  try {
    await uploadReport(request.reportUrl, report);
  } catch (error) {
    throw new ReportUploadError((error as Error).message, report);
  }
  return report;
}

async function detonate(request: DetonationRequest): Promise<DetonationReport> {
  const startedAt = now();
  const notes: string[] = [];
  const name = request.sampleName || 'sample';
  const workRoot = request.workRoot ?? DEFAULT_WORK_ROOT;
  let config: AgentConfig | null = null;
  let sample: SampleFacts = {
    name: name.slice(0, REPORT_LIMITS.text),
    sha256: null,
    size: null,
    fileType: 'unknown',
    mimeType: 'application/octet-stream',
    preparation: { method: 'static-only' },
  };
  let status: DetonationStatus = 'error';
  let error: string | undefined;
  let endReason: EndReason = 'not-run';
  const limitsHit = noLimitsHit();
  const capabilities: Capabilities = {
    tracer: 'none',
    seccompBpf: false,
    networkGuard: false,
    mountNamespace: false,
    pcap: 'disabled',
  };
  let recorder: ActivityRecorder | null = null;
  let engine: RuleEngine | null = null;
  let strings: StaticStrings | null = null;
  const outputs: string[] = [];

  let runDir: string | null = null;
  let release: (() => Promise<void>) | null = null;
  let fakenet: FakeNetwork | null = null;
  let uid: number | null = null;
  try {
    if (typeof process.getuid === 'function' && process.getuid() !== 0)
      throw new Error('the agent must run as root (it drops the sample to a sandbox uid)');
    let configError: string | null = null;
    try {
      config = parseAgentConfig(request.config ?? {}, {
        allowInternet: request.allowInternet === true && !onAws(process.env),
      });
    } catch (e) {
      configError = (e as Error).message;
    }

    await mkdir(workRoot, { recursive: true, mode: 0o711 });
    runDir = await mkdtemp(join(workRoot, 'run-'));
    await chmod(runDir, 0o711); // the sandbox user must pass through to its home, and see nothing else
    const privateDir = join(runDir, 'private');
    const home = join(runDir, 'home');
    await mkdir(privateDir, { mode: 0o700 });

    const sampleFile = join(privateDir, 'sample.bin');
    const downloaded = await downloadSample(request.sampleUrl, sampleFile, config?.diskLimit ?? 256 * 1024 * 1024);
    sample = { ...sample, sha256: downloaded.sha256, size: downloaded.size };
    strings = await staticStrings(sampleFile, REPORT_LIMITS.staticStrings);
    if (configError) throw new Error(configError);
    if (!config) throw new Error('no configuration');
    const cfg: AgentConfig = config;

    const user =
      request.sandboxUid !== undefined
        ? { uid: request.sandboxUid, release: async () => undefined }
        : await leaseSandboxUser(join(workRoot, 'uids'));
    release = user.release;
    uid = user.uid;
    await sweepUid(uid);
    await mkdir(home, { mode: 0o700 });
    await chown(home, uid, uid);

    const prep: Preparation = await prepareSample(sampleFile, name, home, { uid, gid: uid });
    notes.push(...prep.notes);
    sample = {
      ...sample,
      fileType: prep.fileType,
      mimeType: prep.mimeType,
      preparation: {
        method: prep.method,
        ...(prep.interpreter ? { interpreter: prep.interpreter } : {}),
        ...(prep.compiler ? { compiler: prep.compiler } : {}),
        ...(prep.members
          ? {
              members: {
                items: prep.members.slice(0, REPORT_LIMITS.members),
                count: prep.members.length,
                truncated: prep.members.length > REPORT_LIMITS.members,
              },
            }
          : {}),
        ...(prep.reason ? { reason: prep.reason.slice(0, REPORT_LIMITS.text) } : {}),
      },
    };
    if (prep.runs.length === 0) {
      status = 'unsupported';
      error = prep.reason ?? 'nothing to run';
      return await finish();
    }

    const guardBinary = await ensureGuard(join(workRoot, 'bin'));
    const probe = await probeGuard(guardBinary);
    if (!probe.userNotification || !probe.pidfdGetfd) {
      throw new Error(
        `the network guard cannot run here (${probe.userNotification ? 'pidfd_getfd on another uid needs CAP_SYS_PTRACE' : 'no seccomp user notification'}): refusing to detonate without it`,
      );
    }
    if (cfg.pcap) {
      capabilities.pcap = 'unsupported';
      notes.push(
        'pcap was asked for but is unsupported in the detonation task (no NET_RAW guarantee on Fargate); network activity comes from the guard and the fake network',
      );
    }
    capabilities.tracer = cfg.traceSyscalls ? 'strace' : 'none';
    capabilities.seccompBpf = cfg.traceSyscalls;
    if (!cfg.trackChildren)
      notes.push(
        "track_children is off: only the sample's own process is reported and judged (its children still run under every limit)",
      );

    const net = await FakeNetwork.start();
    fakenet = net;
    const resolv = join(privateDir, 'resolv.conf');
    await writeFile(
      resolv,
      `${cfg.dnsServers.map((s) => `nameserver ${s}`).join('\n')}\noptions timeout:2 attempts:1\n`,
      { mode: 0o644 },
    );
    await chmod(resolv, 0o644);
    const agentFiles = [
      dirname(agentDirectory()),
      '/opt/sandtrap',
      join(workRoot, 'bin'),
      join(workRoot, 'uids'),
      ...(request.hidePaths ?? []),
    ];
    const hide = [...new Set(agentFiles)].filter(
      (p) => existsSync(p) && !home.startsWith(`${p}/`) && !privateDir.startsWith(`${p}/`),
    );
    // /run/lock too: lock files are a channel between runs (and between detonations on one host).
    const tmpfs = ['/tmp', '/var/tmp', '/dev/shm', '/run/lock']
      .filter((d) => existsSync(d) && !runDir?.startsWith(`${d}/`))
      .map((dir) => ({ dir, bytes: cfg.diskLimit }));

    recorder = new ActivityRecorder(cfg, home, startedAt);
    const rules = new RuleEngine({
      home,
      placed: new Set(prep.placed),
      hidden: [...hide, privateDir],
      written: new Set(),
      samplePids: new Set(),
    });
    engine = rules;
    const rec = recorder;
    const sink = (o: Observation) => {
      if (o.type === 'limit') limitsHit[o.limit] = true;
      rules.observe(o);
      rec.observe(o);
    };

    const runStart = now();
    let seen: FakeNetworkLog = { dns: [], http: [], tls: [], payloads: [], dropped: 0 };
    for (const [index, planned] of prep.runs.entries()) {
      const remaining = cfg.timeout - (now() - runStart);
      if (remaining < 1) {
        notes.push(`no time left for ${planned.member ?? 'the sample'}`);
        break;
      }
      const result: RunResult = await runSandboxed({
        command: planned.command,
        home,
        cwd: planned.cwd,
        privateDir,
        label: `run${index}`,
        uid,
        config: cfg,
        timeoutSeconds: remaining / (prep.runs.length - index),
        guardBinary,
        guard: {
          mode: !cfg.networkEnabled ? 'block' : cfg.internetAccess ? 'pass' : 'redirect',
          ports: net.ports,
          allowedPorts: cfg.allowedPorts,
          blockedPorts: cfg.blockedPorts,
          hide,
          tmpfs,
          resolv,
        },
        networkActivity: () => net.lastActivity,
      });
      outputs.push(result.outputFile);
      for (const [key, hit] of Object.entries(result.limitsHit)) if (hit) limitsHit[key as keyof LimitsHit] = true;
      if (END_PRIORITY.indexOf(result.endReason) < END_PRIORITY.indexOf(endReason)) endReason = result.endReason;

      const collector = new TraceCollector(sink, {
        sandboxUid: uid,
        wrapperExecs: result.wrapperExecs,
        cwd: planned.cwd,
        maxArgv: REPORT_LIMITS.argv,
        followChildren: cfg.trackChildren,
        ...(planned.member ? { member: planned.member } : {}),
      });
      if (result.traceFile) {
        await parseTraceFile(result.traceFile, (event) => collector.handle(event));
        if (!collector.started)
          throw new Error(`the sample did not start: ${(await tail([result.outputFile])).tail.slice(-300)}`);
      }
      rec.addProcesses(collector.processes());
      rec.addSamples(result.samples);

      const guardLog = await readGuardLog(result.guardLog);
      if (!guardLog.started) throw new Error('the network guard did not start');
      capabilities.networkGuard = true;
      capabilities.mountNamespace = guardLog.mountNamespace === true;
      const all = net.records();
      const fresh: FakeNetworkLog = {
        dns: all.dns.slice(seen.dns.length),
        http: all.http.slice(seen.http.length),
        tls: all.tls.slice(seen.tls.length),
        payloads: all.payloads.slice(seen.payloads.length),
        dropped: all.dropped,
      };
      seen = all;
      for (const o of networkObservations(guardLog, fresh, (address) => net.nameFor(address))) sink(o);
      if (guardLog.dropped > 0)
        notes.push(`the guard logged ${guardLog.dropped} more connections than the agent keeps`);
    }
    if (!capabilities.mountNamespace) {
      notes.push(
        'no private mount namespace (expected on Fargate): the sample shares /tmp and the real resolv.conf; the guard still sends its DNS to the fake resolver',
      );
    }
    status = 'completed';
    return await finish();
  } catch (e) {
    status = 'error';
    error = (e as Error).message;
    return await finish();
  } finally {
    if (fakenet) await fakenet.close();
    if (uid !== null) {
      await sweepUid(uid);
      if (!capabilities.mountNamespace) await removeLeftovers(uid, ['/tmp', '/var/tmp', '/dev/shm']);
    }
    if (runDir && !process.env.SANDTRAP_KEEP_RUNS) await removeTree(runDir);
    if (release) await release();
  }

  async function finish(): Promise<DetonationReport> {
    const output = await tail(outputs);
    if (OUT_OF_MEMORY.test(output.tail)) limitsHit.memory = true;
    return assembleReport({
      status,
      ...(error ? { error } : {}),
      sample,
      startedAt,
      finishedAt: now(),
      endReason,
      limits: appliedLimits(config),
      limitsHit,
      capabilities,
      recorder,
      output,
      staticStrings: strings,
      behavior: status === 'completed' && engine ? engine.behavior() : emptyBehavior(),
      notes,
      config,
    });
  }
}
