import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRONT_MAX_OBJECT_BYTES, STATES } from '../lib/workflow';
import type { ExecutionReport } from '../local/runtime';
import { DETAIL_TYPE_VERDICT, SampleVerdictDetailSchema } from '../lambdas/core/contracts/pipeline';
import { startCapeHarness, type CapeHarness } from './support';

const workflows = (run: ExecutionReport) => run.executions.map((e) => e.workflow);
const statesOf = (run: ExecutionReport, workflow: 'front' | 'standard') =>
  run.transitions.filter((t) => t.workflow === workflow).map((t) => t.name);

describe('the Express front and the Standard workflow', () => {
  let h: CapeHarness;
  /** Uploads whose front Triage fails once with a transient fault (a DynamoDB timeout). */
  const faultOnce = new Set<string>();

  beforeAll(async () => {
    h = await startCapeHarness(
      { queueSeconds: 20, processingSeconds: 100 },
      {},
      {
        beforeInvoke: (fn, input) => {
          const event = (input as { event?: { detail?: { object?: { key?: string } } }; front?: boolean }) ?? {};
          const key = event.event?.detail?.object?.key;
          if (fn === 'TriageFn' && (input as { front?: boolean }).front && key && faultOnce.delete(key))
            throw Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
        },
      },
    );
  });
  afterAll(async () => h?.stop());

  const verdictFor = (key: string) =>
    h.pipeline
      .events(DETAIL_TYPE_VERDICT)
      .map((e) => SampleVerdictDetailSchema.parse(e.detail))
      .filter((d) => d.key === key);

  it('runs the static engine in the front and hands the vendor to the Standard workflow, which never runs it again', async () => {
    const run = await h.pipeline.run(
      await h.pipeline.upload({ key: 'front/vendor.js', body: `// vendor ${Date.now()}` }),
    );
    expect(run.status).toBe('SUCCEEDED');
    expect(workflows(run)).toEqual(['front', 'standard']);
    expect(statesOf(run, 'front')).toContain(STATES.staticAnalysis);
    expect(statesOf(run, 'front')).toContain(STATES.handOffTriaged);
    expect(statesOf(run, 'standard')).not.toContain(STATES.staticAnalysis);
    expect(statesOf(run, 'standard')).not.toContain(STATES.triage);
    expect(statesOf(run, 'standard')[0]).toBe(STATES.route);
    // The verdict joins what both workflows' engines found.
    const [detail] = verdictFor('front/vendor.js');
    expect(detail?.engines.map((e) => e.engine).sort()).toEqual(['cape', 'static']);
    expect(verdictFor('front/vendor.js')).toHaveLength(1);
  });

  it('ends a cached verdict in the front alone: no Standard execution, no transition billed', async () => {
    const body = `// the same bytes twice ${Date.now()}`;
    await h.pipeline.run(await h.pipeline.upload({ key: 'front/first.js', body }));
    const again = await h.pipeline.run(await h.pipeline.upload({ key: 'front/again.js', body }));
    expect(again.status).toBe('SUCCEEDED');
    expect(workflows(again)).toEqual(['front']);
    expect(statesOf(again, 'front')).toContain(STATES.markCached);
    expect(verdictFor('front/again.js')).toEqual([expect.objectContaining({ cached: true })]);
  });

  it('hands an object too large for the front to the Standard workflow untouched, which triages it', async () => {
    const event = await h.pipeline.upload({ key: 'front/large.js', body: `// large ${Date.now()}` });
    // The size S3 announces decides; the object itself stays small so that the test stays fast.
    event.detail.object.size = FRONT_MAX_OBJECT_BYTES + 1;
    const run = await h.pipeline.run(event);
    expect(run.status).toBe('SUCCEEDED');
    expect(workflows(run)).toEqual(['front', 'standard']);
    expect(statesOf(run, 'front')).not.toContain(STATES.triage);
    expect(statesOf(run, 'front')).toContain(STATES.handOffEvent);
    expect(statesOf(run, 'standard').slice(0, 3)).toEqual([STATES.route, STATES.fromFront, STATES.triage]);
    expect(verdictFor('front/large.js')).toHaveLength(1);
  });

  it('hands the event over when the front meets a transient fault: the Standard workflow takes the claim over as the same owner', async () => {
    faultOnce.add('front/fault.js');
    const run = await h.pipeline.run(
      await h.pipeline.upload({ key: 'front/fault.js', body: `// fault ${Date.now()}` }),
    );
    expect(faultOnce.has('front/fault.js')).toBe(false);
    expect(run.status).toBe('SUCCEEDED');
    expect(statesOf(run, 'front')).toEqual([
      STATES.keepEvent,
      STATES.frontSize,
      STATES.triage,
      STATES.handOffEvent,
      `${STATES.handOffEvent}Done`,
    ]);
    expect(statesOf(run, 'standard')).not.toContain(STATES.duplicate);
    expect(verdictFor('front/fault.js')).toHaveLength(1);
  });

  it('records an upload whose event names no version under its sequencer, with the alias its uploader finds it by', async () => {
    const uploaded = await h.pipeline.upload({ key: 'front/unversioned.txt', body: `plain text ${Date.now()}` });
    const { 'version-id': _, ...object } = uploaded.detail.object;
    const run = await h.pipeline.run({ ...uploaded, detail: { ...uploaded.detail, object } });
    expect(run.status).toBe('SUCCEEDED');
    const store = h.pipeline.deps('TriageFn').store;
    const target = { bucket: uploaded.detail.bucket.name, key: object.key };
    const alias = await store.getUploadAlias({ ...target, etag: `"${object.etag}"` });
    expect(alias?.uploadId).toBe(object.sequencer);
    expect(await store.getObjectRecord({ ...target, uploadId: alias?.uploadId ?? '' })).toMatchObject({
      status: 'verdict',
    });
  });

  it('names the Standard execution after its front, so that a retried hand-off cannot start a second one', async () => {
    const event = await h.pipeline.upload({ key: 'front/named.js', body: `// named ${Date.now()}` });
    const run = await h.pipeline.run(event, { name: 'front-named' });
    expect(run.executions.map((e) => e.executionArn.split(':').pop())).toEqual(['front-named', 'front-named']);
    // A redelivery of the event under the same name ends at Triage: the upload is claimed and done.
    const twice = await h.pipeline.run(event, { name: 'front-named' });
    expect(workflows(twice)).toEqual(['front']);
    expect(twice.transitions.at(-1)?.name).toBe(STATES.duplicate);
    expect(verdictFor('front/named.js')).toHaveLength(1);
  });
});
