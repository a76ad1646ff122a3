import type { HandlerDeps } from '../runtime/deps';
import { putJson } from '../store/objects';
import { extractIocs, toIocCsv, toStixBundle } from '../indicators';
import { reportKeys } from '../contracts/report-keys';
import { aggregate } from '../contracts/scoring';
import {
  DETAIL_TYPE_VERDICT,
  DETAIL_TYPE_VERDICT_CHANGED,
  type EngineResult,
  type FinalizeOutput,
  type Sample,
  type SampleVerdictChangedDetail,
  type SampleVerdictDetail,
  type VerdictDocument,
} from '../contracts/pipeline';
import { verdictRecordOf, type VerdictRecord } from '../store/verdict-store';
import { verdictDetailOf } from './verdict-detail';
import { serveJoined } from './joined';
import { deliverVerdict } from './deliver';
import { readDetonationReport } from '../engines/detonation/detonation-runs';
import { staticSummaryOf } from '../engines/static/static-reports';
import { renderHtmlReport } from '../report/html-report';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

/** The verdicts whose indicators are exported beside the report (STIX 2.1 and CSV). */
export const IOC_EXPORTED_VERDICTS: ReadonlySet<string> = new Set(['suspicious', 'malicious']);

/**
 * Writes `verdict.json` and the self-contained `report.html` beside the engines' native reports,
 * and for a suspicious or malicious verdict its indicators as STIX 2.1 and CSV.
 */
async function storeReports(
  deps: HandlerDeps,
  sample: Sample,
  record: VerdictRecord,
  detail: SampleVerdictDetail,
  now: number,
): Promise<void> {
  const detonationResult = record.engineResults.find((r) => r.engine === 'detonation' && r.reportKey);
  const detonation = detonationResult?.reportKey
    ? await readDetonationReport(deps, detonationResult.reportKey).catch(() => undefined)
    : undefined;
  const staticSummary = await staticSummaryOf(deps, record.engineResults, detonation);
  const document: VerdictDocument = {
    ...detail,
    sha1: sample.sha1,
    md5: sample.md5,
    mimeType: sample.mimeType,
    engineResults: record.engineResults,
    ...(detonation ? { behavior: detonation.behavior } : {}),
    ...(staticSummary ? { static: staticSummary } : {}),
  };
  await putJson(deps.clients.s3, deps.config.reportsBucket, record.reportKey, document);
  const html = renderHtmlReport({ document, ...(detonation ? { detonation } : {}), generatedAt: new Date(now) });
  const put = (Key: string, Body: string, ContentType: string) =>
    deps.clients.s3.send(new PutObjectCommand({ Bucket: deps.config.reportsBucket, Key, Body, ContentType }));
  // The indicators as files beside the report, for a SIEM or a blocking list to fetch: written for
  // the verdicts something acts on. Most files are benign, and a benign file's indicators (its own
  // hashes, the hosts it reached) are nothing to block: two PUTs each would be most of the storage
  // cost of an analysis. `sandtrap report --iocs` builds them for any verdict from the document.
  const exports = IOC_EXPORTED_VERDICTS.has(document.verdict)
    ? (() => {
        const iocs = extractIocs(document, detonation);
        return [
          put(
            reportKeys.iocsStix(sample.sha256),
            `${JSON.stringify(toStixBundle(document, iocs))}\n`,
            'application/stix+json;version=2.1',
          ),
          put(reportKeys.iocsCsv(sample.sha256), toIocCsv(iocs), 'text/csv; charset=utf-8'),
        ];
      })()
    : [];
  await Promise.all([put(reportKeys.html(sample.sha256), html, 'text/html; charset=utf-8'), ...exports]);
}

/**
 * Ends an analysis: aggregates the engine results (or reuses the cached verdict), stores the verdict
 * and `verdict.json`, tags the object, records the object's terminal status, and releases the lock.
 * Returns the `Sample Verdict` event detail, and a `Sample Verdict Changed` detail when a new
 * analysis (a reanalysis, or one after the cache expired) disagrees with the stored verdict.
 */
