import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { systemClock } from '../../lambdas/core/contracts/clock';
import { VENDOR_IDS } from '../../lambdas/core/contracts/pipeline';
import { vendors, vendorsCheck } from '../../cli/commands/vendors';
import { CapeEmulator } from '../../emulators/cape';
import { runCommand } from './fake-io';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const sandtrap = (
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code?: number; stdout: string; stderr: string }> =>
  exec(process.execPath, [join(root, 'bin', 'sandtrap.mjs'), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
  }).catch((e) => e as { code: number; stdout: string; stderr: string });

// One CAPE emulator, configured by `env`, for the command line and the injected-IO tests alike.
const cape = new CapeEmulator({ clock: systemClock, token: 'secret-token' });
let env: Record<string, string>;
beforeAll(async () => {
  env = { SANDTRAP_CAPE_URL: await cape.start(), SANDTRAP_CAPE_API_KEY: 'secret-token' };
});
afterAll(() => cape.stop());

describe('sandtrap vendors', () => {
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
});

describe('the vendors commands with injected IO', () => {
  it('lists every vendor as a table, configured by the injected environment only', async () => {
    const none = await runCommand(vendors, {}, {});
    expect(none.code).toBe(0);
    const lines = none.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+NAME\s+CAPABILITIES$/);
    expect(lines.slice(1).map((line) => line.split(' ')[0])).toEqual([...VENDOR_IDS]);
    expect(none.stdout).not.toContain('configured');
    const withCape = await runCommand(vendors, {}, { env });
    expect(withCape.stdout.split('\n').find((line) => line.startsWith('cape '))).toMatch(/^cape\s+configured\s+/);
  });

  it('refuses a vendor setting it cannot read, with one line and exit 1', async () => {
    const result = await runCommand(vendors, { json: true }, { env: { SANDTRAP_CAPE_URL: 'not a url' } });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^sandtrap: invalid Sandtrap configuration: .*Invalid URL/);
    expect(result.stderr.trimEnd()).not.toContain('\n');
  });

  it('checks the configured vendor: ok with exit 0, a refused key FAIL with exit 2', async () => {
    const ok = await runCommand(vendorsCheck, {}, { env });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^cape\s+ok\s+available \(\d+ ms\)\n$/);
    const refused = await runCommand(vendorsCheck, { id: 'cape' }, { env: { ...env, SANDTRAP_CAPE_API_KEY: 'nope' } });
    expect(refused.code).toBe(2);
    expect(refused.stdout).toMatch(/^cape\s+FAIL AuthError: .* \(\d+ ms\)\n$/);
    expect(refused.stdout + refused.stderr).not.toContain('nope');
  });

  it('says when there is nothing to check, exit 1', async () => {
    expect(await runCommand(vendorsCheck, {}, {})).toEqual({
      code: 1,
      stdout: '',
      stderr: 'sandtrap: no vendor is configured (set SANDTRAP_<VENDOR>_URL)\n',
    });
    expect(await runCommand(vendorsCheck, { id: 'vmray' }, { env })).toEqual({
      code: 1,
      stdout: '',
      stderr: "sandtrap: vendor 'vmray' is not configured (set SANDTRAP_VMRAY_URL)\n",
    });
  });
});
