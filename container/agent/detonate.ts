import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, open, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  REPORT_LIMITS,
  RunNonceSchema,
  type Capabilities,
  type DetonationReport,
  type DetonationStatus,
  type EndReason,
  type LimitsHit,
  type SampleFacts,
} from '../../lambdas/core/contracts/detonation-report';
import { parseAgentConfig, type AgentConfig } from '../../lambdas/core/contracts/agent-config';
import { FakeNetwork, type FakeNetworkLog } from './fakenet';
import { downloadSample, TransferError, uploadCapture, uploadReport } from './fetch';
import { agentDirectory, ensureGuard, type GuardConnection, type GuardLog, probeGuard, readGuardLog } from './guard';
import { type Conversation, type Endpoint, PCAP_LIMITS, writePcap } from './pcap';
import { networkObservations } from './network-log';
import { TraceCollector, type Observation } from './observations';
import { prepareSample, type Preparation } from './prepare';
import { ActivityRecorder } from './recorder';
import { assembleReport, emptyBehavior, failedRunReport, noLimitsHit } from './report';
import { RuleEngine } from './rules';
import { appliedLimits, removeLeftovers, removeTree, runSandboxed, sweepUid, type RunResult } from './run';
import { leaseSandboxUser } from './sandbox-user';
import { staticStrings, type StaticStrings } from './static';
import { parseTraceFile } from './trace-parser';
import { furnishHome } from './victim-home';

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
  /** Presigned PUT for the packet capture, beside the report; without it `pcap` is unsupported. */
  pcapUrl?: string;
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

/**
 * Makes the work root traversable (0711) whoever created it: the uid locks and the guard cache are
 * made with their parents at 0700, and on a fresh host whichever comes first creates the root. A
 * root the sandbox user cannot pass through keeps every sample out of its home, and no run starts.
 */
export async function prepareWorkRoot(workRoot: string): Promise<void> {
  await mkdir(workRoot, { recursive: true, mode: 0o711 });
  await chmod(workRoot, 0o711);
}
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

/**
 * The run nonce of a raw configuration, read on its own: a configuration that fails validation
 * still gets its error report bound to the run, so Collect can tell it from a replay.
 */
export function runNonceOf(config: unknown): { runNonce?: string } {
  if (config === null || typeof config !== 'object') return {};
  const raw = config as Record<string, unknown>;
  const parsed = RunNonceSchema.safeParse(raw.run_nonce ?? raw.runNonce);
  return parsed.success ? { runNonce: parsed.data } : {};
}

/**
 * Runs one detonation and uploads its report; returns the report. It resolves for everything the
 * sample does or fails to do (the report says what happened); it rejects only when the report
 * cannot be uploaded (`ReportUploadError`, report attached).
 */
