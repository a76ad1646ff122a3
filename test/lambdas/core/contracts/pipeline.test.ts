import { describe, expect, it } from 'vitest';
import {
  EngineResultSchema,
  ObjectCreatedEventSchema,
  SampleSchema,
  TriageOutcomeSchema,
  uploadIdOf,
  VendorJobSchema,
} from '../../../../lambdas/core/contracts/pipeline';
import { sampleOf } from '../support';

/** The state payloads travel between Lambdas through Step Functions: each step validates what it receives. */
describe('pipeline contracts', () => {
  const sample = sampleOf('contract sample');
  const event = (bucket: string, key: string) => ({
    'detail-type': 'Object Created',
    source: 'aws.s3',
    detail: { bucket: { name: bucket }, object: { key } },
  });

  it('accepts S3 bucket names of 3 to 63 characters and keys of 1 to 1024', () => {
    expect(ObjectCreatedEventSchema.safeParse(event('abc', 'k')).success).toBe(true);
    expect(ObjectCreatedEventSchema.safeParse(event('a'.repeat(63), 'k'.repeat(1024))).success).toBe(true);
    expect(ObjectCreatedEventSchema.safeParse(event('ab', 'k')).success).toBe(false);
    expect(ObjectCreatedEventSchema.safeParse(event('a'.repeat(64), 'k')).success).toBe(false);
    expect(ObjectCreatedEventSchema.safeParse(event('abc', '')).success).toBe(false);
    expect(ObjectCreatedEventSchema.safeParse(event('abc', 'k'.repeat(1025))).success).toBe(false);
  });

  it('accepts only Object Created events from S3', () => {
    expect(ObjectCreatedEventSchema.safeParse({ ...event('abc', 'k'), 'detail-type': 'Object Deleted' }).success).toBe(
      false,
    );
    expect(ObjectCreatedEventSchema.safeParse({ ...event('abc', 'k'), source: 'custom.app' }).success).toBe(false);
    const negative = event('abc', 'k') as { detail: { object: Record<string, unknown> } };
    negative.detail.object.size = -1;
    expect(ObjectCreatedEventSchema.safeParse(negative).success).toBe(false);
  });

  it('accepts a sample with lowercase hex hashes of the right lengths only', () => {
    expect(SampleSchema.parse(sample)).toEqual(sample);
    expect(SampleSchema.safeParse({ ...sample, sha256: sample.sha256.toUpperCase() }).success).toBe(false);
    expect(SampleSchema.safeParse({ ...sample, sha256: sample.sha256.slice(1) }).success).toBe(false);
    expect(SampleSchema.safeParse({ ...sample, sha1: sample.md5 }).success).toBe(false);
    expect(SampleSchema.safeParse({ ...sample, md5: `${sample.md5}0` }).success).toBe(false);
    expect(SampleSchema.safeParse({ ...sample, size: -1 }).success).toBe(false);
    expect(SampleSchema.safeParse({ ...sample, size: 1.5 }).success).toBe(false);
    expect(SampleSchema.safeParse({ ...sample, versionId: undefined }).success).toBe(false);
  });

  it('keeps engine scores within 0–100 and reads a missing score as null', () => {
    const result = { engine: 'cape', status: 'completed', verdict: 'benign' };
    expect(EngineResultSchema.parse(result).score).toBeNull();
    expect(EngineResultSchema.safeParse({ ...result, score: 0 }).success).toBe(true);
    expect(EngineResultSchema.safeParse({ ...result, score: 100 }).success).toBe(true);
    expect(EngineResultSchema.safeParse({ ...result, score: 100.5 }).success).toBe(false);
    expect(EngineResultSchema.safeParse({ ...result, score: -1 }).success).toBe(false);
    expect(EngineResultSchema.safeParse({ ...result, engine: 'virustotal' }).success).toBe(false);
    expect(EngineResultSchema.safeParse({ ...result, status: 'crashed' }).success).toBe(false);
    expect(EngineResultSchema.safeParse({ ...result, engine: 'detonation' }).success).toBe(true);
  });

  it('accepts a triage outcome with no engines, and refuses unknown actions or engines', () => {
    const outcome = { action: 'analyze', sample, engines: [], startedAt: 1, waitSeconds: 0, owner: 'exec' };
    expect(TriageOutcomeSchema.safeParse(outcome).success).toBe(true);
    expect(TriageOutcomeSchema.safeParse({ ...outcome, action: 'skip' }).success).toBe(false);
    expect(TriageOutcomeSchema.safeParse({ ...outcome, engines: ['cape', 'nope'] }).success).toBe(false);
    expect(TriageOutcomeSchema.safeParse({ ...outcome, waitSeconds: -1 }).success).toBe(false);
  });

  it('keeps a vendor job to vendor engines, whole non-negative counts and known phases', () => {
    const job = {
      engine: 'joe',
      itemId: '',
      submittedAt: 1,
      deadline: 2,
      attempt: 0,
      waitSeconds: 0,
      phase: 'pending',
      state: 'new',
    };
    expect(VendorJobSchema.safeParse(job).success).toBe(true);
    expect(VendorJobSchema.safeParse({ ...job, engine: 'detonation' }).success).toBe(false);
    expect(VendorJobSchema.safeParse({ ...job, attempt: -1 }).success).toBe(false);
    expect(VendorJobSchema.safeParse({ ...job, waitSeconds: 1.5 }).success).toBe(false);
    expect(VendorJobSchema.safeParse({ ...job, phase: 'done' }).success).toBe(false);
  });

  it('names an upload by version id, else sequencer, else ETag, skipping empty values', () => {
    expect(uploadIdOf({ 'version-id': 'v', sequencer: 's', etag: 'e' })).toBe('v');
    expect(uploadIdOf({ 'version-id': '', sequencer: 's', etag: 'e' })).toBe('s');
    expect(uploadIdOf({ sequencer: 7, etag: 'e' })).toBe('e');
    expect(uploadIdOf({})).toBe('unknown');
    expect(uploadIdOf(undefined)).toBe('unknown');
  });
});
