import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VerdictDocument } from '../../lambdas/core/contracts/pipeline';
import { formatOutcomes } from '../../cli/format';
import { analyzeFiles } from '../../cli/local-analysis';
import type { AnalysisOutcome } from '../../cli/outcome';
import { formatReportText } from '../../cli/report-format';
import { escapeTerminal, escapeTerminalLines, jsonForTerminal } from '../../cli/terminal-escape';
import { formatSubmissions, ProgressBar, progressLine } from '../../cli/upload-format';
import type { LocalPipeline } from '../../local/runtime';

/**
 * Nothing a file's author, a vendor or a sample controls reaches the terminal raw: file names with
 * ESC sequences, CR, BEL, C1 controls and bidi overrides are printed as visible escapes in progress
 * lines, tables, plain lines and error messages; JSON stays JSON with those characters as `\u` escapes.
 */

/** Characters a terminal acts on or that reorder text; only the line feeds the CLI writes itself may remain. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this pattern is for.
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/** Clears the screen, sets the window title, rings, returns to column 0, and flips the rest right-to-left. */
const HOSTILE = 'inv\u001b[2J\u001b]0;pwned\u0007oice\rclean.txt\u009b31m\u202Etxt.exe\u2066x\u200by';

describe('terminal escaping', () => {
  it('shows every control, bidi and invisible character as a visible escape', () => {
    expect(escapeTerminal(HOSTILE)).toBe(
      'inv\\x1b[2J\\x1b]0;pwned\\x07oice\\rclean.txt\\x9b31m\\u202etxt.exe\\u2066x\\u200by',
    );
    expect(escapeTerminal('tab\there\nline\u007f\ud800')).toBe('tab\\there\\nline\\x7f\\ud800');
    expect(escapeTerminal('résumé 文件 😀.pdf')).toBe('résumé 文件 😀.pdf');
    expect(escapeTerminalLines(`a\u001b\nb\r`)).toBe('a\\x1b\nb\\r');
  });

  it('leaves nothing raw, whatever the input, and escaping twice changes nothing', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
        const once = escapeTerminal(s);
        expect(RAW.test(once) || once.includes('\n')).toBe(false);
        expect(escapeTerminal(once)).toBe(once);
      }),
    );
  });

  it('keeps JSON parseable to the same value, with C1 and bidi characters escaped', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
        const json = jsonForTerminal({ file: s });
        expect(RAW.test(json)).toBe(false);
        expect(JSON.parse(json)).toEqual({ file: s });
      }),
    );
  });
});

const document = (overrides: Partial<VerdictDocument> = {}): VerdictDocument =>
  ({
    sha256: 'a'.repeat(64),
    sha1: 'b'.repeat(40),
    md5: 'c'.repeat(32),
    bucket: 'ingest',
    key: `local/${HOSTILE}`,
    versionId: null,
    size: 10,
    fileType: 'text',
    mimeType: 'text/plain',
    verdict: 'malicious',
    score: 90,
    cached: false,
    analyzedAt: '2026-12-03T20:00:00.000Z',
    durationMs: 1000,
    engines: ['sandtrap'],
    engineResults: [
      { engine: 'sandtrap', status: 'completed', verdict: 'malicious', score: 90, reason: `says ${HOSTILE}` },
    ],
    behavior: { persistence: [{ id: 'x', title: `title ${HOSTILE}`, severity: 'high', attack: ['T1'] }] },
    threats: [{ name: `threat ${HOSTILE}`, engine: 'static', family: `family ${HOSTILE}` }],
    static: {
      fileType: { type: 'zip', mime: 'application/zip' },
      findings: [
        {
          id: 'yara.user',
          category: 'execution',
          severity: 'high',
          title: `finding ${HOSTILE}`,
          evidence: [`evidence ${HOSTILE}`],
          attack: ['T1059'],
          path: `member ${HOSTILE}`,
        },
      ],
      yara: [],
      members: [],
      encrypted: false,
      errors: [],
    },
    ...overrides,
  }) as unknown as VerdictDocument;

/** The lines of a printed block, each checked for raw characters. */
function expectSafe(text: string): void {
  for (const line of text.split('\n')) expect(line).not.toMatch(RAW);
}

