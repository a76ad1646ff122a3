import { beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  type EngineResult,
  type Sample,
  SampleVerdictChangedDetailSchema,
  type SampleVerdictDetail,
  SampleVerdictDetailSchema,
  TAG_SCORE,
  TAG_VERDICT,
  VerdictDocumentSchema,
} from '../../../../lambdas/core/contracts/pipeline';
import { reportKeys } from '../../../../lambdas/core/contracts/report-keys';
import type { HandlerDeps } from '../../../../lambdas/core/runtime/deps';
import { getObjectTags, headObject } from '../../../../lambdas/core/store/objects';
import { objectRecordKey } from '../../../../lambdas/core/store/verdict-store';
import { finalizeVerdict } from '../../../../lambdas/core/verdict/finalize';
import { recordFailure } from '../../../../lambdas/core/verdict/failures';
import type { EventPublisher, PublishedEvent } from '../../../../lambdas/core/runtime/events';
import { putSample, RecordingEvents, sampleOf, UNIT, unitDeps, useLocalAws } from '../support';

const scored = (engine: EngineResult['engine'], score: number | null, status: EngineResult['status'] = 'completed') =>
  ({
    engine,
    status,
    verdict: score === null ? 'unknown' : score >= 70 ? 'malicious' : score >= 40 ? 'suspicious' : 'benign',
    score,
    itemId: `${engine}-1`,
    reportKey: null,
  }) satisfies EngineResult;

