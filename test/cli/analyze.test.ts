import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { VerdictDocumentSchema } from '../../lambdas/core/contracts/pipeline';
import { analyze } from '../../cli/commands/analyze';
import { localReportsDir } from '../../cli/local-analysis';
import { LocalPipeline, type LocalPipelineOptions } from '../../local/runtime';
import { runCommand } from './fake-io';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'sandtrap.mjs');

describe('sandtrap CLI', () => {
  it('prints a valid verdict document for README.md with --json, progress on stderr', async () => {
    const events = join(mkdtempSync(join(tmpdir(), 'sandtrap-cli-')), 'events.jsonl');
    const { stdout, stderr } = await run(
      process.execPath,
      [bin, 'analyze', 'README.md', '--json', '--events', events],
      {
        cwd: root,
        env: { ...process.env, SANDTRAP_CAPE_URL: '' },
      },
    );
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const document = VerdictDocumentSchema.parse(JSON.parse(lines[0] ?? ''));
    // No vendor and no detonation for a text file: the static engine's verdict, which says so.
    expect(document).toMatchObject({
      key: 'local/README.md',
      fileType: 'text',
      reason: 'static-only',
      cached: false,
      engines: [expect.objectContaining({ engine: 'static', status: 'completed' })],
    });
    expect(document.score).not.toBeNull();
    expect(document.static?.fileType.type).toBe('text');
    expect(document.size).toBe(readFileSync(join(root, 'README.md')).length);
    expect(stderr).toContain(`README.md: ${document.verdict}`);
    // The report link outlives the run: a file written where the CLI keeps reports, not the local S3's URL.
    const kept = join(localReportsDir(), `${document.sha256}.html`);
    expect(document.reportUrl).toBe(pathToFileURL(kept).href);
    expect(readFileSync(kept, 'utf8')).toContain(document.sha256);
    const published = readFileSync(events, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      source: 'sandtrap',
      'detail-type': 'Sample Verdict',
      detail: { sha256: document.sha256 },
    });
  });

  it('rejects a usage error with one line naming the help, exit 1', async () => {
    const failure = await run(process.execPath, [bin, 'analyze', '--no-such-option', 'README.md'], {
      cwd: root,
    }).catch((e) => e);
    expect(failure.code).toBe(1);
    expect(failure.stderr).toBe("sandtrap: unknown option '--no-such-option' (see `sandtrap analyze --help`)\n");
  });

  it('rejects invalid vendor configuration before starting anything', async () => {
    const failure = await run(process.execPath, [bin, 'analyze', 'README.md'], {
      cwd: root,
      env: { ...process.env, SANDTRAP_CAPE_URL: 'not a url' },
    }).catch((e) => e);
    expect(failure.code).toBe(1);
    expect(failure.stderr).toMatch(/invalid Sandtrap configuration: .*Invalid URL[\s\S]*vendors\[0\]\.baseUrl/);
  });
});

describe('sandtrap analyze on a behaviour sample', () => {
  it('shows the detonation result and its behaviour indicators in the verdict document', async () => {
    const { stdout } = await run(
      process.execPath,
      [bin, 'analyze', 'samples/behaviors/persistence.sh', '--json', '-q'],
      { cwd: root },
    );
    const document = VerdictDocumentSchema.parse(JSON.parse(stdout.trim()));
    expect(document.fileType).toBe('script-sh');
    expect(document.engines).toEqual([
      expect.objectContaining({ engine: 'static', status: 'completed' }),
      expect.objectContaining({ engine: 'detonation', status: 'completed', verdict: 'malicious' }),
    ]);
    expect(document.reason).toBeUndefined();
    expect(document.verdict).toBe('malicious');
    const persistence = (document.behavior?.persistence ?? []) as {
      id: string;
      evidence: string[];
      attack: string[];
    }[];
    expect(persistence.length).toBeGreaterThan(0);
    expect(persistence[0]?.evidence.length).toBeGreaterThan(0);
    expect(persistence.flatMap((i) => i.attack).some((id) => id.startsWith('T1'))).toBe(true);
  }, 120_000);

  it('says clearly when detonation is switched off, and still gives a verdict', async () => {
    const { stdout } = await run(
      process.execPath,
      [bin, 'analyze', 'samples/behaviors/persistence.sh', '--json', '-q', '--detonator', 'none'],
      { cwd: root },
    );
    const document = VerdictDocumentSchema.parse(JSON.parse(stdout.trim()));
    expect(document.engineResults).toEqual([
      expect.objectContaining({ engine: 'static', status: 'completed' }),
      expect.objectContaining({
        engine: 'detonation',
        status: 'error',
        reason: expect.stringContaining('detonation is switched off'),
      }),
    ]);
    // The static engine still judged it, and the verdict says it rests on that alone.
    expect(document.reason).toBe('static-only');
    expect(document.verdict).not.toBe('unknown');
  }, 120_000);
});