describe('CLI formatting with a hostile file name', () => {
  it('the analyze table and details print the name escaped, one row per file', () => {
    const outcomes: AnalysisOutcome[] = [
      { file: HOSTILE, ok: true, document: document() },
      {
        file: `${HOSTILE}\nFAKE-ROW`,
        ok: false,
        failure: { reason: `R${HOSTILE}`, error: `E${HOSTILE}`, bucket: null, key: 'k' },
      },
    ];
    const text = formatOutcomes(outcomes);
    expectSafe(text);
    expect(text).toContain(escapeTerminal(HOSTILE));
    // Threat names and static findings come from the file (and a user's rules): escaped too.
    expect(text).toContain(escapeTerminal(`threat ${HOSTILE}`));
    expect(text).toContain(escapeTerminal(`finding ${HOSTILE}`));
    expect(text).toContain(`in ${escapeTerminal(`member ${HOSTILE}`)}`);
    // The header and two rows: a line feed in a name cannot make a row of its own.
    expect(text.split('\n\n')[0]?.split('\n')).toHaveLength(3);
    expect(text).toContain('\\nFAKE-ROW');
  });

  it('the submit table, the text report and the upload progress bar print it escaped', () => {
    const table = formatSubmissions([
      { file: HOSTILE, bucket: 'b', key: `k${HOSTILE}`, versionId: null, size: 3, sha256: 'a'.repeat(64) } as never,
    ]);
    expectSafe(table);
    expectSafe(formatReportText(document()));
    expect(formatReportText(document())).toContain(escapeTerminal(`says ${HOSTILE}`));
    expect(progressLine(HOSTILE, 1, 2)).not.toMatch(RAW);
    const written: string[] = [];
    const bar = new ProgressBar({ write: (t) => written.push(String(t)), isTTY: true }, HOSTILE, () => 0);
    bar.update(1, 1);
    // The bar's own carriage return comes first; the label after it has none.
    expect(written[0]?.startsWith('\r')).toBe(true);
    expect(written.map((w) => w.replace(/^\r/, '')).join('')).not.toMatch(RAW);
  });

  it('analyze progress lines print the name escaped', async () => {
    const messages: string[] = [];
    const pipeline = {
      upload: async () => ({}),
      run: async () => ({ status: 'FAILED', error: `Err${HOSTILE}`, cause: 'cause' }),
      events: () => [],
    } as unknown as LocalPipeline;
    await analyzeFiles(pipeline, { files: [HOSTILE], detonator: 'none' }, (m) => messages.push(m));
    expect(messages).toHaveLength(3);
    for (const m of messages) expect(m).not.toMatch(RAW);
    expect(messages[2]).toBe(`[1/1] ${escapeTerminal(HOSTILE)}: failed (${escapeTerminal(`Err${HOSTILE}`)})`);
  });
});

describe('the sandtrap binary with a hostile file name', () => {
  const run = promisify(execFile);
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'sandtrap.mjs');

  it('writes no raw control character to stdout or stderr, in the table, the progress and the error line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandtrap-tty-'));
    // A file name cannot hold `/` or NUL; everything else of the hostile name is allowed.
    const file = join(dir, HOSTILE);
    writeFileSync(file, 'plain text\n');
    const env = { ...process.env, SANDTRAP_CAPE_URL: '' };
    // Both runs at once: the analysis starts the whole local pipeline, the error needs none of it.
    const [{ stdout, stderr }, missing] = await Promise.all([
      run(process.execPath, [bin, 'analyze', file, '--detonator', 'none'], { env }),
      run(process.execPath, [bin, 'analyze', join(dir, `gone${HOSTILE}`)], { env }).catch(
        (e: { stdout: string; stderr: string; code: number }) => e,
      ),
    ]);
    expectSafe(stdout);
    expectSafe(stderr);
    expect(stdout).toContain(escapeTerminal(HOSTILE));
    expect(stderr).toContain(`${escapeTerminal(HOSTILE)}: benign`);
    // A missing file is a failed line of the batch (exit 2), its reason printed with its name.
    expect('code' in missing ? missing.code : 0).toBe(2);
    expectSafe(missing.stdout);
    expectSafe(missing.stderr);
    expect(missing.stdout).toContain(`gone${escapeTerminal(HOSTILE)}: not a readable file`);
    expect(missing.stderr).toContain(`gone${escapeTerminal(HOSTILE)}: failed (Unreadable)`);
  }, 60_000);
});