export async function finalizeVerdict(
  deps: HandlerDeps,
  input: {
    sample: Sample;
    results: EngineResult[] | null;
    reused?: EngineResult[];
    cached: boolean;
    startedAt: number;
    owner: string;
  },
): Promise<FinalizeOutput> {
  const { sample } = input;
  const now = deps.clock.now();
  let record: VerdictRecord;
  let previous: VerdictRecord['replaced'];
  if (input.cached) {
    const existing = await deps.store.getVerdict(sample.sha256);
    if (!existing) throw new Error(`cached verdict for ${sample.sha256} vanished`);
    record = existing;
  } else {
    // Final results kept from an earlier analysis of these bytes, then what ran now.
    const fresh = input.results ?? [];
    const results = [...(input.reused ?? []), ...fresh];
    // What this analysis replaces: the stored verdict, unless an earlier attempt of this very
    // Finalize stored it (its publishing failed and the state machine retried), which kept what it replaced.
    const stored = await deps.store.getVerdict(sample.sha256);
    previous =
      stored?.analyzedBy === input.owner
        ? stored.replaced
        : stored && { verdict: stored.verdict, score: stored.score, analyzedAt: stored.analyzedAt };
    const verdict = aggregate(results, deps.config.policy);
    // An analyst released these bytes (`sandtrap release`): the engines' results stay on record, the
    // verdict is benign. The allow-list outlives the cached verdict, so a fresh analysis honours it too.
    const release = await deps.store.getRelease(sample.sha256);
    record = {
      ...verdictRecordOf(sample, verdict, results, now, now - input.startedAt, reportKeys.verdict(sample.sha256)),
      analyzedBy: input.owner,
      ...(previous ? { replaced: previous } : {}),
      ...(release ? { verdict: 'benign' as const, released: release } : {}),
    };
    await deps.store.putVerdict(record, deps.config.cacheTtlSeconds);
    await Promise.all(fresh.map((result) => deps.store.putEngineResult(sample.sha256, result, now)));
  }
  const detail = verdictDetailOf(record, sample, input.cached, now - input.startedAt);
  if (!input.cached) await storeReports(deps, sample, record, detail, now);
  detail.reportUrl = await getSignedUrl(
    deps.clients.s3,
    new GetObjectCommand({ Bucket: deps.config.reportsBucket, Key: reportKeys.html(sample.sha256) }),
    {
      expiresIn: deps.config.reportLinkExpirySeconds,
    },
  );
  await deliverVerdict(deps, sample, record, detail, input.owner, now);
  if (!input.cached) {
    await deps.store.releaseLock(sample.sha256, input.owner);
    // Uploads of these bytes that arrived while they were analysed: each gets the verdict now.
    await serveJoined(deps, record, detail.reportUrl, now);
  }
  deps.log.info('verdict', {
    sha256: sample.sha256,
    verdict: detail.verdict,
    score: detail.score,
    cached: detail.cached,
  });
  const changed: SampleVerdictChangedDetail | undefined =
    previous && previous.verdict !== record.verdict
      ? {
          sha256: sample.sha256,
          bucket: sample.bucket,
          key: sample.key,
          previousVerdict: previous.verdict,
          previousScore: previous.score,
          previousAnalyzedAt: new Date(previous.analyzedAt).toISOString(),
          verdict: record.verdict,
          score: record.score,
          analyzedAt: detail.analyzedAt,
        }
      : undefined;
  // Published here rather than by a state after this one: each such state is a Standard transition
  // per analysis. A failure to publish fails the step, whose retry does it all again.
  await deps.events.publish([
    { detailType: DETAIL_TYPE_VERDICT, detail },
    ...(changed ? [{ detailType: DETAIL_TYPE_VERDICT_CHANGED, detail: changed }] : []),
  ]);
  return changed ? { detail, changed } : { detail };
}
