import { lstat, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { furnishHome } from '../../container/agent/victim-home';

/** The lived-in home on its own: what it writes, that its decoys are new each run, that it follows no link. */

const owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const made: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sandtrap-victim-home-'));
  made.push(dir);
  return dir;
}
afterEach(async () => {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('the victim home', () => {
  it('holds decoy credentials in their real formats, private where the real ones are', async () => {
    const home = await freshDir();
    await furnishHome(home, owner);
    const credentials = await readFile(join(home, '.aws/credentials'), 'utf8');
    expect(credentials).toMatch(
      /^\[default\]\naws_access_key_id = AKIA[A-Z2-7]{16}\naws_secret_access_key = [A-Za-z0-9/+]{40}\n/,
    );
    expect(await readFile(join(home, '.ssh/id_rsa'), 'utf8')).toMatch(
      /^-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUA[\s\S]*\n-----END OPENSSH PRIVATE KEY-----\n$/,
    );
    expect(((await lstat(join(home, '.ssh'))).mode & 0o777).toString(8)).toBe('700');
    expect(((await lstat(join(home, '.ssh/id_rsa'))).mode & 0o777).toString(8)).toBe('600');
    expect(((await lstat(join(home, '.aws/credentials'))).mode & 0o777).toString(8)).toBe('600');
    expect(JSON.parse(await readFile(join(home, '.docker/config.json'), 'utf8')).auths).toHaveProperty([
      'registry.example.test',
      'auth',
    ]);
    expect((await readdir(join(home, 'Documents'))).length).toBeGreaterThanOrEqual(12);
    // Dated in the past, as a home in use for weeks is.
    expect((await lstat(join(home, '.bash_history'))).mtimeMs).toBeLessThan(Date.now() - 1000);
  });

  it('makes new decoys for every run', async () => {
    const [a, b] = [await freshDir(), await freshDir()];
    await furnishHome(a, owner);
    await furnishHome(b, owner);
    for (const file of ['.aws/credentials', '.ssh/id_rsa', '.kube/config', '.git-credentials'])
      expect(await readFile(join(a, file), 'utf8')).not.toBe(await readFile(join(b, file), 'utf8'));
  });

  it('stays small', async () => {
    const home = await freshDir();
    await furnishHome(home, owner);
    let bytes = 0;
    for (const entry of await readdir(home, { recursive: true, withFileTypes: true }))
      if (entry.isFile()) bytes += (await lstat(join(entry.parentPath, entry.name))).size;
    expect(bytes).toBeLessThan(16 * 1024);
  });

  it('writes through no link planted in the home: it fails instead', async () => {
    const home = await freshDir();
    const elsewhere = await freshDir();
    await symlink(elsewhere, join(home, '.ssh'));
    await expect(furnishHome(home, owner)).rejects.toThrow();
    expect(await readdir(elsewhere)).toEqual([]);
    const file = await freshDir();
    await symlink(join(elsewhere, 'profile'), join(file, '.profile'));
    await expect(furnishHome(file, owner)).rejects.toThrow();
    expect(await readdir(elsewhere)).toEqual([]);
  });
});
