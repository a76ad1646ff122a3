import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { systemClock } from '../lambdas/core/contracts/clock';
import { VENDOR_IDS } from '../lambdas/core/contracts/pipeline';
import { CapeEmulator } from '../emulators/cape';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '..');
const sandtrap = (
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code?: number; stdout: string; stderr: string }> =>
  exec(process.execPath, [join(root, 'bin', 'sandtrap.mjs'), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
  }).catch((e) => e as { code: number; stdout: string; stderr: string });

describe('sandtrap vendors and score', () => {
  const cape = new CapeEmulator({ clock: systemClock, token: 'secret-token' });
  let env: Record<string, string>;
  beforeAll(async () => {
    env = { SANDTRAP_CAPE_URL: await cape.start(), SANDTRAP_CAPE_API_KEY: 'secret-token' };
  });
  afterAll(() => cape.stop());

  it('lists every vendor id with its connector and whether it is configured', async () => {
    const { stdout } = await sandtrap(['vendors', '--json'], env);
    const listing = JSON.parse(stdout) as {
      id: string;
      configured: boolean;
      available: boolean;
      capabilities: string[];
    }[];
    expect(listing.map((v) => v.id)).toEqual([...VENDOR_IDS]);
    expect(listing.find((v) => v.id === 'cape')).toMatchObject({ configured: true, available: true });
    expect(listing.filter((v) => v.configured).map((v) => v.id)).toEqual(['cape']);
  });

  it('checks a configured vendor for real, and reports a refused key without leaking it', async () => {
    const ok = await sandtrap(['vendors', 'check', 'cape', '--json'], env);
    expect(JSON.parse(ok.stdout)).toEqual([expect.objectContaining({ id: 'cape', ok: true })]);
    const refused = await sandtrap(['vendors', 'check', '--json'], { ...env, SANDTRAP_CAPE_API_KEY: 'wrong-key' });
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.stdout)).toEqual([
      expect.objectContaining({ id: 'cape', ok: false, detail: expect.stringContaining('AuthError') }),
    ]);
    expect(refused.stdout + refused.stderr).not.toContain('wrong-key');
  });

  it('re-scores a stored native report', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sandtrap-score-')), 'report.json');
    writeFileSync(file, JSON.stringify({ malscore: 4.2, malstatus: 'Suspicious', info: { id: 7 } }));
    const { stdout } = await sandtrap(['score', 'cape', file, '--json']);
    expect(JSON.parse(stdout)).toEqual({
      vendor: 'cape',
      score: 42,
      verdict: 'suspicious',
      native: { value: 4.2, scale: 'malscore 0-10' },
    });
    const unknownVendor = await sandtrap(['score', 'nosuch', file]);
    expect(unknownVendor.code).toBe(1);
    expect(unknownVendor.stderr).toMatch(/^sandtrap: Invalid option: expected one of/);
  });
});
