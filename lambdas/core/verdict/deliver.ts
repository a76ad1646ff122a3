import type { HandlerDeps } from '../runtime/deps';
import { moveToQuarantine, tagWithVerdict } from '../store/objects';
import { TAG_PREFIX, TAG_SCORE, TAG_VERDICT, type Sample, type SampleVerdictDetail } from '../contracts/pipeline';
import type { VerdictRecord } from '../store/verdict-store';

/**
 * Acts on one upload with its content's verdict: tags the object, quarantines it when malicious and
 * configured, and writes the upload's terminal record under the execution that claimed it.
 */
export async function deliverVerdict(
  deps: HandlerDeps,
  sample: Sample,
  record: VerdictRecord,
  detail: SampleVerdictDetail,
  owner: string,
  now: number,
): Promise<void> {
  // The verdict first: when the owner's tags leave one slot, it is the tag read-blocking opens on.
  const tagging = await tagWithVerdict(deps.clients.s3, sample, TAG_PREFIX, [
    [TAG_VERDICT, record.verdict],
    [TAG_SCORE, record.score === null ? 'none' : String(record.score)],
  ]);
  detail.tagging = tagging;
  if (tagging.status !== 'tagged')
    // The object may be gone (deleted mid-analysis) or full of its owner's tags: the verdict still
    // stands for its content, and the record and the event say the object does not carry it.
    deps.log.warn('object not fully tagged', { bucket: sample.bucket, key: sample.key, ...tagging });
  // Quarantine after tagging, so that the copy carries the verdict tags.
  if (deps.config.quarantineBucket && record.verdict === 'malicious') {
    try {
      detail.quarantinedTo = await moveToQuarantine(deps.clients.s3, sample, deps.config.quarantineBucket);
    } catch (error) {
      deps.log.error('could not quarantine object', {
        bucket: sample.bucket,
        key: sample.key,
        error: (error as Error).name,
      });
    }
  }
  await deps.store.putObjectRecord({
    ...(detail.quarantinedTo ? { quarantinedTo: detail.quarantinedTo } : {}),
    bucket: sample.bucket,
    key: sample.key,
    versionId: sample.versionId,
    uploadId: sample.uploadId,
    status: 'verdict',
    sha256: sample.sha256,
    verdict: record.verdict,
    score: record.score,
    cached: detail.cached,
    tagging,
    owner,
    at: now,
  });
}
