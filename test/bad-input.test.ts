import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import {
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_VERDICT,
  SampleAnalysisFailedDetailSchema,
  SampleVerdictDetailSchema,
  uploadIdOf,
} from '../lambdas/core/contracts/pipeline';
import { objectRecordKey } from '../lambdas/core/store/verdict-store';
import { STATES } from '../lib/workflow';
import { LocalPipeline } from '../local/runtime';
import { getItem } from './support';

describe('bad input never leaves a stuck or silent execution', () => {
  let pipeline: LocalPipeline;
  beforeAll(async () => {
    pipeline = await LocalPipeline.start({ virtualTime: true, cachePlan: false });
  });
  afterAll(async () => pipeline?.stop());

  const lastFailure = () => SampleAnalysisFailedDetailSchema.parse(pipeline.events(DETAIL_TYPE_FAILED).at(-1)?.detail);
  const lastVerdict = () => SampleVerdictDetailSchema.parse(pipeline.events(DETAIL_TYPE_VERDICT).at(-1)?.detail);

  it('reports a 0-byte object as a failed analysis with reason EmptyObject', async () => {
    const event = await pipeline.upload({ key: 'empty.bin', body: '' });
    const run = await pipeline.run(event);
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('EmptyObject');
    expect(run.transitions.map((t) => t.name)).toEqual([
      STATES.triage,
      STATES.recordFailure,
      STATES.failureOwned,
      STATES.publishFailure,
      STATES.failed,
    ]);
    expect(lastFailure()).toMatchObject({
      reason: 'EmptyObject',
      key: 'empty.bin',
      bucket: pipeline.plan.buckets.ingest,
    });
    const { pk, sk } = objectRecordKey({
      bucket: pipeline.plan.buckets.ingest,
      key: 'empty.bin',
      uploadId: uploadIdOf(event.detail.object),
    });
    expect(await getItem(pipeline, pk, sk)).toMatchObject({ status: 'failed', reason: 'EmptyObject' });
  });

  it('reports an object deleted before triage as ObjectNotFound', async () => {
    const event = await pipeline.upload({ key: 'gone.txt', body: 'short-lived' });
    await pipeline.clients.s3.send(new DeleteObjectCommand({ Bucket: pipeline.plan.buckets.ingest, Key: 'gone.txt' }));
    const run = await pipeline.run(event);
    expect(run.status).toBe('FAILED');
    expect(lastFailure()).toMatchObject({ reason: 'ObjectNotFound', key: 'gone.txt' });
    expect(lastFailure().error).toContain('does not exist');
  });

  it.each([
    ['spaces', 'folder with spaces/my file (1).txt'],
    ['unicode', 'Rechnungen/überweisung-äöü-日本.txt'],
    ['plus', 'c++/libstdc++ notes.txt'],
  ])('analyses keys with %s, given as is', async (_, key) => {
    const run = await pipeline.run(await pipeline.upload({ key, body: `content of ${key}` }));
    expect(run.status).toBe('SUCCEEDED');
    expect(lastVerdict()).toMatchObject({ key, verdict: 'unknown' });
  });

  it('analyses a key that arrives URL-encoded, as S3 notifications encode it', async () => {
    const key = 'reports 2026/Q3+Q4 ümlaut.txt';
    const uploaded = await pipeline.upload({ key, body: 'encoded key content' });
    const encoded = encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
    const run = await pipeline.run({
      ...uploaded,
      detail: { ...uploaded.detail, object: { ...uploaded.detail.object, key: encoded } },
    });
    expect(run.status).toBe('SUCCEEDED');
    expect(lastVerdict().key).toBe(key);
  });

  it.each([
    ['not an event at all', { hello: 'world' }, null, null],
    [
      'an event without a key',
      { 'detail-type': 'Object Created', source: 'aws.s3', detail: { bucket: { name: 'some-bucket' }, object: {} } },
      'some-bucket',
      null,
    ],
    [
      'an event of the wrong type',
      {
        'detail-type': 'Object Deleted',
        source: 'aws.s3',
        detail: { bucket: { name: 'some-bucket' }, object: { key: 'k' } },
      },
      'some-bucket',
      'k',
    ],
  ])('reports %s as InvalidEvent', async (_, event, bucket, key) => {
    const run = await pipeline.run(event);
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('InvalidEvent');
    expect(lastFailure()).toMatchObject({ reason: 'InvalidEvent', bucket, key });
  });

  it('ends every execution above with exactly one event', () => {
    // 2 failures + 3 keys + 1 encoded key + 3 invalid events.
    expect(pipeline.events()).toHaveLength(9);
  });
});
