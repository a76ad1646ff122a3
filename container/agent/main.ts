import { runDetonation } from './detonate';
import { closeInheritedDescriptors } from './inherited-descriptors';
import { FIRST_SANDBOX_UID, SANDBOX_UID_SPAN } from './sandbox-user';

/**
 * The container's entry point. Reads SAMPLE_URL (presigned GET), REPORT_URL (presigned PUT),
 * optionally PCAP_URL (presigned PUT for the packet capture, beside the report),
 * AGENT_CONFIG (JSON) and SAMPLE_NAME, and optionally SANDTRAP_WORK_ROOT (a writable directory
 * when the root file system is read-only), SANDTRAP_SANDBOX_UID (a uid the host detonator leased for
 * this box) and SANDTRAP_ALLOW_INTERNET; detonates, uploads the
 * report. Exit status 0 whenever a report was uploaded, however the sample behaved; 1 when the
 * upload failed; 2 on a bad start.
 */
async function main(): Promise<number> {
  // Before anything is spawned: the sample must inherit nothing of whoever started the agent.
  closeInheritedDescriptors();
  const {
    SAMPLE_URL: sampleUrl,
    REPORT_URL: reportUrl,
    AGENT_CONFIG: rawConfig,
    SAMPLE_NAME: sampleName,
    PCAP_URL: pcapUrl,
  } = process.env;
  // The URLs are credentials: out of the environment before anything else can inherit it.
  for (const name of ['SAMPLE_URL', 'REPORT_URL', 'PCAP_URL', 'AGENT_CONFIG']) delete process.env[name];
  if (!sampleUrl || !reportUrl) {
    process.stderr.write('sandtrap-agent: SAMPLE_URL and REPORT_URL are required\n');
    return 2;
  }
  const rawUid = process.env.SANDTRAP_SANDBOX_UID;
  const sandboxUid = rawUid === undefined ? undefined : Number(rawUid);
  if (
    sandboxUid !== undefined &&
    !(
      /^[0-9]{1,10}$/.test(rawUid ?? '') &&
      sandboxUid >= FIRST_SANDBOX_UID &&
      sandboxUid < FIRST_SANDBOX_UID + SANDBOX_UID_SPAN
    )
  ) {
    // Only a uid from the sandbox range: anything else could be a real account's.
    process.stderr.write('sandtrap-agent: SANDTRAP_SANDBOX_UID is not a sandbox uid\n');
    return 2;
  }
  let config: unknown = {};
  if (rawConfig) {
    try {
      config = JSON.parse(rawConfig);
    } catch {
      // An unparsable configuration still gets a report (status error) rather than silence.
      config = 'AGENT_CONFIG is not valid JSON';
    }
  }
  try {
    const report = await runDetonation({
      sampleUrl,
      reportUrl,
      ...(pcapUrl ? { pcapUrl } : {}),
      sampleName: sampleName ?? 'sample',
      config,
      allowInternet: process.env.SANDTRAP_ALLOW_INTERNET === '1',
      ...(process.env.SANDTRAP_WORK_ROOT ? { workRoot: process.env.SANDTRAP_WORK_ROOT } : {}),
      ...(sandboxUid !== undefined ? { sandboxUid } : {}),
    });
    process.stdout.write(
      `${JSON.stringify({ status: report.status, verdict: report.verdict, score: report.score, sha256: report.sample.sha256, error: report.error })}\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`sandtrap-agent: ${(error as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main();
