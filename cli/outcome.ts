import type { SampleAnalysisFailedDetail, VerdictDocument } from '../lambdas/core/contracts/pipeline';
import type { AnalysisEnd, AnalysisTarget } from '../deployed/analyses';
import type { DeployedClients } from '../deployed/clients';
import { DeployedStackError, UnknownSampleError } from '../deployed/errors';
import type { DeployedStack } from '../deployed/stack';
import type { Submission } from '../deployed/submit';
import { documentFromRecord, readVerdictDocument, readVerdictRecord } from '../deployed/verdicts';

/** How one file's analysis ended, locally or on a deployed stack: what the commands print. */
export type AnalysisOutcome =
  | { file: string; ok: true; document: VerdictDocument }
  | {
      file: string;
      ok: false;
      failure: SampleAnalysisFailedDetail | { reason: string; error: string; bucket: null; key: string };
    };

/**
 * What to wait for after an upload: the analysis its `Object Created` event starts, told apart from
 * others of the same key by its version id (or, on an unversioned bucket, its ETag).
 */
export function uploadTarget(upload: Submission): AnalysisTarget {
  return {
    bucket: upload.bucket,
    key: upload.key,
    versionId: upload.versionId,
    ...(upload.etag ? { etag: upload.etag } : {}),
    uploadIds: upload.versionId ? [upload.versionId] : [],
    startedAt: upload.startedAt,
  };
}

/** The failure of an analysis that did not end in a verdict (failed, or still running at the deadline). */
export function failureOf(
  end: Exclude<AnalysisEnd, { status: 'verdict' }>,
  object: { bucket: string; key: string; versionId: string | null; sha256?: string },
  now = Date.now(),
): SampleAnalysisFailedDetail {
  const base = {
    ...(object.sha256 ? { sha256: object.sha256 } : {}),
    bucket: object.bucket,
    key: object.key,
    versionId: object.versionId,
  };
  if (end.status === 'failed')
    return { ...base, reason: end.reason, error: end.error, failedAt: new Date(end.at).toISOString() };
  const seconds = Math.round(end.waitedMs / 1000);
  const error = end.started
    ? `no verdict after ${seconds} s; the analysis is still running (see later with \`sandtrap status ${object.sha256 ?? '<sha256>'}\`)`
    : `no analysis started within ${seconds} s (is the key under the stack's ingest prefix?)`;
  return { ...base, reason: 'Timeout', error, failedAt: new Date(now).toISOString() };
}

/**
 * The verdict document of an upload that ended in a verdict: `verdict.json` of its content (or the
 * DynamoDB record where the reports bucket has none), told which upload it is about and whether the
 * verdict was reused from the cache.
 */
export async function documentOf(
  clients: DeployedClients,
  stack: DeployedStack,
  end: Extract<AnalysisEnd, { status: 'verdict' }>,
): Promise<VerdictDocument> {
  const { record } = end;
  if (!record.sha256)
    throw new DeployedStackError(`the record of s3://${record.bucket}/${record.key} has a verdict but no sha256`);
  let document: VerdictDocument;
  try {
    document = await readVerdictDocument(clients, stack, record.sha256);
  } catch (error) {
    if (!(error instanceof UnknownSampleError)) throw error;
    document = documentFromRecord(await readVerdictRecord(clients, stack, record.sha256));
  }
  // verdict.json is about the content; where this upload went is the upload's own record's to say.
  const { quarantinedTo: _ofAnotherUpload, ...content } = document;
  return {
    ...content,
    bucket: record.bucket,
    key: record.key,
    versionId: record.versionId ?? null,
    cached: record.cached ?? false,
    ...(record.quarantinedTo ? { quarantinedTo: record.quarantinedTo } : {}),
  };
}
