import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import {
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_VERDICT,
  SampleAnalysisFailedDetailSchema,
  SampleVerdictDetailSchema,
  TAG_SCORE,
  TAG_VERDICT,
  uploadIdOf,
} from '../lambdas/core/contracts/pipeline';
import { getObjectTags } from '../lambdas/core/store/objects';
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

  it('judges a 0-byte object benign with reason empty: a verdict, no failure event, tagged', async () => {
    const failuresBefore = pipeline.events(DETAIL_TYPE_FAILED).length;
    const event = await pipeline.upload({ key: 'empty.bin', body: '' });
    const run = await pipeline.run(event);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.transitions.map((t) => t.name)).toContain(STATES.staticAnalysis);
    expect(run.transitions.map((t) => t.name)).not.toContain(STATES.recordFailure);
    expect(pipeline.events(DETAIL_TYPE_FAILED)).toHaveLength(failuresBefore);
    expect(lastVerdict()).toMatchObject({
      key: 'empty.bin',
      verdict: 'benign',
      score: 0,
      reason: 'empty',
      fileType: 'empty',
      threats: [],
      engines: [expect.objectContaining({ engine: 'static', status: 'completed', verdict: 'benign', score: 0 })],
    });
    const tags = await getObjectTags(pipeline.clients.s3, {
      bucket: pipeline.plan.buckets.ingest,
      key: 'empty.bin',
      versionId: null,
    });
    expect(tags).toMatchObject({ [TAG_VERDICT]: 'benign', [TAG_SCORE]: '0' });
    const { pk, sk } = objectRecordKey({
      bucket: pipeline.plan.buckets.ingest,
      key: 'empty.bin',
      uploadId: uploadIdOf(event.detail.object),
    });
    expect(await getItem(pipeline, pk, sk)).toMatchObject({ status: 'verdict', verdict: 'benign' });
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
    // Plain text no other engine takes: the static engine's verdict, which says so.
    expect(lastVerdict()).toMatchObject({ key, verdict: 'benign', reason: 'static-only' });
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
