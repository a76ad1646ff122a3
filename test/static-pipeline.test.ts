import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedHtmlReport, verdictDocument } from '../cli/local-analysis';
import { formatOutcomes } from '../cli/format';
import { escapeTerminal } from '../cli/terminal-escape';
import {
  DETAIL_TYPE_VERDICT,
  DETAIL_TYPE_VERDICT_CHANGED,
  SampleVerdictDetailSchema,
  type VerdictDocument,
} from '../lambdas/core/contracts/pipeline';
import { getObjectTags } from '../lambdas/core/store/objects';
import { STATES } from '../lib/workflow';
import { LocalPipeline } from '../local/runtime';
import { type CorpusSample, writeCorpus } from './static/corpus';
import { ensureVenv } from './static/engine';

/**
 * The static engine as the pipeline runs it: the synthesized state machine sends every upload to
 * the Python Lambda handler (in the local runtime's warm workers), and the verdict event, the tags,
 * the verdict document, the CLI's summary and the HTML report carry what it found. Detonation is
 * off, so that every verdict here rests on static evidence alone.
 */

let pipeline: LocalPipeline;
let dir: string;
let corpus: CorpusSample[];

beforeAll(async () => {
  ensureVenv();
  dir = mkdtempSync(join(tmpdir(), 'sandtrap-static-pipeline-'));
  corpus = writeCorpus(dir);
  pipeline = await LocalPipeline.start({
    virtualTime: true,
    cachePlan: false,
    // The rule-pack test adds a pack between two analyses: the engine lists the packs every time.
    config: { settings: { detonation: { enabled: false }, static: { rulePacks: { refreshSeconds: 0 } } } },
  });
}, 420_000);

afterAll(async () => {
  await pipeline?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function analyse(path: string, key?: string): Promise<VerdictDocument> {
  const run = await pipeline.run(await pipeline.upload({ path, ...(key ? { key } : {}) }));
  expect(run.status, run.cause).toBe('SUCCEEDED');
  const detail = SampleVerdictDetailSchema.parse(pipeline.events(DETAIL_TYPE_VERDICT).at(-1)?.detail);
  // A fresh analysis runs the static engine; a cached one reuses its verdict.
  expect(run.transitions.some((t) => t.name === STATES.staticAnalysis)).toBe(!detail.cached);
  return verdictDocument(pipeline, detail);
}

describe('the static engine in the pipeline, over the generated corpus', () => {
  it('gives each corpus file its verdict and threats, tags it, and the CLI shows its findings', async () => {
    const seen: string[] = [];
    for (const sample of corpus) {
      const document = await analyse(sample.path);
      const label = `${sample.name}: ${document.verdict} ${document.score}`;
      seen.push(label);
      expect(document.verdict, label).toBe(sample.verdict);
      expect(
        document.threats.map((t) => t.name),
        label,
      ).toEqual(sample.threats);
      for (const threat of document.threats) expect(threat.engine).toBe('static');
      expect(document.reason, label).toBe(sample.name === 'empty.bin' ? 'empty' : 'static-only');
      expect(document.engines).toEqual([expect.objectContaining({ engine: 'static', status: 'completed' })]);
      const ids = (document.static?.findings ?? []).map((f) => f.id);
      expect(ids, label).toEqual(expect.arrayContaining(sample.findings));
      if (sample.verdict === 'benign')
        expect(
          (document.static?.findings ?? []).filter((f) => f.severity !== 'low'),
          label,
        ).toEqual([]);
      const tags = await getObjectTags(pipeline.clients.s3, {
        bucket: document.bucket,
        key: document.key,
        versionId: document.versionId,
      });
      expect(tags['sandtrap:verdict'], label).toBe(sample.verdict);
      // What `sandtrap analyze` prints for it: the verdict, the threats and every finding's title.
      const printed = formatOutcomes([{ file: sample.name, ok: true, document }]);
      expect(printed).toContain(sample.name === 'empty.bin' ? '(empty object)' : '(static evidence only)');
      for (const threat of sample.threats) expect(printed).toContain(threat);
      for (const finding of document.static?.findings ?? []) expect(printed).toContain(escapeTerminal(finding.title));
    }
    expect(seen).toHaveLength(corpus.length);
  }, 300_000);

  it('shows the findings, the YARA strings with their offsets and the members in the HTML report', async () => {
    const eicar = corpus.find((s) => s.name === 'eicar.com') as CorpusSample;
    const document = await analyse(eicar.path, 'report/eicar.com');
    const html = await storedHtmlReport(pipeline, document.sha256);
    expect(html).toContain('<h2>Static analysis</h2>');
    expect(html).toContain('eicar_test_file');
    expect(html).toMatch(/<code class="small">\$head<\/code> at offset 0 \(\d+ bytes\)/);
    expect(html).toContain('<strong>EICAR-Test-File</strong>');
    const zip = corpus.find((s) => s.name === 'infected.zip') as CorpusSample;
    const archive = await analyse(zip.path, 'report/infected.zip');
    const zipHtml = await storedHtmlReport(pipeline, archive.sha256);
    expect(zipHtml).toContain('<h3>Unpacked members</h3>');
    expect(zipHtml).toContain('<code>dropper.sh</code>');
  }, 120_000);
});

describe('user rule packs', () => {
  it('a pack added under rules/ in the reports bucket changes a verdict without a redeploy', async () => {
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'meeting notes\nproject ACME-ORCHID-7731 status: green\n');
    const before = await analyse(notes, 'user-pack/notes.txt');
    expect(before.verdict).toBe('benign');
    expect(before.threats).toEqual([]);

    // The security team drops a rule into the configured prefix: no deploy, no restart.
    await pipeline.clients.s3.send(
      new PutObjectCommand({
        Bucket: pipeline.plan.buckets.reports,
        Key: 'rules/acme/orchid.yar',
        Body: [
          'rule acme_orchid_leak {',
          '  meta: severity = "critical" threat = "Acme-Orchid-Leak" confidence = "high"',
          '  strings: $a = "ACME-ORCHID-"',
          '  condition: $a',
          '}',
        ].join('\n'),
      }),
    );
    const run = await pipeline.run({
      ...(await pipeline.upload({ path: notes, key: 'user-pack/notes.txt' })),
      sandtrap: { reanalyze: true },
    });
    expect(run.status).toBe('SUCCEEDED');
    const after = SampleVerdictDetailSchema.parse(pipeline.events(DETAIL_TYPE_VERDICT).at(-1)?.detail);
    expect(after).toMatchObject({ sha256: before.sha256, verdict: 'malicious', cached: false });
    expect(after.threats).toEqual([
      expect.objectContaining({ name: 'Acme-Orchid-Leak', engine: 'static', confidence: 'high' }),
    ]);
    expect(pipeline.events(DETAIL_TYPE_VERDICT_CHANGED).at(-1)?.detail).toMatchObject({
      sha256: before.sha256,
      previousVerdict: 'benign',
      verdict: 'malicious',
    });
  }, 120_000);
});
