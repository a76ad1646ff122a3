import * as z from 'zod';
import type { HandlerDeps } from '../runtime/deps';
import { failureReasonOf } from '../contracts/analysis-errors';
import { SampleSchema, uploadIdOf, type SampleAnalysisFailedDetail } from '../contracts/pipeline';
import { executionTimeoutSeconds } from '../config/runtime-config';
import { uploadAliasTtlSeconds } from '../store/verdict-store';
import { releaseJoined } from './joined';

/**
 * The state at a Catch: whatever the failed state had, plus Step Functions' `{Error, Cause}`. Each
 * field is read on its own (`catch`): a malformed sample must not cost the event its error.
 */
export const FailureStateSchema = z
  .object({
    event: z.unknown().optional(),
    sample: SampleSchema.optional().catch(undefined),
    owner: z.string().optional().catch(undefined),
    error: z.object({ Error: z.string(), Cause: z.string().nullable().optional() }).optional().catch(undefined),
  })
  .passthrough();

/** A Lambda error's Cause is JSON `{errorType, errorMessage, trace}`; other causes are plain text. */
export function messageOf(cause: string | null | undefined): string {
  if (!cause) return 'no cause given';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not JSON: use the text.
  }
  return cause;
}

/** Reads bucket and key from a raw event without trusting its shape (it may be the malformed input). */
function objectOf(event: unknown): {
  bucket: string | null;
  key: string | null;
  versionId: string | null;
  uploadId: string;
  etag?: string | null;
} {
  const detail = (
    event as
      | {
          detail?: {
            bucket?: { name?: unknown };
            object?: { key?: unknown; 'version-id'?: unknown; etag?: unknown };
          };
        }
      | undefined
  )?.detail;
  const text = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : null);
  return {
    bucket: text(detail?.bucket?.name),
    key: text(detail?.object?.key),
    versionId: text(detail?.object?.['version-id']),
    uploadId: uploadIdOf(detail?.object),
    etag: text(detail?.object?.etag),
  };
}

/**
 * Turns any failure into a `Sample Analysis Failed` detail, records the object's terminal failure,
 * and releases the in-flight lock so that a later upload can analyse the same content. `publish` is
 * false when another execution owns the upload (a duplicate delivery failed): it reports the upload.
 */
export async function recordFailure(
  deps: HandlerDeps,
  rawState: unknown,
  executionId?: string,
): Promise<{ detail: SampleAnalysisFailedDetail; publish: boolean }> {
  const parsed = FailureStateSchema.safeParse(rawState);
  const state = parsed.success ? parsed.data : {};
  const from = state.sample ?? objectOf(state.event ?? rawState);
  const reason = failureReasonOf(state.error?.Error ?? 'UnknownError');
  const detail: SampleAnalysisFailedDetail = {
    ...(state.sample ? { sha256: state.sample.sha256 } : {}),
    bucket: from.bucket,
    key: from.key,
    versionId: from.versionId ?? null,
    reason,
    error: messageOf(state.error?.Cause).slice(0, 2000),
    failedAt: new Date(deps.clock.now()).toISOString(),
  };
  // The execution that claimed the upload: the state's owner once Triage ran (the Express front's,
  // when it handed the analysis to the Standard workflow), else this execution.
  const owner = state.owner ?? executionId;
  // A malformed event names no upload: it is always reported.
  let publish = true;
  if (detail.bucket && detail.key) {
    publish = await deps.store.putFailureRecord(
      {
        bucket: detail.bucket,
        key: detail.key,
        versionId: detail.versionId ?? null,
        uploadId: from.uploadId,
        status: 'failed',
        ...(detail.sha256 ? { sha256: detail.sha256 } : {}),
        reason,
        at: deps.clock.now(),
      },
      owner,
    );
  }
  // A failure before Triage claimed an unversioned upload: its alias, so that a waiting uploader finds the record.
  // Only the event carries the ETag (Triage's sample does not): an alias is for a failure before Triage.
  const etag = 'etag' in from ? from.etag : undefined;
  if (publish && detail.bucket && detail.key && !detail.versionId && etag)
    await deps.store.putUploadAlias(
      { bucket: detail.bucket, key: detail.key, etag },
      from.uploadId,
      deps.clock.now(),
      uploadAliasTtlSeconds(executionTimeoutSeconds(deps.config)),
    );
  if (state.sample && owner) {
    // Uploads of the same bytes joined to this analysis will get no verdict from it: the sweep re-drives them.
    if (await deps.store.releaseLock(state.sample.sha256, owner)) await releaseJoined(deps, state.sample.sha256);
  }
  if (publish)
    deps.log.error('analysis failed', { reason, bucket: detail.bucket, key: detail.key, error: detail.error });
  else
    deps.log.warn('failure of a delivery whose upload another execution reports', {
      reason,
      bucket: detail.bucket,
      key: detail.key,
    });
  return { detail, publish };
}
