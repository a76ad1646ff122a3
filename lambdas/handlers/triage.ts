import * as z from 'zod';
import { executionTimeoutSeconds } from '../core/config/runtime-config';
import { uploadAliasTtlSeconds } from '../core/store/verdict-store';
import { lambdaHandler } from '../core/runtime/lambda';
import type { HandlerDeps } from '../core/runtime/deps';
import {
  DuplicateEventError,
  InvalidEventError,
  ObjectNotFoundError,
  ObjectTooLargeError,
} from '../core/contracts/analysis-errors';
import { detectFileType } from '../core/triage/file-type';
import { digestStream } from '../core/triage/hashing';
import { headObject, openObject, type ObjectRef } from '../core/store/objects';
import { routeUpload } from '../core/triage/routing';
import {
  ObjectCreatedEventSchema,
  STATIC_ENGINE,
  uploadIdOf,
  type Sample,
  type TriageOutcome,
} from '../core/contracts/pipeline';
import { type AnalysisDecision, decideAnalysis } from '../core/triage/dedupe';

/** Triage's input: the execution input (the S3 event) and the execution id, which owns the in-flight lock. */
export const TriageInputSchema = z.object({
  event: z.unknown(),
  owner: z.string().min(1),
  /** Triage for the Express front, which runs the engines that never wait itself. */
  front: z.boolean().default(false),
});

/**
 * S3 event keys may arrive URL-encoded (`red+flower.jpg`), as in S3's classic notifications. The key
 * is tried as given first, then decoded, so that keys with spaces, `+` and unicode all resolve.
 */
function keyCandidates(key: string): string[] {
  const candidates = [key];
  if (/[%+]/.test(key)) {
    try {
      const decoded = decodeURIComponent(key.replace(/\+/g, ' '));
      if (decoded !== key) candidates.push(decoded);
    } catch {
      // Not valid percent-encoding: the literal key is the only candidate.
    }
  }
  return candidates;
}

/**
 * Which engines the Express front runs (the static engine: it never waits) and which are left for
 * the Standard workflow; the analysis waits only if some are. Only an analysis this execution runs
 * is split: a cached verdict runs nothing, and one waiting for a peer decides again later.
 */
function splitForFront(
  decision: AnalysisDecision,
  front: boolean,
): Pick<TriageOutcome, 'engines' | 'frontEngines' | 'frontResults' | 'waits'> {
  if (!front || decision.action !== 'analyze')
    return { engines: decision.engines, frontEngines: [], frontResults: [], waits: decision.waits };
  const engines = decision.engines.filter((engine) => engine !== STATIC_ENGINE);
  return {
    engines,
    frontEngines: decision.engines.filter((engine) => engine === STATIC_ENGINE),
    frontResults: [],
    waits: engines.length > 0,
  };
}

/** Validates the event, hashes the object in one streaming pass, names its type and routes it. */
export function createTriageHandler(deps: HandlerDeps) {
  return async (rawInput: unknown): Promise<TriageOutcome> => {
    const input = TriageInputSchema.parse(rawInput);
    const parsed = ObjectCreatedEventSchema.safeParse(input.event);
    if (!parsed.success)
      throw new InvalidEventError(
        `not an S3 Object Created event: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`,
      );
    const { bucket, object } = parsed.data.detail;

    let ref: ObjectRef | undefined;
    let head: Awaited<ReturnType<typeof headObject>> | undefined;
    for (const key of keyCandidates(object.key)) {
      const candidate = { bucket: bucket.name, key, versionId: object['version-id'] ?? null };
      head = await headObject(deps.clients.s3, candidate);
      if (head) {
        ref = { ...candidate, versionId: head.versionId };
        break;
      }
    }
    if (!ref || !head) throw new ObjectNotFoundError(bucket.name, object.key);

    // One analysis per upload: a redelivered event finds the claim and ends here, without an event.
    const reanalyze = parsed.data.sandtrap?.reanalyze === true;
    const uploadId = reanalyze ? `reanalysis:${input.owner.split(':').pop()}` : uploadIdOf(object);
    // A claim outliving the longest execution was left by one that died: this execution takes it over.
    const staleAfterMs = executionTimeoutSeconds(deps.config) * 1000;
    const now = deps.clock.now();
    // The claim is also the upload's entry in the sweep's time index, by when S3 says it was written
    // (as its inventory does), so that an upload whose execution dies is found again without listing.
    const writtenAt = reanalyze ? undefined : (head.lastModified ?? (Date.parse(parsed.data.time ?? '') || now));
    // An unversioned upload is recorded under S3's sequencer, which its uploader never sees: the alias
    // lets `sandtrap submit --wait` find the record by key and ETag. Written before the claim, so that
    // an upload with a record always has its alias (a duplicate delivery rewrites the same one).
    if (!reanalyze && !object['version-id'] && object.etag)
      await deps.store.putUploadAlias(
        { bucket: ref.bucket, key: ref.key, etag: object.etag },
        uploadId,
        now,
        uploadAliasTtlSeconds(staleAfterMs / 1000),
      );
    const claim = await deps.store.claimObject(
      { bucket: ref.bucket, key: ref.key, uploadId },
      input.owner,
      now,
      staleAfterMs,
      input.event,
      writtenAt,
    );
    if (claim !== 'claimed')
      throw new DuplicateEventError(
        ref.bucket,
        ref.key,
        uploadId,
        claim === 'done' ? 'already analysed' : 'being analysed',
      );
    if (head.size > deps.config.maxObjectBytes)
      throw new ObjectTooLargeError(ref.bucket, ref.key, head.size, deps.config.maxObjectBytes);

    const body = await openObject(deps.clients.s3, ref);
    if (!body) throw new ObjectNotFoundError(ref.bucket, ref.key);
    const digest = await digestStream(body);
    const fileType = await detectFileType(digest.head, ref.key);
    const sample: Sample = {
      bucket: ref.bucket,
      key: ref.key,
      versionId: ref.versionId ?? null,
      uploadId,
      size: digest.size,
      sha256: digest.sha256,
      sha1: digest.sha1,
      md5: digest.md5,
      fileType: fileType.type,
      mimeType: fileType.mime,
    };
    const { engines, withheld } = routeUpload(sample, deps.config);
    if (withheld.length > 0) sample.withheld = withheld;
    const startedAt = deps.clock.now();
    const decision = await decideAnalysis(deps, sample.sha256, input.owner, engines, reanalyze, sample);
    deps.log.info('triaged', {
      sha256: sample.sha256,
      fileType: sample.fileType,
      size: sample.size,
      engines: decision.engines,
      reused: decision.reused.map((r) => r.engine),
      action: decision.action,
    });
    return { ...decision, ...splitForFront(decision, input.front), sample, startedAt, owner: input.owner };
  };
}

export const handler = lambdaHandler('Triage', createTriageHandler);
