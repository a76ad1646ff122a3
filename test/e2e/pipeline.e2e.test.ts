import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  SampleVerdictChangedDetailSchema,
  SampleVerdictDetailSchema,
  TAG_SCORE,
  TAG_VERDICT,
  VerdictDocumentSchema,
  type VerdictDocument,
} from '../../lambdas/core/contracts/pipeline';
import { createE2eClients, destroyE2eClients, type E2eClients } from './harness/aws';
import { runSandtrap } from './harness/cli';
import type { E2eContext } from './harness/context';
import type { EmulatorCounts } from './harness/vendors';
import { EventInbox, type DeliveredEvent } from './harness/sqs';
import { MACRO } from '../static/corpus';
import { cleanPdf, makeDocx } from '../static/documents';

const ROOT = join(import.meta.dirname, '..', '..');
/** Only the e2e config's global setup provides it; `vitest.config.ts` also matches this file, and there the suite skips. */
const provided = inject('e2e') as E2eContext | undefined;
const ctx = provided ?? ({} as E2eContext);
/** The state a redelivered upload event ends in (`STATES.duplicate` in lib/workflow.ts). */
const DUPLICATE_STATE = 'DuplicateEventIgnored';

/** Runs the `sandtrap` CLI against the stack's MiniStack. */
const sandtrap = (args: string[], timeoutMs?: number) => runSandtrap(ctx.env, args, timeoutMs);

