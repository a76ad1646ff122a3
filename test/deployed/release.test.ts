import { PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { DeployedClients } from '../../deployed/clients';
import { releaseContent, ReleaseTargetSchema, type ReleaseServices } from '../../deployed/release';
import type { DeployedStack } from '../../deployed/stack';
import { ReleaseOptionsSchema } from '../../cli/commands/release';
import {
  DETAIL_TYPE_VERDICT_OVERRIDDEN,
  type EngineResult,
  SampleVerdictOverriddenDetailSchema,
  TAG_VERDICT,
} from '../../lambdas/core/contracts/pipeline';
import { getObjectTags } from '../../lambdas/core/store/objects';
import { finalizeVerdict } from '../../lambdas/core/verdict/finalize';
import { putSample, RecordingEvents, sampleOf, UNIT, useLocalAws } from '../lambdas/core/support';

const ANALYST = 'arn:aws:sts::123456789012:assumed-role/SecurityAnalyst/alice';
const malicious: EngineResult = {
  engine: 'cape',
  status: 'completed',
  verdict: 'malicious',
  score: 90,
  itemId: 'cape-1',
  reportKey: null,
};

describe('sandtrap release: an analyst overrides a verdict', () => {
  const unit = useLocalAws({ quarantine: true });
  const stack: DeployedStack = {
    name: 'Sandtrap',
    ingestBucket: UNIT.ingest,
    sources: [{ bucket: UNIT.ingest, prefixes: [''] }],
    reportsBucket: UNIT.reports,
    table: UNIT.table,
    stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Analysis',
    bus: 'sandtrap',
  };
  const deployed = () => ({ ...unit.aws.clients, region: 'us-east-1' }) as DeployedClients;
  const services = (): ReleaseServices & { events: RecordingEvents } => ({
    whoAmI: async () => ANALYST,
    events: new RecordingEvents(),
  });

  /** Uploads `body` under `key` and finalizes it with `results`, as the pipeline would. */
  async function analysed(body: string, key: string, results: EngineResult[], owner: string) {
    const sample = { ...sampleOf(body), key, uploadId: `upload-${key}` };
    await putSample(unit.aws, sample, body);
    await unit.deps.store.acquireLock(sample.sha256, owner, unit.clock.now(), 600);
    return finalizeVerdict(unit.deps, {
      sample,
      results,
      cached: false,
      startedAt: unit.clock.now() - 1000,
      owner,
    });
  }

  it('allow-lists the sha256 with who, when and why, turns the verdict benign, re-tags every object and publishes the event', async () => {
    const body = 'released content: a macro the analysts vouched for';
    const first = await analysed(body, 'mail/a.docm', [malicious], 'exec-1');
    expect(first.detail).toMatchObject({ verdict: 'malicious', quarantinedTo: { bucket: UNIT.quarantine } });
    // Another upload of the same bytes, not quarantined (recorded as the pipeline records a verdict).
    const sha256 = first.detail.sha256;
    await unit.aws.clients.s3.send(new PutObjectCommand({ Bucket: UNIT.ingest, Key: 'share/b.docm', Body: body }));
    await unit.aws.clients.s3.send(
      new PutObjectTaggingCommand({
        Bucket: UNIT.ingest,
        Key: 'share/b.docm',
        Tagging: {
          TagSet: [
            { Key: 'team', Value: 'finance' },
            { Key: TAG_VERDICT, Value: 'malicious' },
          ],
        },
      }),
    );
    await unit.deps.store.putObjectRecord({
      bucket: UNIT.ingest,
      key: 'share/b.docm',
      versionId: null,
      uploadId: 'upload-b',
      status: 'verdict',
      sha256,
      verdict: 'malicious',
      score: 90,
      at: unit.clock.now(),
    });

    const s = services();
    const at = Date.parse('2026-12-06T10:00:00Z');
    const detail = await releaseContent(
      deployed(),
      stack,
      s,
      { target: { sha256 }, reason: 'signed macro from the finance tooling team' },
      () => at,
    );

    expect(detail).toMatchObject({
      sha256,
      verdict: 'benign',
      previousVerdict: 'malicious',
      previousScore: 90,
      by: ANALYST,
      at: '2026-12-06T10:00:00.000Z',
      reason: 'signed macro from the finance tooling team',
      moreObjects: 0,
    });
    // The quarantined upload is re-tagged where it now is; the other in place.
    expect(detail.objects.map((o) => [o.bucket, o.key, o.tagging.status]).sort()).toEqual([
      [UNIT.ingest, 'share/b.docm', 'tagged'],
      [UNIT.quarantine, 'mail/a.docm', 'tagged'],
    ]);
    expect(await getObjectTags(unit.aws.clients.s3, { bucket: UNIT.ingest, key: 'share/b.docm' })).toEqual({
      team: 'finance',
      [TAG_VERDICT]: 'benign',
      'sandtrap:score': '90',
    });
    expect(
      (await getObjectTags(unit.aws.clients.s3, { bucket: UNIT.quarantine, key: 'mail/a.docm' }))[TAG_VERDICT],
    ).toBe('benign');

    // The allow-list entry and the stored verdict.
    expect(await unit.deps.store.getRelease(sha256)).toEqual({
      by: ANALYST,
      at: '2026-12-06T10:00:00.000Z',
      reason: 'signed macro from the finance tooling team',
    });
    expect(await unit.deps.store.getVerdict(sha256)).toMatchObject({
      verdict: 'benign',
      score: 90,
      released: { by: ANALYST },
    });

    // The event, as consumers validate it.
    expect(s.events.published).toHaveLength(1);
    expect(s.events.published[0]?.detailType).toBe(DETAIL_TYPE_VERDICT_OVERRIDDEN);
    expect(SampleVerdictOverriddenDetailSchema.parse(s.events.published[0]?.detail)).toEqual(detail);

    // A fresh analysis of the bytes (the cache expired, a reanalysis) honours the allow-list:
    // benign, reason `released`, the engines' result kept on record.
    const again = await analysed(body, 'mail/c.docm', [malicious], 'exec-2');
    expect(again.detail).toMatchObject({ verdict: 'benign', score: 90, reason: 'released' });
    expect(again.detail.quarantinedTo).toBeUndefined();
    expect(again.changed).toBeUndefined();
  });

  it('releases an object never analysed by the hash of its bytes', async () => {
    const body = 'a build artefact nobody analysed yet';
    await unit.aws.clients.s3.send(new PutObjectCommand({ Bucket: UNIT.ingest, Key: 'builds/tool.bin', Body: body }));
    const s = services();
    const [target] = [ReleaseTargetSchema.parse(`s3://${UNIT.ingest}/builds/tool.bin`)];
    const detail = await releaseContent(deployed(), stack, s, { target: target!, reason: 'our own build' });
    expect(detail).toMatchObject({
      sha256: sampleOf(body).sha256,
      previousVerdict: null,
      previousScore: null,
      objects: [{ bucket: UNIT.ingest, key: 'builds/tool.bin', tagging: { status: 'tagged' } }],
    });
    expect(
      (await getObjectTags(unit.aws.clients.s3, { bucket: UNIT.ingest, key: 'builds/tool.bin' }))[TAG_VERDICT],
    ).toBe('benign');
    await expect(
      releaseContent(deployed(), stack, s, {
        target: ReleaseTargetSchema.parse(`s3://${UNIT.ingest}/builds/missing.bin`),
        reason: 'x',
      }),
    ).rejects.toMatchObject({ name: 'ObjectToReleaseNotFoundError' });
  });

  it('re-tags every upload of a file uploaded a thousand times and more, a page of the index at a time, listing the first and counting the rest', async () => {
    const body = 'a common attachment: the company letterhead';
    const sha256 = sampleOf(body).sha256;
    const uploads = 1_050;
    const keys = Array.from({ length: uploads }, (_, i) => `letters/${String(i).padStart(3, '0')}.docx`);
    for (let start = 0; start < uploads; start += 50)
      await Promise.all(
        keys.slice(start, start + 50).map(async (key, i) => {
          await unit.aws.clients.s3.send(
            new PutObjectCommand({
              Bucket: UNIT.ingest,
              Key: key,
              Body: body,
              Tagging: `${TAG_VERDICT}=malicious`,
            }),
          );
          await unit.deps.store.putObjectRecord({
            bucket: UNIT.ingest,
            key,
            versionId: null,
            uploadId: `letter-${start + i}`,
            status: 'verdict',
            sha256,
            verdict: 'malicious',
            score: 80,
            at: unit.clock.now(),
          });
        }),
      );
    const detail = await releaseContent(deployed(), stack, services(), {
      target: { sha256 },
      reason: 'the letterhead, not a dropper',
    });
    expect(detail.objects).toHaveLength(50);
    expect(detail.moreObjects).toBe(uploads - 50);
    const verdicts = await Promise.all(
      keys.map(async (key) => (await getObjectTags(unit.aws.clients.s3, { bucket: UNIT.ingest, key }))[TAG_VERDICT]),
    );
    expect(verdicts.filter((v) => v !== 'benign')).toEqual([]);
  }, 60_000);

  it('takes a sha256 in either case or an s3:// URI, and requires a reason', () => {
    expect(ReleaseTargetSchema.parse(` ${'AB'.repeat(32)} `)).toEqual({ sha256: 'ab'.repeat(32) });
    expect(ReleaseTargetSchema.parse('s3://my-bucket/a/b c.txt')).toEqual({
      object: { bucket: 'my-bucket', key: 'a/b c.txt' },
    });
    expect(ReleaseTargetSchema.safeParse('invoice.pdf').error?.issues[0]?.message).toBe(
      '"invoice.pdf" is neither a sha256 nor an s3://bucket/key URI',
    );
    expect(ReleaseOptionsSchema.safeParse({ target: 'a'.repeat(64), reason: '  ' }).error?.issues[0]?.message).toBe(
      '--reason is required: say why the file is released',
    );
  });
});
