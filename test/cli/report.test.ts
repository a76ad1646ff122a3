import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { VerdictDocumentSchema } from '../../lambdas/core/contracts/pipeline';
import { isLocalFile, report } from '../../cli/commands/report';
import type { LocalPipeline } from '../../local/runtime';
import { type Call, connectWith, DOCUMENT, fakeClients, objectBody, sdkError, SHA } from '../deployed/fakes';
import { runCli, runCommand } from './fake-io';

describe('sandtrap report of a sha256, from the deployed stack', () => {
  it('prints verdict.json from the reports bucket, keeping fields it does not know', async () => {
    const stored = { ...DOCUMENT, reportUrl: 'https://example.org/report.html' };
    const calls: Call[] = [];
    const clients = fakeClients({ GetObjectCommand: () => objectBody(JSON.stringify(stored)) }, calls);
    const json = await runCli(['report', SHA, '--json'], { connect: connectWith(clients) });
    expect(JSON.parse(json.stdout)).toEqual(stored);
    expect(calls[0]?.input).toEqual({ Bucket: 'reports', Key: `reports/${SHA}/verdict.json` });
    const text = await runCli(['report', SHA], { connect: connectWith(clients) });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('verdict   malicious (score 92)');
  });

  it('says which object is missing or not a verdict document', async () => {
    const missing = fakeClients({
      GetObjectCommand: () => Promise.reject(sdkError('NoSuchKey', 'The specified key does not exist.', 404)),
    });
    expect(await runCli(['report', SHA], { connect: connectWith(missing) })).toEqual({
      code: 1,
      stdout: '',
      stderr: `sandtrap: no verdict for ${SHA} in s3://reports/reports/${SHA}/verdict.json\n`,
    });
    const broken = fakeClients({ GetObjectCommand: () => objectBody('{"sha256": 1}') });
    const { code, stderr } = await runCli(['report', SHA], { connect: connectWith(broken) });
    expect(code).toBe(1);
    expect(stderr).toMatch(
      new RegExp(`^sandtrap: s3://reports/reports/${SHA}/verdict\\.json is not a verdict document: `),
    );
    expect(stderr.trimEnd()).not.toContain('\n');
  });

  it('writes the stored HTML report with --html, and still prints the document', async () => {
    const html = '<!doctype html><title>report</title>';
    const calls: Call[] = [];
    const clients = fakeClients(
      {
        GetObjectCommand: (input) =>
          objectBody(String(input.Key).endsWith('verdict.json') ? JSON.stringify(DOCUMENT) : html),
      },
      calls,
    );
    const out = join(mkdtempSync(join(tmpdir(), 'sandtrap-report-')), 'r.html');
    const result = await runCommand(report, { target: SHA, html: out, json: true }, { connect: connectWith(clients) });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(DOCUMENT);
    expect(readFileSync(out, 'utf8')).toBe(html);
    expect(calls.map((c) => c.input.Key)).toEqual([`reports/${SHA}/verdict.json`, `reports/${SHA}/report.html`]);
  });

  it('rejects a target that is neither a sha256 nor a file, before connecting', async () => {
    const seen: { stack?: string }[] = [];
    const result = await runCommand(
      report,
      { target: 'no-such-file.bin' },
      { connect: connectWith(fakeClients({}), seen) },
    );
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'sandtrap: "no-such-file.bin" is not a sha256 (64 hex digits)\n',
    });
    expect(seen).toEqual([]);
  });
});

describe('sandtrap report of a local file', () => {
  it('tells a local file from a sha256: 64 hex digits are a sha256 even when a file has that name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandtrap-report-'));
    writeFileSync(join(dir, SHA), 'x');
    expect(isLocalFile('package.json')).toBe(true);
    expect(isLocalFile('no-such-file.bin')).toBe(false);
    expect(isLocalFile(join(dir, SHA))).toBe(true);
    expect(isLocalFile(SHA)).toBe(false);
  });

  it('analyses it on the local pipeline, not the stack, and says so when the analysis fails', async () => {
    let stopped = 0;
    const started: unknown[] = [];
    const pipeline = {
      upload: async () => ({}),
      run: async () => ({ status: 'FAILED', error: 'States.Timeout', cause: 'too slow' }),
      events: () => [],
      stop: async () => {
        stopped++;
      },
    } as unknown as LocalPipeline;
    const result = await runCommand(
      report,
      { target: 'package.json' },
      {
        env: { SANDTRAP_CAPE_URL: 'http://127.0.0.1:9/' },
        startPipeline: async (options) => {
          started.push(options);
          return pipeline;
        },
      },
    );
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'sandtrap: package.json: analysis failed: States.Timeout\n',
    });
    // The vendor configuration comes from the injected environment, not the process's.
    expect(started).toEqual([
      expect.objectContaining({
        config: expect.objectContaining({
          settings: expect.objectContaining({ vendors: [expect.objectContaining({ id: 'cape' })] }),
        }),
      }),
    ]);
    expect(stopped).toBe(1);
  });

  it('the binary analyses the file here and writes its HTML and PDF reports', async () => {
    const run = promisify(execFile);
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'sandtrap.mjs');
    const dir = mkdtempSync(join(tmpdir(), 'sandtrap-report-'));
    const { stdout } = await run(
      process.execPath,
      [bin, 'report', 'samples/benign/words.pl', '--json', '--html', join(dir, 'r.html'), '--pdf', join(dir, 'r.pdf')],
      {
        cwd: join(import.meta.dirname, '..', '..'),
      },
    );
    const document = VerdictDocumentSchema.parse(JSON.parse(stdout.trim()));
    expect(document.fileType).toBe('script-perl');
    const html = readFileSync(join(dir, 'r.html'), 'utf8');
    expect(html).toContain(document.sha256);
    expect(html).toContain('Content-Security-Policy');
    expect(readFileSync(join(dir, 'r.pdf')).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    // The indicator exports go beside the HTML report.
    expect(readFileSync(join(dir, 'r.iocs.csv'), 'utf8')).toContain(`sha256,${document.sha256},sample`);
    expect(JSON.parse(readFileSync(join(dir, 'r.iocs.stix.json'), 'utf8')).type).toBe('bundle');
  }, 120_000);
});