describe('finalizeVerdict: combine engine scores, store, tag, quarantine, release', () => {
  let n = 0;

  const unit = useLocalAws({ settings: { cacheTtlSeconds: 3600 } });
  const { clock, log } = unit;

  /** A sample uploaded to the ingest bucket, its content unlike any other test's, its lock held by `owner`. */
  async function uploaded(owner = 'exec-a', d: HandlerDeps = unit.deps): Promise<Sample> {
    const body = `finalize sample ${++n}`;
    const sample = sampleOf(body, { versionId: null });
    await putSample(unit.aws, sample, body);
    expect(await d.store.acquireLock(sample.sha256, owner, clock.now(), 600)).toBe(true);
    return sample;
  }

  const finalize = (
    sample: Sample,
    results: EngineResult[] | null,
    extra: Partial<{ cached: boolean; owner: string }> = {},
    d = unit.deps,
  ) => finalizeVerdict(d, { sample, results, cached: false, startedAt: clock.now() - 4321, owner: 'exec-a', ...extra });

  it('takes the highest completed score, stores verdict, engine results and reports, tags the object and releases the lock', async () => {
    const sample = await uploaded();
    const results = [scored('cape', 30), scored('joe', 80), scored('vmray', null, 'timeout')];
    const { detail, changed } = await finalize(sample, results);

    expect(SampleVerdictDetailSchema.parse(detail)).toEqual(detail);
    expect(detail).toMatchObject({
      sha256: sample.sha256,
      verdict: 'malicious',
      score: 80,
      cached: false,
      durationMs: 4321,
    });
    expect(detail.engines.map((e) => [e.engine, e.status, e.score])).toEqual([
      ['cape', 'completed', 30],
      ['joe', 'completed', 80],
      ['vmray', 'timeout', null],
    ]);
    expect(detail.analyzedAt).toBe(new Date(clock.now()).toISOString());
    expect(changed).toBeUndefined();

    expect(await unit.deps.store.getVerdict(sample.sha256)).toMatchObject({
      verdict: 'malicious',
      score: 80,
      engineResults: results,
    });
    const engineItem = await unit.aws.clients.ddb.send(
      new GetCommand({ TableName: UNIT.table, Key: { pk: `SAMPLE#${sample.sha256}`, sk: 'ENGINE#joe#joe-1' } }),
    );
    expect(engineItem.Item).toMatchObject({ score: 80, at: clock.now() });

    const document = await unit.aws.clients.s3.send(
      new GetObjectCommand({ Bucket: UNIT.reports, Key: reportKeys.verdict(sample.sha256) }),
    );
    const parsed = VerdictDocumentSchema.parse(JSON.parse(await document.Body!.transformToString()));
    expect(parsed).toMatchObject({ verdict: 'malicious', sha1: sample.sha1, md5: sample.md5, engineResults: results });
    const html = await unit.aws.clients.s3.send(
      new GetObjectCommand({ Bucket: UNIT.reports, Key: reportKeys.html(sample.sha256) }),
    );
    expect(html.ContentType).toMatch(/^text\/html/);
    // The indicators beside the report: the sample's own hashes at least, as STIX and as CSV.
    const read = async (Key: string) =>
      (await unit.aws.clients.s3.send(new GetObjectCommand({ Bucket: UNIT.reports, Key }))).Body!.transformToString();
    const bundle = JSON.parse(await read(reportKeys.iocsStix(sample.sha256)));
    expect(bundle.type).toBe('bundle');
    expect(JSON.stringify(bundle.objects)).toContain(`[file:hashes.'SHA-256' = '${sample.sha256}']`);
    const csv = (await read(reportKeys.iocsCsv(sample.sha256))).split('\r\n');
    expect(csv[0]).toBe('type,value,source');
    expect(csv.some((row) => row.includes(sample.sha256))).toBe(true);
    expect(detail.reportUrl).toContain(`/${UNIT.reports}/${reportKeys.html(sample.sha256)}?`);
    expect(detail.reportUrl).toMatch(new RegExp(`X-Amz-Expires=${unit.deps.config.reportLinkExpirySeconds}`));

    expect(await getObjectTags(unit.aws.clients.s3, sample)).toEqual({ [TAG_VERDICT]: 'malicious', [TAG_SCORE]: '80' });
    expect(await unit.deps.store.getObjectRecord(sample)).toMatchObject({
      status: 'verdict',
      verdict: 'malicious',
      score: 80,
      cached: false,
      owner: 'exec-a',
      uploadId: sample.uploadId,
    });
    expect(await unit.deps.store.acquireLock(sample.sha256, 'exec-z', clock.now(), 600)).toBe(true);
  });

  it.each([
    ['no engine was routed', null],
    ['the engine list is empty', []],
    ['every engine failed', [scored('cape', null, 'failed'), scored('joe', null, 'auth_failed')]],
    ['only failed engines have scores', [{ ...scored('cape', 90), status: 'error' as const }]],
  ])('calls the sample unknown, never benign, when %s, and tags the score as none', async (_, results) => {
    const sample = await uploaded();
    const { detail } = await finalize(sample, results);
    expect(detail).toMatchObject({ verdict: 'unknown', score: null });
    expect(detail.engines).toHaveLength(results?.length ?? 0);
    expect(await getObjectTags(unit.aws.clients.s3, sample)).toEqual({ [TAG_VERDICT]: 'unknown', [TAG_SCORE]: 'none' });
  });

  it('ignores failed engines beside a completed one: one benign score makes a benign verdict', async () => {
    const sample = await uploaded();
    const { detail } = await finalize(sample, [scored('cape', 20), { ...scored('joe', 95), status: 'timeout' }]);
    expect(detail).toMatchObject({ verdict: 'benign', score: 20 });
  });

  it('exports indicators beside the report for suspicious and malicious verdicts only', async () => {
    const exported = async (score: number) => {
      const sample = await uploaded();
      const { detail } = await finalize(sample, [scored('cape', score)]);
      const keys = (
        await unit.aws.clients.s3.send(
          new ListObjectsV2Command({ Bucket: UNIT.reports, Prefix: `reports/${sample.sha256}/` }),
        )
      ).Contents?.map((o) => o.Key);
      return {
        verdict: detail.verdict,
        stix: keys?.includes(reportKeys.iocsStix(sample.sha256)),
        html: keys?.includes(reportKeys.html(sample.sha256)),
      };
    };
    expect(await exported(10)).toEqual({ verdict: 'benign', stix: false, html: true });
    expect(await exported(50)).toEqual({ verdict: 'suspicious', stix: true, html: true });
    expect(await exported(90)).toEqual({ verdict: 'malicious', stix: true, html: true });
  });

  it('bands the combined score with the policy: a tie at the malicious threshold is malicious', async () => {
    const sample = await uploaded();
    const { detail } = await finalize(sample, [scored('cape', 70), scored('joe', 70)]);
    expect(detail).toMatchObject({ verdict: 'malicious', score: 70 });
  });

  it('averages with the mean policy, bands included', async () => {
    const mean = unitDeps(unit.aws, {
      clock,
      log,
      settings: { policy: { method: 'mean', suspiciousAt: 30, maliciousAt: 60 } },
    });
    const sample = await uploaded('exec-a', mean);
    const { detail } = await finalize(sample, [scored('cape', 10), scored('joe', 50), scored('vmray', 90)], {}, mean);
    expect(detail).toMatchObject({ verdict: 'suspicious', score: 50 });
  });

  it('serves a cached verdict as stored: nothing recomputed or rewritten, the other execution’s lock kept', async () => {
    const sample = await uploaded('exec-first');
    await finalize(sample, [scored('cape', 45)], { owner: 'exec-first' });
    const stored = await unit.deps.store.getVerdict(sample.sha256);
    expect(await unit.deps.store.acquireLock(sample.sha256, 'exec-analysing', clock.now(), 600)).toBe(true);

    clock.advance(60);
    const { detail, changed } = await finalize(sample, [scored('cape', 99)], { cached: true, owner: 'exec-second' });
    expect(detail).toMatchObject({ verdict: 'suspicious', score: 45, cached: true });
    expect(detail.analyzedAt).toBe(new Date(stored!.analyzedAt).toISOString());
    expect(changed).toBeUndefined();
    expect(await unit.deps.store.getVerdict(sample.sha256)).toEqual(stored);
    expect(await unit.deps.store.acquireLock(sample.sha256, 'exec-other', clock.now(), 600)).toBe(false);
    expect(await unit.deps.store.getObjectRecord(sample)).toMatchObject({ cached: true, owner: 'exec-second' });
  });

  it('fails a cached finalize whose verdict vanished (the TTL ran out between triage and finalize)', async () => {
    const sample = await uploaded();
    await expect(finalize(sample, null, { cached: true })).rejects.toThrow(/cached verdict for [0-9a-f]{64} vanished/);
  });

  it('reports a change of verdict against the stored one, and none when a new analysis agrees', async () => {
    const sample = await uploaded();
    await finalize(sample, [scored('cape', 10)]);
    const before = await unit.deps.store.getVerdict(sample.sha256);
    clock.advance(3600);
    await unit.deps.store.acquireLock(sample.sha256, 'exec-b', clock.now(), 600);
    const { detail, changed } = await finalize(sample, [scored('cape', 88)], { owner: 'exec-b' });
    expect(SampleVerdictChangedDetailSchema.parse(changed)).toEqual({
      sha256: sample.sha256,
      bucket: sample.bucket,
      key: sample.key,
      previousVerdict: 'benign',
      previousScore: 10,
      previousAnalyzedAt: new Date(before!.analyzedAt).toISOString(),
      verdict: 'malicious',
      score: 88,
      analyzedAt: detail.analyzedAt,
    });
    clock.advance(1);
    expect((await finalize(sample, [scored('joe', 75)], { owner: 'exec-c' })).changed).toBeUndefined();
  });

  it('publishes the verdict and its change itself; a retry after a refused publish still tells the change', async () => {
    const sample = await uploaded();
    await finalize(sample, [scored('cape', 10)]);
    clock.advance(3600);
    const refusing: HandlerDeps = {
      ...unit.deps,
      events: {
        publish: async () => {
          throw Object.assign(new Error('EventBridge refused 2 of 2 events'), { name: 'EventsNotPublishedError' });
        },
      },
    };
    await unit.deps.store.acquireLock(sample.sha256, 'exec-b', clock.now(), 600);
    await expect(finalize(sample, [scored('cape', 90)], { owner: 'exec-b' }, refusing)).rejects.toThrow(
      'EventBridge refused',
    );
    // The verdict was stored before the publish failed; the retry must still see what it replaced.
    clock.advance(2);
    const bus = new RecordingEvents();
    const { detail } = await finalize(sample, [scored('cape', 90)], { owner: 'exec-b' }, { ...unit.deps, events: bus });
    expect(bus.published.map((e) => e.detailType)).toEqual(['Sample Verdict', 'Sample Verdict Changed']);
    expect(bus.published[0]?.detail).toEqual(detail);
    expect(SampleVerdictChangedDetailSchema.parse(bus.published[1]?.detail)).toMatchObject({
      previousVerdict: 'benign',
      verdict: 'malicious',
    });
  });

  it('still publishes the verdict of an object deleted mid-analysis, warning that it could not be tagged', async () => {
    const sample = await uploaded();
    await unit.aws.clients.s3.send(new DeleteObjectCommand({ Bucket: sample.bucket, Key: sample.key }));
    const { detail } = await finalize(sample, [scored('cape', 50)]);
    expect(detail.verdict).toBe('suspicious');
    expect(detail.tagging).toEqual({ status: 'untagged', reason: 'object-gone' });
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'object not fully tagged',
        extra: expect.objectContaining({ reason: 'object-gone' }),
      }),
    );
    expect(await unit.deps.store.getObjectRecord(sample)).toMatchObject({
      status: 'verdict',
      tagging: { status: 'untagged', reason: 'object-gone' },
    });
  });

  describe('with quarantine on', () => {
    let quarantining: HandlerDeps;
    beforeAll(() => {
      quarantining = unitDeps(unit.aws, { clock, log, quarantine: true });
    });

    it('moves a malicious object, tags included, and records where it went', async () => {
      const sample = await uploaded('exec-a', quarantining);
      const { detail } = await finalize(sample, [scored('cape', 100)], {}, quarantining);
      const to = { bucket: UNIT.quarantine, key: sample.key, versionId: null };
      expect(detail.quarantinedTo).toEqual(to);
      expect(await headObject(unit.aws.clients.s3, sample)).toBeUndefined();
      expect(await getObjectTags(unit.aws.clients.s3, to)).toEqual({ [TAG_VERDICT]: 'malicious', [TAG_SCORE]: '100' });
      expect(await quarantining.store.getObjectRecord(sample)).toMatchObject({ quarantinedTo: to });
    });

    it('leaves suspicious and unknown objects where they are', async () => {
      for (const results of [[scored('cape', 69)], []]) {
        const sample = await uploaded('exec-a', quarantining);
        const { detail } = await finalize(sample, results, {}, quarantining);
        expect(detail.quarantinedTo).toBeUndefined();
        expect(await headObject(unit.aws.clients.s3, sample)).toBeDefined();
      }
    });
  });

  it('keys the object record by the upload, so that a second upload of the same bytes has its own', async () => {
    const sample = await uploaded();
    await finalize(sample, [scored('cape', 5)]);
    const again = { ...sample, uploadId: 'second-upload' };
    expect(await unit.deps.store.getObjectRecord(again)).toBeUndefined();
    await finalize(again, null, { cached: true, owner: 'exec-b' });
    expect(objectRecordKey(again).pk).not.toBe(objectRecordKey(sample).pk);
    expect(await unit.deps.store.getObjectRecord(again)).toMatchObject({ cached: true, owner: 'exec-b' });
  });

  describe('serving the uploads joined to the analysis', () => {
    /** Deps whose event bus records what handlers publish, or refuses it. */
    const withBus = (refuse = false) => {
      const published: PublishedEvent[] = [];
      const events: EventPublisher = {
        async publish(batch) {
          if (refuse) throw new Error('EventBridge is down');
          published.push(...batch);
        },
      };
      return { deps: { ...unit.deps, events }, published };
    };
    /** Another upload of the sample's bytes, in the bucket, claimed by `owner` and joined to the analysis. */
    async function joinedUpload(sample: Sample, owner: string): Promise<Sample> {
      const upload = { ...sample, key: `${sample.key}.${owner}`, uploadId: `${owner}-upload` };
      await putSample(unit.aws, upload, `finalize sample ${n}`);
      await unit.deps.store.claimObject(upload, owner, clock.now(), 60_000, {});
      await unit.deps.store.joinAnalysis({ sample: upload, owner, joinedAt: clock.now() - 1000 }, 600);
      return upload;
    }

    it('records, tags and publishes each joined upload with the verdict, as cached, once', async () => {
      const sample = await uploaded();
      const joined = [await joinedUpload(sample, 'exec-j1'), await joinedUpload(sample, 'exec-j2')];
      const { deps, published } = withBus();
      const { detail } = await finalize(sample, [scored('cape', 80)], {}, deps);
      // The analysis's own verdict last, after the joined uploads'.
      expect(published.at(-1)?.detail).toEqual(detail);
      const served = published.slice(0, -1);
      expect(served.map((e) => [e.detailType, (e.detail as SampleVerdictDetail).key])).toEqual(
        expect.arrayContaining(joined.map((u) => ['Sample Verdict', u.key])),
      );
      expect(served).toHaveLength(2);
      for (const event of served) {
        const served = SampleVerdictDetailSchema.parse(event.detail);
        expect(served).toMatchObject({ sha256: sample.sha256, verdict: 'malicious', score: 80, cached: true });
        expect(served.durationMs).toBe(1000);
        expect(served.reportUrl).toBe(detail.reportUrl);
      }
      for (const [i, upload] of joined.entries()) {
        expect(await unit.deps.store.getObjectRecord(upload)).toMatchObject({
          status: 'verdict',
          verdict: 'malicious',
          cached: true,
          owner: `exec-j${i + 1}`,
        });
        expect(await getObjectTags(unit.aws.clients.s3, upload)).toMatchObject({ [TAG_VERDICT]: 'malicious' });
      }
      expect(await unit.deps.store.joinedUploads(sample.sha256, 10)).toEqual([]);
      // A retried Finalize serves nobody twice: it publishes only its own verdict again.
      await finalize(sample, [scored('cape', 80)], {}, deps);
      expect(published).toHaveLength(4);
      expect(published.at(-1)?.detail).toMatchObject({ cached: false });
    });

    it('joins them again when their events cannot be published, so that the retry serves them', async () => {
      const sample = await uploaded();
      const upload = await joinedUpload(sample, 'exec-j');
      await expect(finalize(sample, [scored('cape', 10)], {}, withBus(true).deps)).rejects.toThrow(
        'EventBridge is down',
      );
      expect((await unit.deps.store.joinedUploads(sample.sha256, 10)).map((j) => j.sample.key)).toEqual([upload.key]);
      const { deps, published } = withBus();
      await finalize(sample, [scored('cape', 10)], {}, deps);
      expect(published.map((e) => (e.detail as SampleVerdictDetail).key)).toEqual([upload.key, sample.key]);
    });

    it('releases them to the sweep when the analysis fails instead', async () => {
      const sample = await uploaded('exec-a');
      const upload = await joinedUpload(sample, 'exec-j');
      const { publish } = await recordFailure(
        unit.deps,
        { sample, owner: 'exec-a', error: { Error: 'States.Timeout', Cause: 'finalize timed out' } },
        'exec-a',
      );
      expect(publish).toBe(true);
      expect(await unit.deps.store.joinedUploads(sample.sha256, 10)).toEqual([]);
      expect(await unit.deps.store.getObjectRecord(upload)).toMatchObject({
        status: 'analyzing',
        owner: 'exec-j',
        claimedAt: 0,
      });
    });

    it('leaves them joined when an execution that does not hold the lock fails', async () => {
      const sample = await uploaded('exec-a');
      await joinedUpload(sample, 'exec-j');
      await recordFailure(
        unit.deps,
        { sample: { ...sample, uploadId: 'other' }, owner: 'exec-other', error: { Error: 'X', Cause: 'x' } },
        'exec-other',
      );
      expect(await unit.deps.store.joinedUploads(sample.sha256, 10)).toHaveLength(1);
    });
  });
});
