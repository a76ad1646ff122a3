import { describe, expect, it } from 'vitest';
import { SampleAnalysisFailedDetailSchema } from '../../../../lambdas/core/contracts/pipeline';
import { messageOf, recordFailure } from '../../../../lambdas/core/verdict/failures';
import { sampleOf, useLocalAws } from '../support';

/** A Step Functions Catch's error, as a Lambda failure arrives: `Cause` is the JSON Lambda reports. */
const lambdaError = (name: string, message: string) => ({
  Error: name,
  Cause: JSON.stringify({ errorType: name, errorMessage: message, trace: ['at x (y.js:1:1)'] }),
});

/** The S3 event an execution starts with. */
const objectCreated = (key: string, object: Record<string, unknown> = {}) => ({
  'detail-type': 'Object Created',
  source: 'aws.s3',
  detail: { bucket: { name: 'ingest-bucket' }, object: { key, ...object } },
});

describe('messageOf: the message of a Catch cause', () => {
  it("reads a Lambda error's message, and takes any other cause as plain text", () => {
    expect(messageOf(lambdaError('VendorError', 'cape: HTTP 500').Cause)).toBe('cape: HTTP 500');
    expect(messageOf('States.Timeout: the state timed out')).toBe('States.Timeout: the state timed out');
    expect(messageOf('{"errorType":"X"}')).toBe('{"errorType":"X"}');
    expect(messageOf('{"errorMessage": 42}')).toBe('{"errorMessage": 42}');
    expect(messageOf('')).toBe('no cause given');
    expect(messageOf(null)).toBe('no cause given');
    expect(messageOf(undefined)).toBe('no cause given');
  });
});