export async function runDetonation(request: DetonationRequest): Promise<DetonationReport> {
  let report: DetonationReport;
  try {
    report = await detonate(request);
  } catch (error) {
    // detonate() catches everything it knows of; this is the last line, so a report still leaves.
    report = failedRunReport(
      {
        error: `the agent failed: ${(error as Error)?.message ?? String(error)}`,
        sample: { name: request.sampleName, sha256: null, size: null },
        startedAt: now(),
        finishedAt: now(),
        endReason: 'not-run',
        config: null,
      },
      runNonceOf(request.config),
    );
  }
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
  /** What the agent was doing, so an error report says which step failed. */
  let phase = 'starting';
  /** Fake-network records already turned into observations. */
  let seen: FakeNetworkLog = { dns: [], http: [], tls: [], payloads: [], dropped: 0 };
  let sink: ((o: Observation) => void) | null = null;
  const runNonce = runNonceOf(request.config);
  /** Every redirected connection the guard logged, over all runs: the capture's destinations. */
  const redirected: GuardConnection[] = [];
  try {
    await run();
  } catch (e) {
    // A partial report: what was observed until the failure stays in it and is scored.
    status = 'error';
    error = `${phase}: ${(e as Error)?.message ?? String(e)}`;
    try {
      drainNetwork(null);
    } catch (drainError) {
      notes.push(`the fake network's records could not be read: ${(drainError as Error).message}`);
    }
    notes.push(`partial report: the agent failed while ${phase}`);
  }
  if (capabilities.pcap === 'captured') await capture();
  // The sample's output lives in the run directory: read it before the clean-up removes it.
  let output = { bytes: 0, tail: '' };
  try {
    output = await tail(outputs);
  } catch (e) {
    notes.push(`the sample's output could not be read: ${(e as Error).message}`);
  }
  if (fakenet) await cleanUp('fake network', () => (fakenet as FakeNetwork).close());
  if (uid !== null) {
    const sandboxUid = uid;
    await cleanUp('process sweep', () => sweepUid(sandboxUid));
    if (!capabilities.mountNamespace)
      await cleanUp('leftover files', () => removeLeftovers(sandboxUid, ['/tmp', '/var/tmp', '/dev/shm']));
  }
  if (runDir && !process.env.SANDTRAP_KEEP_RUNS) {
    const dir = runDir;
    // GNU rm: Node's rm fails with ENAMETOOLONG on a tree the sample nested past PATH_MAX.
    await cleanUp('run directory', () => removeTree(dir));
  }
  if (release) await cleanUp('sandbox user lease', release);
  return finish();

  async function run(): Promise<void> {
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

    phase = 'creating the run directory';
    await prepareWorkRoot(workRoot);
    runDir = await mkdtemp(join(workRoot, 'run-'));
    await chmod(runDir, 0o711); // the sandbox user must pass through to its home, and see nothing else
    const privateDir = join(runDir, 'private');
    const home = join(runDir, 'home');
    await mkdir(privateDir, { mode: 0o700 });

    phase = 'downloading the sample';
    const sampleFile = join(privateDir, 'sample.bin');
    const downloaded = await downloadSample(request.sampleUrl, sampleFile, config?.diskLimit ?? 256 * 1024 * 1024);
    sample = { ...sample, sha256: downloaded.sha256, size: downloaded.size };
    strings = await staticStrings(sampleFile, REPORT_LIMITS.staticStrings);
    if (configError) throw new Error(configError);
    if (!config) throw new Error('no configuration');
    const cfg: AgentConfig = config;

    phase = 'leasing a sandbox user';
    const user =
      request.sandboxUid !== undefined
        ? { uid: request.sandboxUid, release: async () => undefined }
        : await leaseSandboxUser(join(workRoot, 'uids'));
    release = user.release;
    uid = user.uid;
    await sweepUid(uid);
    await mkdir(home, { mode: 0o700 });
    await chown(home, uid, uid);
    phase = 'furnishing the home';
    await furnishHome(home, { uid, gid: uid });

    phase = 'preparing the sample';
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
      return;
    }

    phase = 'starting the network guard';
    const guardBinary = await ensureGuard(join(workRoot, 'bin'));
    const probe = await probeGuard(guardBinary);
    if (!probe.userNotification || !probe.pidfdGetfd) {
      throw new Error(
        `the network guard cannot run here (${probe.userNotification ? 'pidfd_getfd on another uid needs CAP_SYS_PTRACE' : 'no seccomp user notification'}): refusing to detonate without it`,
      );
    }
    if (cfg.pcap) {
      // Marked captured now so that a run that fails later still uploads what was heard until then.
      const why = !request.pcapUrl
        ? 'no upload URL was given for it'
        : cfg.networkEnabled && cfg.internetAccess
          ? 'internet_access sends the traffic out for real, past the fake network the capture is taken at'
          : null;
      if (why) unsupportedCapture(why);
      else capabilities.pcap = 'captured';
    }
    capabilities.tracer = cfg.traceSyscalls ? 'strace' : 'none';
    capabilities.seccompBpf = cfg.traceSyscalls;
    if (!cfg.trackChildren)
      notes.push(
        "track_children is off: only the sample's own process is reported and judged (its children still run under every limit)",
      );

    phase = 'starting the fake network';
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
      read: new Set(),
      samplePids: new Set(),
    });
    engine = rules;
    const rec = recorder;
    const observe = (o: Observation) => {
      if (o.type === 'limit') limitsHit[o.limit] = true;
      rules.observe(o);
      rec.observe(o);
    };
    sink = observe;

    const runStart = now();
    for (const [index, planned] of prep.runs.entries()) {
      const label = prep.runs.length > 1 ? `run ${index + 1} of ${prep.runs.length}` : 'the run';
      const remaining = cfg.timeout - (now() - runStart);
      if (remaining < 1) {
        notes.push(`no time left for ${planned.member ?? 'the sample'}`);
        break;
      }
      phase = `${label}: running the sample`;
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
      // The CPU the run burnt, for the rules (a miner held under the limit never hits it).
      observe({
        type: 'usage',
        time: result.endedAt,
        pid: null,
        line: `sandbox usage: ${result.cpuSeconds.toFixed(1)} CPU s over ${(result.endedAt - result.startedAt).toFixed(1)} s`,
        cpuSeconds: result.cpuSeconds,
        wallSeconds: result.endedAt - result.startedAt,
      });
      for (const [key, hit] of Object.entries(result.limitsHit)) if (hit) limitsHit[key as keyof LimitsHit] = true;
      if (END_PRIORITY.indexOf(result.endReason) < END_PRIORITY.indexOf(endReason)) endReason = result.endReason;

      phase = `${label}: reading the trace`;
      const collector = new TraceCollector(observe, {
        sandboxUid: uid,
        wrapperExecs: result.wrapperExecs,
        cwd: planned.cwd,
        maxArgv: REPORT_LIMITS.argv,
        followChildren: cfg.trackChildren,
        ...(planned.member ? { member: planned.member } : {}),
      });
      try {
        if (result.traceFile) await parseTraceFile(result.traceFile, (event) => collector.handle(event));
      } finally {
        // Even when the trace cannot be read to its end, the processes and samples seen so far belong in the report.
        rec.addProcesses(collector.processes());
        rec.addSamples(result.samples);
      }
      if (result.traceFile && !collector.started)
        throw new Error(`the sample did not start: ${(await tail([result.outputFile])).tail.slice(-300)}`);

      phase = `${label}: reading the network guard's log`;
      const guardLog = await readGuardLog(result.guardLog);
      if (!guardLog.started) throw new Error('the network guard did not start');
      capabilities.networkGuard = true;
      capabilities.mountNamespace = guardLog.mountNamespace === true;
      phase = `${label}: recording network activity`;
      drainNetwork(guardLog);
      for (const c of guardLog.connections) if (c.action === 'redirect' && c.localPort > 0) redirected.push(c);
      if (guardLog.dropped > 0)
        notes.push(`the guard logged ${guardLog.dropped} more connections than the agent keeps`);
    }
    if (!capabilities.mountNamespace) {
      notes.push(
        'no private mount namespace (expected on Fargate): the sample shares /tmp and the real resolv.conf; the guard still sends its DNS to the fake resolver',
      );
    }
    status = 'completed';
  }

  /**
   * Turns what the fake network heard since the last call into observations. On the error path
   * there may be no guard log: the records still count (without the guard's pid and port).
   */
  function drainNetwork(guardLog: GuardLog | null): void {
    if (!fakenet || !sink) return;
    const net = fakenet;
    const all = net.records();
    const fresh: FakeNetworkLog = {
      dns: all.dns.slice(seen.dns.length),
      http: all.http.slice(seen.http.length),
      tls: all.tls.slice(seen.tls.length),
      payloads: all.payloads.slice(seen.payloads.length),
      dropped: all.dropped,
    };
    seen = all;
    const guard: GuardLog = guardLog ?? { started: false, mountNamespace: null, connections: [], dropped: 0 };
    for (const o of networkObservations(guard, fresh, (address) => net.nameFor(address))) sink(o);
  }

  function unsupportedCapture(reason: string): void {
    capabilities.pcap = 'unsupported';
    capabilities.pcapReason = `pcap was asked for but not captured: ${reason}`.slice(0, REPORT_LIMITS.text);
    delete capabilities.pcapFile;
    notes.push(capabilities.pcapReason);
  }

  /**
   * Writes the fake network's conversations as a pcap and uploads it beside the report. Each
   * conversation's far end is the destination the guard saw the sample ask for: the latest
   * redirected connect or send from the same local port at or before the conversation began (ports
   * are reused, so the earliest one later stands in only when none came before).
   */
  async function capture(): Promise<void> {
    const net = fakenet;
    if (!net || !request.pcapUrl) return unsupportedCapture('the fake network never started');
    const byPort = new Map<string, GuardConnection[]>();
    for (const c of redirected) {
      const key = `${c.proto}:${c.localPort}`;
      byPort.set(key, [...(byPort.get(key) ?? []), c]);
    }
    for (const list of byPort.values()) list.sort((a, b) => a.time - b.time);
    const destination = (c: Conversation): Endpoint | null => {
      const list = byPort.get(`${c.protocol}:${c.clientPort}`);
      if (!list?.length) return null;
      // The guard logs before the fake network hears of it; a second of slack for clock granularity.
      const before = list.filter((g) => g.time <= c.start + 1);
      const g = before.at(-1) ?? list[0];
      return g && g.port !== null ? { address: g.addr, port: g.port } : null;
    };
    try {
      const pcap = writePcap(net.capture.conversations(), destination, PCAP_LIMITS);
      await uploadCapture(request.pcapUrl, pcap.file);
      const truncated = pcap.truncated || net.capture.truncated;
      capabilities.pcapFile = {
        bytes: pcap.file.length,
        packets: pcap.packets,
        conversations: pcap.conversations,
        attributed: pcap.attributed,
        truncated,
      };
      if (truncated)
        notes.push('the packet capture reached its limits: later bytes, packets or conversations are not in it');
    } catch (e) {
      unsupportedCapture(`the capture could not be written or uploaded (${(e as Error)?.message ?? String(e)})`);
    }
  }

  /** Runs one clean-up step; a failure becomes a note instead of replacing the report. */
  async function cleanUp(what: string, step: () => Promise<unknown>): Promise<void> {
    try {
      await step();
    } catch (e) {
      notes.push(`clean-up failed (${what}): ${(e as Error)?.message ?? String(e)}`);
    }
  }

  async function finish(): Promise<DetonationReport> {
    if (OUT_OF_MEMORY.test(output.tail)) limitsHit.memory = true;
    let behavior = emptyBehavior();
    if (engine && status !== 'unsupported') {
      try {
        behavior = engine.behavior();
      } catch (e) {
        notes.push(`the rules could not be evaluated: ${(e as Error).message}`);
      }
    }
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
      behavior,
      notes,
      config,
      ...runNonce,
    });
  }
}