function jsonLines(stdout: string): unknown[] {
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

async function emulatorCounts(): Promise<Record<'cape' | 'vmray', EmulatorCounts>> {
  const response = await fetch(`${ctx.controlUrl}/emulators`);
  return (await response.json()) as Record<'cape' | 'vmray', EmulatorCounts>;
}

async function setCapeMalscore(malscore: number | null): Promise<void> {
  await fetch(`${ctx.controlUrl}/cape/malscore`, { method: 'PUT', body: JSON.stringify({ malscore }) });
}

const isVerdictFor =
  (sha256: string, detailType = 'Sample Verdict') =>
  (e: DeliveredEvent) =>
    e['detail-type'] === detailType && e.detail.sha256 === sha256;

describe.skipIf(!provided)('a deployed Sandtrap stack on MiniStack, driven through the CLI', () => {
  let clients: E2eClients;
  let inbox: EventInbox;
  const nonce = randomUUID();
  let benignFile: string;
  let maliciousFile: string;
  let benign: VerdictDocument;
  let malicious: VerdictDocument;

  beforeAll(() => {
    clients = createE2eClients(ctx.endpoint);
    inbox = new EventInbox(clients.sqs, ctx.queueUrl);
    // Fresh content per run: a verdict cached by an earlier run must not answer for this one.
    const dir = mkdtempSync(join(tmpdir(), 'sandtrap-e2e-'));
    benignFile = join(dir, `notes-${nonce.slice(0, 8)}.txt`);
    maliciousFile = join(dir, `dropper-${nonce.slice(0, 8)}.js`);
    writeFileSync(benignFile, `meeting notes, nothing to see ${nonce}\n`);
    writeFileSync(maliciousFile, `// SANDTRAP-TEST-MALICIOUS ${nonce}\nconsole.log('inert test marker');\n`);
  });

  afterAll(() => destroyE2eClients(clients));

  it('submit --wait --json uploads a benign and a malicious sample and prints both verdicts', async () => {
    const result = await sandtrap(['submit', benignFile, maliciousFile, '--wait', '--json', '--prefix', 'e2e/']);
    expect(result.stderr).toContain('uploaded');
    expect(result.code, result.stderr).toBe(0);
    const documents = jsonLines(result.stdout).map((line) => VerdictDocumentSchema.parse(line));
    expect(documents).toHaveLength(2);
    [benign, malicious] = documents as [VerdictDocument, VerdictDocument];
    expect(benign).toMatchObject({
      key: `e2e/${basename(benignFile)}`,
      bucket: ctx.stack.ingestBucket,
      verdict: 'benign',
      cached: false,
    });
    expect(malicious).toMatchObject({ key: `e2e/${basename(maliciousFile)}`, verdict: 'malicious', cached: false });
    for (const document of documents) {
      expect(document.versionId).toBeTruthy();
      expect(document.engines.map((e) => [e.engine, e.status]).sort()).toEqual([
        ['cape', 'completed'],
        ['static', 'completed'],
        ['vmray', 'completed'],
      ]);
    }
    expect(malicious.score).toBeGreaterThanOrEqual(70);
  });

  it('detonates a behaviour sample and a benign script in the (host-played) Fargate task beside the vendors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandtrap-e2e-detonation-'));
    // The samples as shipped, with a comment that makes their content (and sha256) new on every run.
    const copy = (sample: string, name: string) => {
      const file = join(dir, `${nonce.slice(0, 8)}-${name}`);
      writeFileSync(file, `${readFileSync(join(ROOT, 'samples', sample), 'utf8')}\n# run ${nonce}\n`);
      return file;
    };
    const behaviourFile = copy('behaviors/persistence.sh', 'persistence.sh');
    const scriptFile = copy('benign/cleanup.sh', 'cleanup.sh');
    const result = await sandtrap(
      ['submit', behaviourFile, scriptFile, '--wait', '--json', '--prefix', 'e2e/detonation/'],
      150_000,
    );
    expect(result.code, result.stderr).toBe(0);
    const [behaviour, script] = jsonLines(result.stdout).map((line) => VerdictDocumentSchema.parse(line)) as [
      VerdictDocument,
      VerdictDocument,
    ];
    for (const document of [behaviour, script]) {
      expect(document.engines.map((e) => [e.engine, e.status]).sort()).toEqual([
        ['cape', 'completed'],
        ['detonation', 'completed'],
        ['static', 'completed'],
        ['vmray', 'completed'],
      ]);
      // The agent's report went through the presigned PUT into the reports bucket.
      const detonation = document.engines.find((e) => e.engine === 'detonation');
      expect(detonation?.reportKey).toMatch(new RegExp(`^reports/${document.sha256}/`));
    }
    expect(behaviour.verdict).toBe('malicious');
    expect(behaviour.engines.find((e) => e.engine === 'detonation')?.verdict).not.toBe('benign');
    expect(behaviour.behavior?.persistence?.length).toBeGreaterThan(0);
    expect(script).toMatchObject({ verdict: 'benign' });
    expect(script.engines.find((e) => e.engine === 'detonation')).toMatchObject({ verdict: 'benign', score: 0 });
    const [event] = await inbox.waitFor(isVerdictFor(behaviour.sha256), {
      timeoutMs: 30_000,
      what: 'Sample Verdict for the behaviour sample',
    });
    expect(SampleVerdictDetailSchema.parse(event?.detail).engines.map((e) => e.engine)).toContain('detonation');
  }, 180_000);

  it('judges a macro document and a clean PDF with the static engine (Python on MiniStack): verdicts, threats, tags', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandtrap-e2e-static-'));
    const macroFile = join(dir, `${nonce.slice(0, 8)}-invoice.docm`);
    const pdfFile = join(dir, `${nonce.slice(0, 8)}-paper.pdf`);
    // The run's nonce in each document makes its content (and sha256) new on every run.
    writeFileSync(
      macroFile,
      makeDocx({ body: `<w:p><w:r><w:t>${nonce}</w:t></w:r></w:p>`, macro: { module: 'Module1', source: MACRO } }),
    );
    writeFileSync(pdfFile, Buffer.concat([cleanPdf(), Buffer.from(`% ${nonce}\n`)]));
    const result = await sandtrap(['submit', macroFile, pdfFile, '--wait', '--json', '--prefix', 'e2e/static/']);
    expect(result.code, result.stderr).toBe(0);
    const [macro, pdf] = jsonLines(result.stdout).map((line) => VerdictDocumentSchema.parse(line)) as [
      VerdictDocument,
      VerdictDocument,
    ];
    expect(macro.verdict).toBe('malicious');
    expect(macro.engines).toContainEqual(
      expect.objectContaining({ engine: 'static', status: 'completed', verdict: 'malicious' }),
    );
    expect(pdf).toMatchObject({ fileType: 'pdf', verdict: 'benign', threats: [] });
    expect(pdf.engines).toContainEqual(expect.objectContaining({ engine: 'static', status: 'completed', score: 0 }));
    const [event] = await inbox.waitFor(isVerdictFor(macro.sha256), {
      timeoutMs: 30_000,
      what: `Sample Verdict for ${macro.key}`,
    });
    const detail = SampleVerdictDetailSchema.parse(event?.detail);
    expect(detail.schemaVersion).toBe(2);
    expect(detail.threats).toContainEqual(
      expect.objectContaining({ name: 'Heuristic.Office.AutoExecMacro', engine: 'static' }),
    );
    for (const document of [macro, pdf]) {
      const { TagSet = [] } = await clients.s3.send(
        new GetObjectTaggingCommand({
          Bucket: document.bucket,
          Key: document.key,
          VersionId: document.versionId ?? undefined,
        }),
      );
      expect(Object.fromEntries(TagSet.map((t) => [t.Key, t.Value]))[TAG_VERDICT]).toBe(document.verdict);
    }
  }, 150_000);

  it('stores each verdict and engine result in DynamoDB and tags each uploaded object version', async () => {
    for (const document of [benign, malicious]) {
      const { Item } = await clients.ddb.send(
        new GetCommand({ TableName: ctx.stack.table, Key: { pk: `SAMPLE#${document.sha256}`, sk: 'VERDICT' } }),
      );
      expect(Item).toMatchObject({
        verdict: document.verdict,
        score: document.score,
        object: { bucket: document.bucket, key: document.key, versionId: document.versionId },
      });
      const { Items = [] } = await clients.ddb.send(
        new QueryCommand({
          TableName: ctx.stack.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :engine)',
          ExpressionAttributeValues: { ':pk': `SAMPLE#${document.sha256}`, ':engine': 'ENGINE#' },
        }),
      );
      expect(Items.map((i) => i.engine).sort()).toEqual(['cape', 'static', 'vmray']);
      const { TagSet = [] } = await clients.s3.send(
        new GetObjectTaggingCommand({
          Bucket: document.bucket,
          Key: document.key,
          VersionId: document.versionId ?? undefined,
        }),
      );
      expect(Object.fromEntries(TagSet.map((t) => [t.Key, t.Value]))).toEqual({
        [TAG_VERDICT]: document.verdict,
        [TAG_SCORE]: String(document.score),
      });
    }
  });

  it('delivers one Sample Verdict event per sample to a rule of another stack on the sandtrap bus', async () => {
    for (const document of [benign, malicious]) {
      const [event] = await inbox.waitFor(isVerdictFor(document.sha256), {
        timeoutMs: 30_000,
        what: `Sample Verdict for ${document.key}`,
      });
      expect(event?.source).toBe('sandtrap');
      const detail = SampleVerdictDetailSchema.parse(event?.detail);
      expect(detail).toMatchObject({
        key: document.key,
        versionId: document.versionId,
        verdict: document.verdict,
        score: document.score,
        cached: false,
      });
    }
  });

  it('status prints the stored verdict, as JSON and as a table', async () => {
    const json = await sandtrap(['status', malicious.sha256, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const document = VerdictDocumentSchema.parse(jsonLines(json.stdout)[0]);
    expect(document).toMatchObject({
      sha256: malicious.sha256,
      key: malicious.key,
      verdict: 'malicious',
      score: malicious.score,
      engineResults: malicious.engineResults,
    });
    const table = await sandtrap(['status', malicious.sha256.toUpperCase(), '--stack', ctx.stackName]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${malicious.key}\\s+malicious\\s+${malicious.score}`));
  });

  it('report prints the verdict document from the reports bucket', async () => {
    const json = await sandtrap(['report', benign.sha256, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(VerdictDocumentSchema.parse(jsonLines(json.stdout)[0])).toEqual(benign);
    const text = await sandtrap(['report', benign.sha256]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`sha256    ${benign.sha256}`);
    expect(text.stdout).toMatch(/verdict {3}benign \(score \d+\)/);
    // The HTML report Finalize stored beside verdict.json.
    const out = join(mkdtempSync(join(tmpdir(), 'sandtrap-e2e-report-')), 'report.html');
    const html = await sandtrap(['report', benign.sha256, '--html', out]);
    expect(html.code, html.stderr).toBe(0);
    const page = readFileSync(out, 'utf8');
    expect(page).toContain('Content-Security-Policy');
    expect(page).toContain(benign.sha256);
  });

  it('starts no second analysis when the upload event of a sample is delivered again', async () => {
    const before = await emulatorCounts();
    // The very event EventBridge delivered for the upload, as the sink's rule on the default bus copied it.
    const [delivered] = await inbox.waitFor(
      (e) => e.source === 'aws.s3' && (e.detail.object as { key?: string } | undefined)?.key === malicious.key,
      { timeoutMs: 20_000, what: `Object Created event of ${malicious.key}` },
    );
    const input = JSON.stringify(delivered);
    // EventBridge delivers at least once: a second execution with the very same event is what a
    // redelivery looks like. The Standard workflow takes it, as it takes the sweep's re-drives: the
    // Express front keeps no history to read the outcome from.
    const { executionArn } = await clients.sfn.send(
      new StartExecutionCommand({ stateMachineArn: ctx.stack.stateMachineArn, input }),
    );
    let execution = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    for (const deadline = Date.now() + 30_000; execution.status === 'RUNNING' && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      execution = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    }
    const { events = [] } = await clients.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    const states = events.flatMap((e) => (e.stateEnteredEventDetails?.name ? [e.stateEnteredEventDetails.name] : []));
    const failures = events.flatMap((e) => {
      const failed = e.lambdaFunctionFailedEventDetails ?? e.taskFailedEventDetails;
      return failed ? [`${failed.error}: ${failed.cause}`] : [];
    });
    const story = `${execution.status}: states ${states.join(' > ')}; failures ${failures.join(' | ')}`;
    expect(execution.status, story).not.toBe('RUNNING');
    if (execution.status === 'SUCCEEDED') expect(states, story).toContain(DUPLICATE_STATE);
    // MiniStack 1.5.33 reports every error of a Node function as `Runtime.HandlerError` (AWS reports the
    // error's name), so the Catch on `DuplicateEventError` cannot match there: the execution takes the
    // failure path instead of ending in DuplicateEventIgnored. What matters holds on both: triage
    // recognised the redelivery and no engine ran.
    else expect(failures.join(' | '), story).toContain('duplicate event ignored');
    expect(states, story).not.toContain('Engines');
    expect(states, story).not.toContain('Finalize');
    const { Item } = await clients.ddb.send(
      new GetCommand({ TableName: ctx.stack.table, Key: { pk: `SAMPLE#${malicious.sha256}`, sk: 'VERDICT' } }),
    );
    expect(new Date(Item?.analyzedAt as number).toISOString()).toBe(malicious.analyzedAt);
    expect(await emulatorCounts()).toMatchObject({
      cape: { submissions: before.cape.submissions },
      vmray: { submissions: before.vmray.submissions },
    });
    await inbox.drain(2_000);
    expect(inbox.all().filter(isVerdictFor(malicious.sha256))).toHaveLength(1);
  });

  it('serves a second upload of the same content from the cached verdict, without calling a vendor', async () => {
    const before = await emulatorCounts();
    const result = await sandtrap(['submit', maliciousFile, '--wait', '--json', '--prefix', 'e2e/again/']);
    expect(result.code, result.stderr).toBe(0);
    const document = VerdictDocumentSchema.parse(jsonLines(result.stdout)[0]);
    expect(document).toMatchObject({
      sha256: malicious.sha256,
      key: `e2e/again/${basename(maliciousFile)}`,
      verdict: 'malicious',
      cached: true,
    });
    expect(document.versionId).not.toBe(malicious.versionId);
    expect(await emulatorCounts()).toMatchObject({
      cape: { submissions: before.cape.submissions },
      vmray: { submissions: before.vmray.submissions },
    });
    await inbox.waitFor((e) => isVerdictFor(malicious.sha256)(e) && e.detail.cached === true, {
      timeoutMs: 30_000,
      what: 'a cached Sample Verdict',
    });
  });

  it('reanalyze --wait analyses again despite the cache and publishes Sample Verdict Changed when the verdict changes', async () => {
    const before = await emulatorCounts();
    // CAPE now finds the benign sample malicious, as a vendor does after a signature update.
    await setCapeMalscore(9.2);
    try {
      const result = await sandtrap(['reanalyze', benign.sha256, '--wait', '--json']);
      expect(result.code, result.stderr).toBe(0);
      const document = VerdictDocumentSchema.parse(jsonLines(result.stdout)[0]);
      expect(document).toMatchObject({ sha256: benign.sha256, key: benign.key, verdict: 'malicious', cached: false });
      expect(Date.parse(document.analyzedAt)).toBeGreaterThan(Date.parse(benign.analyzedAt));
    } finally {
      await setCapeMalscore(null);
    }
    const after = await emulatorCounts();
    expect(after.cape.submissions).toBe(before.cape.submissions + 1);
    expect(after.vmray.submissions).toBe(before.vmray.submissions + 1);
    const [changed] = await inbox.waitFor(isVerdictFor(benign.sha256, 'Sample Verdict Changed'), {
      timeoutMs: 30_000,
      what: 'Sample Verdict Changed',
    });
    expect(SampleVerdictChangedDetailSchema.parse(changed?.detail)).toMatchObject({
      previousVerdict: 'benign',
      verdict: 'malicious',
      key: benign.key,
    });
    const status = await sandtrap(['status', benign.sha256, '--json']);
    expect(VerdictDocumentSchema.parse(jsonLines(status.stdout)[0]).verdict).toBe('malicious');
  });

  it('reanalyze without --wait prints the execution it started', async () => {
    const result = await sandtrap(['reanalyze', malicious.sha256, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const started = jsonLines(result.stdout)[0] as { executionArn: string; key: string };
    expect(started.key).toBe(malicious.key);
    expect(started.executionArn).toMatch(/:execution:.*:reanalyze-/);
  });

  it('submit without --wait prints each object key and version', async () => {
    const result = await sandtrap(['submit', join(ROOT, 'README.md'), '--prefix', 'e2e/plain/']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^FILE\s+KEY\s+VERSION\s+SIZE\s+SHA256$/m);
    expect(result.stdout).toMatch(new RegExp(`s3://${ctx.stack.ingestBucket}/e2e/plain/README.md\\s+\\S{8,}`));
  });

  it('answers an unknown sha256 or stack in one line with exit code 1', async () => {
    const unknown = 'f'.repeat(64);
    for (const [args, message] of [
      [['status', unknown], `sandtrap: no verdict for ${unknown} in stack ${ctx.stackName} (table ${ctx.stack.table})`],
      [
        ['report', unknown],
        `sandtrap: no verdict for ${unknown} in s3://${ctx.stack.reportsBucket}/reports/${unknown}/verdict.json`,
      ],
      [
        ['reanalyze', unknown],
        `sandtrap: no verdict for ${unknown} in stack ${ctx.stackName} (table ${ctx.stack.table})`,
      ],
      [
        ['status', unknown, '--stack', 'NoSuchStack'],
        'sandtrap: stack NoSuchStack not found in us-east-1 (deploy it with `npx cdk deploy`, or name it with --stack or SANDTRAP_STACK)',
      ],
    ] as const) {
      const result = await sandtrap([...args]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr.trimEnd()).toBe(message);
    }
  });
});
