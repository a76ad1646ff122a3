import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { VENDOR_IDS } from '../../lambdas/core/contracts/pipeline';
import { score } from '../../cli/commands/score';
import { runCommand } from './fake-io';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const sandtrap = (args: string[]): Promise<{ code?: number; stdout: string; stderr: string }> =>
  exec(process.execPath, [join(root, 'bin', 'sandtrap.mjs'), ...args], { cwd: root }).catch(
    (e) => e as { code: number; stdout: string; stderr: string },
  );

/** A file holding `text`, in a fresh directory. */
function reportFile(text: string, name = 'report.json'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sandtrap-score-')), name);
  writeFileSync(file, text);
  return file;
}

const CAPE_REPORT = JSON.stringify({ malscore: 4.2, malstatus: 'Suspicious', info: { id: 7 } });

describe('sandtrap score', () => {
  it('prints what the vendor concluded under the score: family, signatures, ATT&CK ids, hosts', async () => {
    const report = JSON.stringify({
      malscore: 10,
      malstatus: 'Malicious',
      detections: [{ family: 'AgentTesla\u001b[2J' }],
      signatures: [{ name: 'infostealer_browser', description: 'Steals browser credentials', severity: 3 }],
      ttps: [{ signature: 'infostealer_browser', ttps: ['T1555.003', 'bogus'] }],
      network: { domains: [{ domain: 'smtp.evil.example' }] },
    });
    expect(await runCommand(score, { vendor: 'cape', file: reportFile(report) })).toEqual({
      code: 0,
      stdout: [
        'cape: malicious 100 (native 10 on malscore 0-10)',
        '  families: AgentTesla [2J',
        '  signature [high] infostealer_browser (Steals browser credentials)',
        '  att&ck: T1555.003',
        '  hosts: smtp.evil.example',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it('re-scores a stored native report', async () => {
    const file = reportFile(CAPE_REPORT);
    const { stdout } = await sandtrap(['score', 'cape', file, '--json']);
    expect(JSON.parse(stdout)).toEqual({
      vendor: 'cape',
      score: 42,
      verdict: 'suspicious',
      native: { value: 4.2, scale: 'malscore 0-10' },
      findings: { families: [], signatures: [], attack: [], hosts: [] },
    });
    const unknownVendor = await sandtrap(['score', 'nosuch', file]);
    expect(unknownVendor.code).toBe(1);
    expect(unknownVendor.stderr).toMatch(/^sandtrap: Invalid option: expected one of/);
  });

  it('prints verdict, score and the native value on one line, exit 0', async () => {
    expect(await runCommand(score, { vendor: 'cape', file: reportFile(CAPE_REPORT) })).toEqual({
      code: 0,
      stdout: 'cape: suspicious 42 (native 4.2 on malscore 0-10)\n',
      stderr: '',
    });
  });

  it('names the file that is missing or not JSON, exit 1', async () => {
    const missing = join(tmpdir(), 'sandtrap-score-no-such-report.json');
    expect(await runCommand(score, { vendor: 'cape', file: missing })).toEqual({
      code: 1,
      stdout: '',
      stderr: `sandtrap: ENOENT: no such file or directory, open '${missing}'\n`,
    });
    const broken = reportFile('{"malscore": ');
    const result = await runCommand(score, { vendor: 'cape', file: broken });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^sandtrap: ${broken.replace(/[.]/g, '\\.')}: not valid JSON \\(`));
  });

  it('rejects an unknown vendor before reading the report', async () => {
    const result = await runCommand(score, { vendor: 'nosuch', file: join(tmpdir(), 'never-read.json') });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `sandtrap: Invalid option: expected one of ${VENDOR_IDS.map((id) => JSON.stringify(id)).join('|')}\n`,
    });
  });
});
