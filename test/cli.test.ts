import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VerdictDocumentSchema } from '../lambdas/core/contracts/pipeline';

const run = promisify(execFile);
const bin = join(import.meta.dirname, '..', 'bin', 'sandtrap.mjs');

describe('sandtrap CLI', () => {
  it('prints a valid verdict document for README.md with --json, progress on stderr', async () => {
    const events = join(mkdtempSync(join(tmpdir(), 'sandtrap-cli-')), 'events.jsonl');
    const { stdout, stderr } = await run(
      process.execPath,
      [bin, 'analyze', 'README.md', '--json', '--events', events],
      {
        cwd: join(import.meta.dirname, '..'),
        env: { ...process.env, SANDTRAP_CAPE_URL: '' },
      },
    );
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const document = VerdictDocumentSchema.parse(JSON.parse(lines[0] ?? ''));
    expect(document).toMatchObject({
      key: 'local/README.md',
      fileType: 'text',
      verdict: 'unknown',
      score: null,
      cached: false,
      engines: [],
    });
    expect(document.size).toBe(readFileSync(join(import.meta.dirname, '..', 'README.md')).length);
    expect(stderr).toContain('README.md: unknown');
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

  it('rejects a missing file with one clear line and exit code 1', async () => {
    const failure = await run(process.execPath, [bin, 'analyze', 'no-such-file.bin'], {
      cwd: join(import.meta.dirname, '..'),
    }).catch((e) => e);
    expect(failure.code).toBe(1);
    expect(failure.stderr.trim()).toBe('sandtrap: no-such-file.bin: not a readable file');
  });

  it('rejects invalid vendor configuration before starting anything', async () => {
    const failure = await run(process.execPath, [bin, 'analyze', 'README.md'], {
      cwd: join(import.meta.dirname, '..'),
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
      { cwd: join(import.meta.dirname, '..') },
    );
    const document = VerdictDocumentSchema.parse(JSON.parse(stdout.trim()));
    expect(document.fileType).toBe('script-sh');
    expect(document.engines).toEqual([
      expect.objectContaining({ engine: 'detonation', status: 'completed', verdict: 'malicious' }),
    ]);
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
      { cwd: join(import.meta.dirname, '..') },
    );
    const document = VerdictDocumentSchema.parse(JSON.parse(stdout.trim()));
    expect(document.engineResults).toEqual([
      expect.objectContaining({
        engine: 'detonation',
        status: 'error',
        reason: expect.stringContaining('detonation is switched off'),
      }),
    ]);
    expect(document.verdict).toBe('unknown');
  }, 120_000);
});

describe('sandtrap report on a local file', () => {
  it('analyses the file here and writes its HTML and PDF reports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandtrap-report-'));
    const { stdout } = await run(
      process.execPath,
      [bin, 'report', 'samples/benign/words.pl', '--json', '--html', join(dir, 'r.html'), '--pdf', join(dir, 'r.pdf')],
      {
        cwd: join(import.meta.dirname, '..'),
      },
    );
    const document = VerdictDocumentSchema.parse(JSON.parse(stdout.trim()));
    expect(document.fileType).toBe('script-perl');
    const html = readFileSync(join(dir, 'r.html'), 'utf8');
    expect(html).toContain(document.sha256);
    expect(html).toContain('Content-Security-Policy');
    expect(readFileSync(join(dir, 'r.pdf')).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  }, 120_000);
});