describe('the analyze command with injected IO', () => {
  /** A pipeline whose every run fails, recording what the command asked of it. */
  function failingPipeline() {
    const seen = { uploads: [] as unknown[], stopped: 0, started: [] as LocalPipelineOptions[] };
    const pipeline = {
      upload: async (object: unknown) => {
        seen.uploads.push(object);
        return {};
      },
      run: async () => ({ status: 'FAILED', error: 'States.TaskFailed', cause: 'the vendor is down' }),
      events: () => [],
      stop: async () => {
        seen.stopped++;
      },
    } as unknown as LocalPipeline;
    const startPipeline = async (options: LocalPipelineOptions) => {
      seen.started.push(options);
      return pipeline;
    };
    return { seen, startPipeline };
  }

  it.each([
    ['no file at all', { files: [] }, {}, 'name at least one file (or - for stdin, or --script)'],
    ['a bad --fail-on', { files: ['README.md'], failOn: 'benign' }, {}, '--fail-on takes suspicious or malicious'],
    [
      'a --concurrency of 0',
      { files: ['README.md'], concurrency: 0 },
      {},
      '--concurrency takes a whole number from 1 to 32',
    ],
    [
      'a bad --detonator',
      { files: ['README.md'], detonator: 'vm' },
      {},
      '--detonator takes auto, host, docker or none',
    ],
    [
      'a bad vendor setting of the injected environment',
      { files: ['README.md'] },
      { SANDTRAP_CAPE_URL: 'http://127.0.0.1:9/', SANDTRAP_CAPE_OPTIONS: '[1]' },
      'SANDTRAP_CAPE_OPTIONS must be a JSON object of strings, numbers and booleans',
    ],
  ])('rejects %s with one line, exit 1, before starting the pipeline', async (_, options, env, message) => {
    const { seen, startPipeline } = failingPipeline();
    expect(await runCommand(analyze, options, { startPipeline, env })).toEqual({
      code: 1,
      stdout: '',
      stderr: `sandtrap: ${message}\n`,
    });
    expect(seen.started).toEqual([]);
  });

  it('prints a failed analysis as a failure document and exits 2, stopping the pipeline', async () => {
    const { seen, startPipeline } = failingPipeline();
    const result = await runCommand(
      analyze,
      { files: ['README.md'], json: true, detonator: 'none', state: '/tmp/state' },
      { startPipeline },
    );
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({
      file: 'README.md',
      failed: true,
      reason: 'States.TaskFailed',
      error: 'the vendor is down',
      bucket: null,
      key: 'local/README.md',
    });
    expect(result.stderr).toBe(
      [
        'starting the local pipeline',
        '[1/1] README.md: uploading',
        '[1/1] README.md: analysing',
        '[1/1] README.md: failed (States.TaskFailed)',
        '',
      ].join('\n'),
    );
    expect(seen.started).toEqual([expect.objectContaining({ detonator: 'none', stateDir: '/tmp/state', env: {} })]);
    expect(seen.uploads).toEqual([{ path: 'README.md', key: 'local/README.md' }]);
    expect(seen.stopped).toBe(1);
  });

  it('writes nothing on stderr with --quiet, and the table without --json', async () => {
    const { startPipeline } = failingPipeline();
    const result = await runCommand(analyze, { files: ['README.md'], quiet: true }, { startPipeline });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^FILE\s+VERDICT\s+SCORE.*\nREADME\.md\s+FAILED\s+-\s+-\s+-\s+States\.TaskFailed/);
  });

  it('prints the verdict of each file from the real local pipeline, exit 0', async () => {
    const result = await runCommand(
      analyze,
      // One at a time: the second is then a cached verdict rather than one that joined the first.
      { files: ['package.json', 'package.json'], json: true, detonator: 'none', concurrency: 1 },
      { startPipeline: (options) => LocalPipeline.start(options) },
    );
    expect(result.code).toBe(0);
    const documents = result.stdout
      .trim()
      .split('\n')
      .map((line) => VerdictDocumentSchema.parse(JSON.parse(line)));
    // The same file twice gets two keys; the second is a cached verdict of the same content.
    expect(documents.map((d) => [d.key, d.cached])).toEqual([
      ['local/package.json', false],
      ['local/2/package.json', true],
    ]);
    expect(documents[0]?.size).toBe(readFileSync(join(root, 'package.json')).length);
    expect(result.stderr).toContain(`[2/2] package.json: ${documents[0]?.verdict}\n`);
    expect(documents[0]?.reason).toBe('static-only');
  }, 120_000);
});
