import { getJson } from '../../store/objects';
import type { HandlerDeps } from '../../runtime/deps';
import { StaticReportSchema, type StaticReport, type StaticSummary } from '../../contracts/static-report';
import { STATIC_ENGINE, type EngineResult } from '../../contracts/pipeline';
import type { DetonationReport } from '../../contracts/detonation-report';
import { confirmStaticFindings } from '../../correlation/static-dynamic';

/** The largest static report read back: the engine's own bounds keep real ones far below it. */
export const MAX_STATIC_REPORT_BYTES = 4 * 1024 * 1024;

/**
 * Reads the static engine's report back from the reports bucket and validates it; undefined when it
 * is missing. A report over the size bound or outside the schema is an error: what a hostile file
 * produced is shown only when it keeps the engine's promises.
 */
export async function readStaticReport(deps: HandlerDeps, reportKey: string): Promise<StaticReport | undefined> {
  const document = await getJson(deps.clients.s3, deps.config.reportsBucket, reportKey, MAX_STATIC_REPORT_BYTES);
  return document === undefined ? undefined : StaticReportSchema.parse(document);
}

/**
 * What a verdict document shows of the static engine's run: its report's summary (with the findings
 * the detonation confirmed, when there was one), or undefined when the engine wrote none or its
 * report is unreadable (logged: the verdict stands on the engine's score).
 */
export async function staticSummaryOf(
  deps: HandlerDeps,
  results: readonly EngineResult[],
  detonation?: DetonationReport,
): Promise<StaticSummary | undefined> {
  const result = results.find((r) => r.engine === STATIC_ENGINE && r.reportKey);
  if (!result?.reportKey) return undefined;
  try {
    const report = await readStaticReport(deps, result.reportKey);
    if (!report) return undefined;
    const { fileType, findings, yara, members, encrypted, errors } = report;
    // Detonated too: which static predictions the run bore out.
    const confirmed = detonation ? confirmStaticFindings(findings, detonation) : undefined;
    return { fileType, findings, yara, members, encrypted, errors, ...(confirmed ? { confirmed } : {}) };
  } catch (error) {
    deps.log.warn('static report unreadable', {
      reportKey: result.reportKey,
      error: (error as Error).message.slice(0, 300),
    });
    return undefined;
  }
}
