import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localConfigFromEnv } from '../../cli/config';
import { CONFIG_COMMENTS, configKeyPaths, VENDOR_COMMENTS, vendorKeyPaths } from '../../cli/config-template';
import { VENDOR_IDS } from '../../lambdas/core/contracts/pipeline';
import { parseSandtrapConfig } from '../../lib/config';
import { readConfigFile } from '../../lib/config-file';
import { runCli } from './fake-io';

const dir = mkdtempSync(join(tmpdir(), 'sandtrap-config-init-'));

describe('sandtrap config init', () => {
  it('explains every key of the configuration schema, and nothing that is not one', () => {
    const paths = configKeyPaths();
    expect(paths.length).toBeGreaterThan(50);
    expect(paths.filter((p) => !CONFIG_COMMENTS[p])).toEqual([]);
    expect(Object.keys(CONFIG_COMMENTS).filter((p) => !paths.includes(p))).toEqual([]);
    expect(vendorKeyPaths().filter((k) => !VENDOR_COMMENTS[k])).toEqual([]);
    expect(Object.keys(VENDOR_COMMENTS).filter((k) => !vendorKeyPaths().includes(k))).toEqual([]);
  });

  it('writes a file that the configuration schema reads back as the defaults, every key named in it', async () => {
    const file = join(dir, 'defaults.jsonc');
    const result = await runCli(['config', 'init', '--output', file]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const text = readFileSync(file, 'utf8');
    expect(parseSandtrapConfig(readConfigFile(file))).toEqual(parseSandtrapConfig({}));
    // Every key appears, set to its default or commented out with an example.
    for (const path of configKeyPaths()) expect(text, path).toContain(`"${path.split('.').at(-1)}"`);
    expect(text).toContain('// "ingestPrefix": "uploads/",');
  });

  it('adds an entry per vendor named, valid as written, credentials from the environment', async () => {
    const result = await runCli(['config', 'init', '--vendors', 'cape,joe', '--output', '-']);
    expect(result.code).toBe(0);
    const file = join(dir, 'vendors.jsonc');
    writeFileSync(file, result.stdout);
    const config = parseSandtrapConfig(readConfigFile(file));
    expect(config.settings.vendors.map((v) => [v.id, v.baseUrl, v.secret])).toEqual([
      ['cape', 'https://cape.example.org/apiv2/', { env: 'SANDTRAP_CAPE_API_KEY' }],
      ['joe', 'https://jbxcloud.joesecurity.org/api/', { env: 'SANDTRAP_JOE_API_KEY' }],
    ]);
    expect(config.settings.vendors[1]?.options).toEqual({ acceptTac: true });
    // The local CLI takes the commented file as it is.
    expect(localConfigFromEnv({ SANDTRAP_CONFIG_FILE: file }).settings?.vendors).toHaveLength(2);
    // Every vendor has an example that validates.
    const all = join(dir, 'all.jsonc');
    expect((await runCli(['config', 'init', '--vendors', VENDOR_IDS.join(','), '--output', all])).code).toBe(0);
    expect(parseSandtrapConfig(readConfigFile(all)).settings.vendors).toHaveLength(VENDOR_IDS.length);
  });

  it('keeps an existing file unless --force, and names an unknown vendor in one line', async () => {
    const file = join(dir, 'kept.jsonc');
    writeFileSync(file, '{ "engineConcurrency": 3 }');
    const kept = await runCli(['config', 'init', '--output', file]);
    expect(kept.code).toBe(1);
    expect(kept.stderr).toBe(`sandtrap: ${file} exists: pass --force to overwrite it\n`);
    expect(readFileSync(file, 'utf8')).toBe('{ "engineConcurrency": 3 }');
    expect((await runCli(['config', 'init', '--output', file, '--force'])).code).toBe(0);
    const unknown = await runCli(['config', 'init', '--vendors', 'cape,virustotal', '--output', '-']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain('unknown vendor "virustotal"');
  });

  it('reads comments and trailing commas, and names the line of a syntax error', () => {
    const ok = join(dir, 'commented.jsonc');
    writeFileSync(ok, '// a team file\n{\n  "engineConcurrency": 4, // fewer at once\n}\n');
    expect(readConfigFile(ok)).toEqual({ engineConcurrency: 4 });
    const bad = join(dir, 'broken.jsonc');
    writeFileSync(bad, '{\n  "engineConcurrency": 4\n  "reportRetentionDays": 30\n}\n');
    expect(() => readConfigFile(bad)).toThrow(`${bad}:3:3: CommaExpected`);
  });
});