describe('recordFailure: every failure becomes one Sample Analysis Failed event', () => {
  let n = 0;

  const unit = useLocalAws();
  const { clock, log } = unit;

  it('reports a failure after triage with the sample, records it on the upload and releases the lock', async () => {
    const sample = sampleOf(`failed sample ${++n}`, { versionId: 'v7', uploadId: 'v7' });
    await unit.deps.store.claimObject(sample, 'exec-a', clock.now(), 60_000, {});
    await unit.deps.store.acquireLock(sample.sha256, 'exec-a', clock.now(), 600);
    const { detail, publish } = await recordFailure(
      unit.deps,
      { sample, owner: 'exec-a', error: lambdaError('ReportError', 'finalize blew up') },
      'exec-a',
    );
    expect(publish).toBe(true);
    expect(SampleAnalysisFailedDetailSchema.parse(detail)).toEqual({
      sha256: sample.sha256,
      bucket: sample.bucket,
      key: sample.key,
      versionId: 'v7',
      reason: 'ReportError',
      error: 'finalize blew up',
      failedAt: new Date(clock.now()).toISOString(),
    });
    expect(await unit.deps.store.getObjectRecord(sample)).toMatchObject({
      status: 'failed',
      reason: 'ReportError',
      sha256: sample.sha256,
      owner: 'exec-a',
    });
    expect(await unit.deps.store.acquireLock(sample.sha256, 'exec-b', clock.now(), 600)).toBe(true);
    expect(log.lines.at(-1)).toMatchObject({ level: 'error', message: 'analysis failed' });
  });

  it('names the upload from the raw event when triage failed before a sample existed', async () => {
    const key = `in/failed-${++n}.bin`;
    const { detail, publish } = await recordFailure(
      unit.deps,
      {
        event: objectCreated(key, { sequencer: 'SEQ1' }),
        error: lambdaError('ObjectTooLargeError', 'the object is too large'),
      },
      'exec-a',
    );
    expect(publish).toBe(true);
    expect(detail).toMatchObject({ bucket: 'ingest-bucket', key, versionId: null, reason: 'ObjectTooLarge' });
    expect(detail).not.toHaveProperty('sha256');
    // The upload is named by the sequencer, as Triage names it, and its uploader finds it by ETag.
    expect(await unit.deps.store.getObjectRecord({ bucket: 'ingest-bucket', key, uploadId: 'SEQ1' })).toMatchObject({
      status: 'failed',
    });
    expect(await unit.deps.store.getUploadAlias({ bucket: 'ingest-bucket', key, etag: 'E1' })).toBeUndefined();
    const other = `in/failed-${++n}.bin`;
    await recordFailure(
      unit.deps,
      {
        event: objectCreated(other, { sequencer: 'SEQ2', etag: '"E2"' }),
        error: lambdaError('ObjectNotFoundError', 'gone'),
      },
      'exec-b',
    );
    expect(await unit.deps.store.getUploadAlias({ bucket: 'ingest-bucket', key: other, etag: 'E2' })).toMatchObject({
      uploadId: 'SEQ2',
    });
  });

  it.each([
    ['no state at all', undefined],
    ['a string', 'garbage'],
    ['an event without a key', { event: { detail: { bucket: { name: 'b' }, object: { key: '' } } } }],
    ['an event whose fields are not strings', { detail: { bucket: { name: 7 }, object: { key: ['k'] } } }],
  ])('reports %s as an UnknownError of no upload, writing no record', async (_, state) => {
    const { detail, publish } = await recordFailure(unit.deps, state, 'exec-a');
    expect(publish).toBe(true);
    expect(detail).toMatchObject({ reason: 'UnknownError', error: 'no cause given', key: null });
    expect(SampleAnalysisFailedDetailSchema.safeParse(detail).success).toBe(true);
  });

  it('does not report a failed duplicate delivery of an upload another execution owns, nor touch its record or lock', async () => {
    const sample = sampleOf(`duplicate ${++n}`);
    await unit.deps.store.claimObject(sample, 'exec-owner', clock.now(), 60_000, {});
    await unit.deps.store.acquireLock(sample.sha256, 'exec-owner', clock.now(), 600);
    const { publish } = await recordFailure(
      unit.deps,
      { event: objectCreated(sample.key), sample, error: lambdaError('DuplicateEventError', 'being analysed') },
      'exec-duplicate',
    );
    expect(publish).toBe(false);
    expect(await unit.deps.store.getObjectRecord(sample)).toMatchObject({ status: 'analyzing', owner: 'exec-owner' });
    expect(await unit.deps.store.acquireLock(sample.sha256, 'exec-third', clock.now(), 600)).toBe(false);
    expect(log.lines.at(-1)).toMatchObject({ level: 'warn' });
  });

  it('takes the owner from the state when the execution id is not given', async () => {
    const sample = sampleOf(`owner from state ${++n}`);
    await unit.deps.store.acquireLock(sample.sha256, 'exec-state', clock.now(), 600);
    await recordFailure(unit.deps, { sample, owner: 'exec-state', error: { Error: 'States.Timeout', Cause: null } });
    expect(await unit.deps.store.acquireLock(sample.sha256, 'exec-b', clock.now(), 600)).toBe(true);
    expect(await unit.deps.store.getObjectRecord(sample)).toMatchObject({
      owner: 'exec-state',
      reason: 'States.Timeout',
    });
  });

  it('keeps the error and names the upload from the event when the state carries a malformed sample', async () => {
    const key = `in/malformed-sample-${++n}.bin`;
    const { detail } = await recordFailure(
      unit.deps,
      {
        event: objectCreated(key, { sequencer: 'SEQ2' }),
        sample: { sha256: 'not a digest', bucket: 7 },
        error: lambdaError('ObjectTooLargeError', 'too large'),
      },
      'exec-a',
    );
    expect(detail).toMatchObject({ bucket: 'ingest-bucket', key, reason: 'ObjectTooLarge', error: 'too large' });
    expect(detail).not.toHaveProperty('sha256');
  });

  it('cuts the error message to 2000 characters', async () => {
    const { detail } = await recordFailure(unit.deps, { error: { Error: 'Big', Cause: 'x'.repeat(5000) } });
    expect(detail.error).toHaveLength(2000);
  });
});
