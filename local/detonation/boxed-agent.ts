import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_WORK_ROOT } from '../../container/agent/detonate';
import {
  type Downloaded,
  downloadSample,
  MAX_PCAP_UPLOAD_BYTES,
  uploadCapture,
  uploadReport,
} from '../../container/agent/fetch';
import { ensureGuard } from '../../container/agent/guard';
import { leaseSandboxUser } from '../../container/agent/sandbox-user';
import { type DetonationReport, DetonationReportSchema } from '../../lambdas/core/contracts/detonation-report';
import { parseAgentConfig } from '../../lambdas/core/contracts/agent-config';
import { DETONATION_ENV } from '../../lib/contracts';
import { boxFailureReport } from './box-failure-report';
import { type DetonationOptions, throwIfAborted } from './detonator';
import {
  BOX,
  type BoxDirs,
  boxNode,
  boxUnavailable,
  HOST_STATE_ROOT,
  prepareBox,
  readBounded,
  runInBox,
  SETUP_FAILED,
} from './host-sandbox';

/**
 * The host detonator's host side: it holds the presigned URLs, so the agent in the box never needs
 * the host network. It fetches the sample into the box's 0700 transport directory, runs the agent
 * (pid 1 of the box) with `file:` URLs, and PUTs the report the agent wrote. The URLs never enter
 * the box, not even in the agent's environment.
 */

/** The largest report taken back from the box (the agent's own caps keep real ones far smaller). */
const MAX_REPORT_BYTES = 64 * 1024 * 1024;
const DEFAULT_DISK_LIMIT = 256 * 1024 * 1024;
const DEFAULT_TIMEOUT_S = 60;
/** Time the agent may take beyond the sample's deadline (preparation, guard build, report). */
const AGENT_MARGIN_MS = 180_000;

/** What the configuration says about the sizes the host side enforces; defaults when it does not parse. */
function hostLimits(rawConfig: string | undefined): { diskLimit: number; timeoutMs: number } {
  try {
    const config = parseAgentConfig(rawConfig ? JSON.parse(rawConfig) : {}, { allowInternet: false });
    return { diskLimit: config.diskLimit, timeoutMs: config.timeout * 1000 };
  } catch {
    // The agent reports the bad configuration; the host side only needs bounds.
    return { diskLimit: DEFAULT_DISK_LIMIT, timeoutMs: DEFAULT_TIMEOUT_S * 1000 };
  }
}

