import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';
import { getObjectTags } from '../lambdas/core/store/objects';
import {
  DETAIL_TYPE_VERDICT,
  DETAIL_TYPE_VERDICT_CHANGED,
  SampleVerdictChangedDetailSchema,
  SampleVerdictDetailSchema,
  TAG_SCORE,
  TAG_VERDICT,
  uploadIdOf,
  VerdictDocumentSchema,
} from '../lambdas/core/contracts/pipeline';
import { markerMalscore } from '../emulators/cape';
import { STATES } from '../lib/workflow';
import { getItem, startCapeHarness, type CapeHarness } from './support';

describe('local pipeline with CAPEv2', () => {
  let h: CapeHarness;
  beforeAll(async () => {
    h = await startCapeHarness({ queueSeconds: 20, processingSeconds: 100 });
  });
  afterAll(async () => h?.stop());

  it('analyses an upload end to end: polls CAPE until reported, stores, tags and publishes the verdict', async () => {
    const event = await h.pipeline.upload({
      key: 'mail/invoice.js',
      body: '// SANDTRAP-TEST-MALICIOUS inert marker\nconsole.log(1);\n',
    });
    const run = await h.pipeline.run(event);
    expect(run.status).toBe('SUCCEEDED');

    // CAPE was polled several times before it reported.
    const polls = run.transitions.filter((t) => t.name === STATES.poll).length;
    expect(polls).toBeGreaterThanOrEqual(2);
    expect(h.cape.count('/tasks/view/')).toBe(polls);
    expect(h.cape.server.requests.every((r) => r.headers.authorization === 'Token cape-test-token')).toBe(true);

    // The event validates against the published schema.
    const published = h.pipeline.events(DETAIL_TYPE_VERDICT);
    expect(published).toHaveLength(1);
    const detail = SampleVerdictDetailSchema.parse(published[0]?.detail);
    expect(detail).toMatchObject({
      verdict: 'malicious',
      score: 92,
      cached: false,
      key: 'mail/invoice.js',
      fileType: 'script-js',
    });
    // The static engine judged it first (a marker comment and console.log: nothing to flag), CAPE too.
    expect(detail.engines).toEqual([
      expect.objectContaining({ engine: 'static', status: 'completed', verdict: 'benign' }),
      {
        engine: 'cape',
        status: 'completed',
        verdict: 'malicious',
        score: 92,
        reportKey: expect.stringMatching(/^reports\/[0-9a-f]{64}\/cape\/1\.json\.gz$/),
      },
    ]);

    // The verdict is in DynamoDB, with the native score kept.
    const item = await getItem(h.pipeline, `SAMPLE#${detail.sha256}`, 'VERDICT');
    expect(item).toMatchObject({ verdict: 'malicious', score: 92, sha256: detail.sha256 });
    const cape = (item?.engineResults as { engine: string; native: unknown }[] | undefined)?.find(
      (r) => r.engine === 'cape',
    );
    expect(cape?.native).toEqual({
      value: 9.2,
      scale: 'malscore 0-10',
    });
    expect(typeof item?.expiresAt).toBe('number');

    // The object is tagged; the native report and verdict document are in the reports bucket.
    const deps = h.pipeline.deps('FinalizeFn');
    const tags = await getObjectTags(deps.clients.s3, { bucket: detail.bucket, key: detail.key });
    expect(tags).toMatchObject({ [TAG_VERDICT]: 'malicious', [TAG_SCORE]: '92' });
    const stored = await deps.clients.s3.send(
      new GetObjectCommand({
        Bucket: deps.config.reportsBucket,
        Key: detail.engines.find((e) => e.engine === 'cape')?.reportKey ?? '',
      }),
    );
    const native = JSON.parse(gunzipSync(Buffer.from(await stored.Body!.transformToByteArray())).toString('utf8'));
    expect(native.malscore).toBe(9.2);
    const verdictJson = await deps.clients.s3.send(
      new GetObjectCommand({ Bucket: deps.config.reportsBucket, Key: `reports/${detail.sha256}/verdict.json` }),
    );
    const document = VerdictDocumentSchema.parse(JSON.parse(await verdictJson.Body!.transformToString()));
    expect(document.engineResults.find((r) => r.engine === 'cape')?.native?.value).toBe(9.2);
  });

  it('publishes a cached verdict for the same content without calling CAPE again', async () => {
    const before = h.cape.server.requests.length;
    const event = await h.pipeline.upload({
      key: 'other/copy of invoice.js',
      body: '// SANDTRAP-TEST-MALICIOUS inert marker\nconsole.log(1);\n',
    });
    const run = await h.pipeline.run(event);
    expect(run.status).toBe('SUCCEEDED');
    expect(h.cape.server.requests.length).toBe(before);
    const detail = SampleVerdictDetailSchema.parse(h.pipeline.events(DETAIL_TYPE_VERDICT).at(-1)?.detail);
    expect(detail).toMatchObject({ cached: true, verdict: 'malicious', score: 92, key: 'other/copy of invoice.js' });
    const tags = await getObjectTags(h.pipeline.deps('FinalizeFn').clients.s3, {
      bucket: detail.bucket,
      key: detail.key,
    });
    expect(tags[TAG_VERDICT]).toBe('malicious');
  });

  it('does not cache a verdict resting on a failed engine: the next upload runs that engine again and keeps the rest', async () => {
    const body = '// SANDTRAP-TEST-MALICIOUS incomplete verdict\nconsole.log(2);\n';
    const lastVerdict = () => SampleVerdictDetailSchema.parse(h.pipeline.events(DETAIL_TYPE_VERDICT).at(-1)?.detail);
    // CAPE answers 500 on every attempt: the engine ends in error, the static engine still judges.
    h.cape.setFault('server-error');
    const first = await h.pipeline.run(await h.pipeline.upload({ key: 'incomplete/first.js', body }));
    h.cape.setFault('none');
    expect(first.status).toBe('SUCCEEDED');
    expect(lastVerdict().engines.map((e) => [e.engine, e.status])).toEqual([
      ['static', 'completed'],
      ['cape', 'error'],
    ]);

    // The same bytes again: not a cached verdict; CAPE runs, the static result is kept, not recomputed.
    const second = await h.pipeline.run(await h.pipeline.upload({ key: 'incomplete/second.js', body }));
    expect(second.status).toBe('SUCCEEDED');
    const names = second.transitions.map((t) => t.name);
    expect(names).toContain(STATES.submit);
    expect(names).not.toContain(STATES.staticAnalysis);
    expect(lastVerdict()).toMatchObject({ cached: false, verdict: 'malicious', key: 'incomplete/second.js' });
    expect(lastVerdict().engines.map((e) => [e.engine, e.status])).toEqual([
      ['static', 'completed'],
      ['cape', 'completed'],
    ]);

    // Now complete: a third upload is served from the cache.
    const third = await h.pipeline.run(await h.pipeline.upload({ key: 'incomplete/third.js', body }));
    expect(third.transitions.map((t) => t.name)).not.toContain(STATES.submit);
    expect(lastVerdict()).toMatchObject({ cached: true, verdict: 'malicious' });
  });

  it('starts one vendor submission for two concurrent uploads of the same content: the second joins the first, polling nothing', async () => {
    const before = h.cape.submissions;
    const body = `benign text ${Date.now()}\n`;
    const [a, b] = await Promise.all([
      h.pipeline.upload({ key: 'burst/a.txt', body }),
      h.pipeline.upload({ key: 'burst/b.txt', body }),
    ]);
    const runs = await Promise.all([h.pipeline.run(a), h.pipeline.run(b)]);
    expect(runs.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(h.cape.submissions - before).toBe(1);
    const details = h.pipeline
      .events(DETAIL_TYPE_VERDICT)
      .map((e) => SampleVerdictDetailSchema.parse(e.detail))
      .filter((d) => d.key.startsWith('burst/'));
    expect(details.map((d) => d.cached).sort()).toEqual([false, true]);
    expect(new Set(details.map((d) => d.verdict))).toEqual(new Set(['benign']));
    // The second upload joined the running analysis: its front ended there, and nothing polled.
    const joined = runs.find((r) => r.transitions.some((t) => t.name === STATES.joined));
    expect(joined?.executions.map((e) => e.workflow)).toEqual(['front']);
    expect(joined?.transitions.at(-1)?.name).toBe(STATES.joined);
    for (const run of runs)
      expect(run.transitions.map((t) => t.name)).not.toEqual(
        expect.arrayContaining([expect.stringMatching(new RegExp(`^(${STATES.checkPeer}|${STATES.waitForPeer})$`))]),
      );
    // The analysis served it: its record, its tags and its event, all by the time the analysis ended.
    const served = details.find((d) => d.cached);
    const upload = [a, b].find((e) => e.detail.object.key === served?.key);
    const object = { bucket: served?.bucket ?? '', key: served?.key ?? '' };
    const deps = h.pipeline.deps('FinalizeFn');
    expect(await deps.store.getObjectRecord({ ...object, uploadId: uploadIdOf(upload?.detail.object) })).toMatchObject({
      status: 'verdict',
      verdict: 'benign',
      cached: true,
    });
    const tags = await getObjectTags(deps.clients.s3, object);
    expect(tags).toMatchObject({ [TAG_VERDICT]: 'benign' });
  });

  it('ignores a duplicated delivery of the same upload event: one analysis, one record, one event', async () => {
    const event = await h.pipeline.upload({ key: 'dup/once.txt', body: `delivered twice ${Date.now()}` });
    const before = h.pipeline.events().length;
    const [first, second] = await Promise.all([h.pipeline.run(event), h.pipeline.run(event)]);
    const third = await h.pipeline.run(event);
    const statuses = [first, second, third].map((r) => r.transitions.at(-1)?.name).sort();
    // An analysis ends at Finalize, which publishes its verdict; a duplicate ends in its own Succeed state.
    expect(statuses).toEqual([STATES.finalize, STATES.duplicate, STATES.duplicate].sort());
    expect(h.pipeline.events().length - before).toBe(1);
  });

  it('reanalyses on request, bypassing the cache, and publishes Sample Verdict Changed when the verdict moves', async () => {
    const body = `benign today ${Date.now()}`;
    const event = await h.pipeline.upload({ key: 'change/sample.txt', body });
    await h.pipeline.run(event);
    expect(SampleVerdictDetailSchema.parse(h.pipeline.events(DETAIL_TYPE_VERDICT).at(-1)?.detail).verdict).toBe(
      'benign',
    );
    const submissions = h.cape.submissions;
    h.cape.malscoreFor = () => 8.1;
    try {
      const run = await h.pipeline.run({ ...event, sandtrap: { reanalyze: true } });
      expect(run.status).toBe('SUCCEEDED');
      expect(h.cape.submissions).toBe(submissions + 1);
      const changed = SampleVerdictChangedDetailSchema.parse(
        h.pipeline.events(DETAIL_TYPE_VERDICT_CHANGED).at(-1)?.detail,
      );
      expect(changed).toMatchObject({
        previousVerdict: 'benign',
        verdict: 'malicious',
        score: 81,
        key: 'change/sample.txt',
      });
      expect(SampleVerdictDetailSchema.parse(h.pipeline.events(DETAIL_TYPE_VERDICT).at(-1)?.detail)).toMatchObject({
        verdict: 'malicious',
        cached: false,
      });
    } finally {
      h.cape.malscoreFor = markerMalscore;
    }
  });
});