/** The agent's report, when it parses and validates. */
function validReport(bytes: Buffer): DetonationReport | null {
  try {
    const parsed = DetonationReportSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Box output for a terminal line: control characters (ESC, CR, BEL ...) shown as '?', bounded. */
function printable(text: string): string {
  let out = '';
  for (const char of text.trim().slice(-1000)) {
    const code = char.codePointAt(0) ?? 0;
    out += (code < 0x20 && char !== '\n' && char !== '\t') || (code >= 0x7f && code <= 0x9f) ? '?' : char;
  }
  return out;
}

/**
 * One boxed detonation: returns 0 when a report (the agent's, or the host side's error report when
 * the agent left no valid one) was uploaded, 1 when the upload failed. Throws,
 * before anything runs, when the box cannot be made here: the host detonator never runs unboxed.
 */
export async function detonateInBox(env: Record<string, string>, options: DetonationOptions = {}): Promise<number> {
  const { signal } = options;
  const unavailable = boxUnavailable();
  if (unavailable) throw new Error(unavailable);
  throwIfAborted(signal);
  const sampleUrl = env[DETONATION_ENV.sampleUrl] ?? '';
  const reportUrl = env[DETONATION_ENV.reportUrl] ?? '';
  const pcapUrl = env[DETONATION_ENV.pcapUrl];
  const rawConfig = env[DETONATION_ENV.agentConfig];
  const limits = hostLimits(rawConfig);
  const startedAt = Date.now() / 1000;

  const guard = await ensureGuard(join(HOST_STATE_ROOT, 'bin'));
  // The uid is leased on the host, from the same locks as unboxed agents use: to the kernel a uid's
  // processes are one set across pid namespaces (RLIMIT_NPROC counts them all, and another agent's
  // sweep, kill(-1) as that uid from the host's pid namespace, reaches into every box).
  throwIfAborted(signal);
  const user = await leaseSandboxUser(join(DEFAULT_WORK_ROOT, 'uids'));
  let dirs: BoxDirs;
  try {
    dirs = await prepareBox(guard);
  } catch (error) {
    await user.release();
    throw error;
  }
  try {
    throwIfAborted(signal);
    const sampleFile = join(dirs.transport, 'sample');
    let downloaded: Downloaded | null = null;
    try {
      downloaded = await downloadSample(sampleUrl, sampleFile, limits.diskLimit);
    } catch {
      // No partial sample for the agent: it finds none and reports the failed transfer.
      await rm(sampleFile, { force: true });
    }
    const reportFile = join(dirs.transport, 'report.json');
    const exit = await runInBox(
      dirs,
      [boxNode(), BOX.agent],
      {
        SAMPLE_URL: pathToFileURL(join(BOX.transport, 'sample')).href,
        REPORT_URL: pathToFileURL(join(BOX.transport, 'report.json')).href,
        ...(pcapUrl ? { PCAP_URL: pathToFileURL(join(BOX.transport, 'capture.pcap')).href } : {}),
        SAMPLE_NAME: env[DETONATION_ENV.sampleName] ?? 'sample',
        ...(rawConfig !== undefined ? { AGENT_CONFIG: rawConfig } : {}),
        SANDTRAP_WORK_ROOT: BOX.workRoot,
        SANDTRAP_SANDBOX_UID: String(user.uid),
        HOME: '/root',
        // Keeping run directories (debugging) keeps the agent's too, for its trace and guard log.
        ...(process.env.SANDTRAP_KEEP_RUNS ? { SANDTRAP_KEEP_RUNS: '1' } : {}),
      },
      limits.timeoutMs + AGENT_MARGIN_MS,
      signal,
    );
    if (exit.code === SETUP_FAILED)
      throw new Error(`the detonation box could not be set up: ${printable(exit.output)}`);
    // The report crosses a trust boundary (the box also ran the sample): only a valid one goes out;
    // otherwise the host side's own error report does, so the pipeline still gets an answer.
    const bytes = await readBounded(reportFile, MAX_REPORT_BYTES);
    let report: DetonationReport | null = bytes ? validReport(bytes) : null;
    if (report === null) {
      const reason =
        exit.code === null
          ? 'the boxed agent was killed at the host deadline'
          : bytes
            ? 'the boxed agent wrote a report that does not validate'
            : `the boxed agent left no report (exit ${exit.code})`;
      process.stderr.write(`sandtrap: ${reason}: ${printable(exit.output)}\n`);
      report = boxFailureReport({
        reason,
        sampleName: env[DETONATION_ENV.sampleName] ?? 'sample',
        sha256: downloaded?.sha256 ?? null,
        size: downloaded?.size ?? null,
        rawConfig,
        startedAt,
        endReason: exit.code === null ? 'timeout' : 'not-run',
      });
    }
    // The capture crosses the same boundary: bounded, and uploaded before the report that names it.
    if (pcapUrl && report.capabilities.pcap === 'captured') {
      try {
        const capture = await readBounded(join(dirs.transport, 'capture.pcap'), MAX_PCAP_UPLOAD_BYTES);
        if (capture) await uploadCapture(pcapUrl, capture);
      } catch (error) {
        process.stderr.write(`sandtrap: ${printable((error as Error).message)}\n`);
      }
    }
    try {
      await uploadReport(reportUrl, report);
    } catch (error) {
      process.stderr.write(`sandtrap: ${printable((error as Error).message)}\n`);
      return 1;
    }
    return 0;
  } finally {
    if (!process.env.SANDTRAP_KEEP_RUNS) await dirs.remove();
    await user.release();
  }
}
