import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  isSourceCheckout,
  STATIC_VENV_HOW_TO,
  staticVenvDir,
  staticVenvHowTo,
  staticVenvOf,
} from '../../local/static-worker';

/**
 * Where the static engine's venv goes: `.venv-static` in a checkout (CI makes it there), Sandtrap's
 * cache directory for an installed package, whose own directory a global or read-only install
 * cannot write. Only the decision is tested; no venv is made.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** An installed package's layout: static/requirements.txt, and neither tsconfig.json nor .git. */
function installedPackage(requirements: string): string {
  const root = tempDir('sandtrap-installed-');
  mkdirSync(join(root, 'static'));
  writeFileSync(join(root, 'static', 'requirements.txt'), requirements);
  writeFileSync(join(root, 'package.json'), '{"name":"sandtrap"}\n');
  return root;
}

const envBefore = process.env.SANDTRAP_CACHE_DIR;
afterEach(() => {
  if (envBefore === undefined) delete process.env.SANDTRAP_CACHE_DIR;
  else process.env.SANDTRAP_CACHE_DIR = envBefore;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('staticVenvDir', () => {
  it('is .venv-static in a checkout, without asking for the cache directory', () => {
    const cacheDir = () => {
      throw new Error('a checkout must not need the cache directory');
    };
    expect(staticVenvDir({ root: '/src/sandtrap', checkout: true, requirementsHash: HASH_A, cacheDir })).toBe(
      '/src/sandtrap/.venv-static',
    );
  });

  it('is in the cache directory for an installed package, named by the requirements hash', () => {
    const place = {
      root: '/usr/lib/node_modules/sandtrap',
      checkout: false,
      cacheDir: () => '/home/u/.cache/sandtrap',
    };
    const a = staticVenvDir({ ...place, requirementsHash: HASH_A });
    const b = staticVenvDir({ ...place, requirementsHash: HASH_B });
    expect(a.startsWith('/home/u/.cache/sandtrap/')).toBe(true);
    expect(a).toContain(HASH_A.slice(0, 16));
    // A changed pin makes a new venv rather than reusing one installed from other requirements.
    expect(b).not.toBe(a);
    expect(staticVenvDir({ ...place, requirementsHash: HASH_A })).toBe(a);
  });
});

describe('isSourceCheckout', () => {
  it('tells a checkout by its tsconfig.json or .git (a worktree has a .git file), and a package by neither', () => {
    expect(isSourceCheckout(ROOT)).toBe(true);
    const withTsconfig = tempDir('sandtrap-checkout-');
    writeFileSync(join(withTsconfig, 'tsconfig.json'), '{}');
    expect(isSourceCheckout(withTsconfig)).toBe(true);
    const worktree = tempDir('sandtrap-worktree-');
    writeFileSync(join(worktree, '.git'), 'gitdir: /elsewhere\n');
    expect(isSourceCheckout(worktree)).toBe(true);
    expect(isSourceCheckout(installedPackage('pefile==2024.8.26\n'))).toBe(false);
  });
});

describe('staticVenvOf', () => {
  it('keeps the checkout at .venv-static', () => {
    expect(staticVenvOf(ROOT)).toBe(join(ROOT, '.venv-static'));
    expect(staticVenvHowTo(ROOT, staticVenvOf(ROOT))).toBe(STATIC_VENV_HOW_TO);
  });

  it("puts an installed package's venv under SANDTRAP_CACHE_DIR, by the hash of its static/requirements.txt", () => {
    const cache = tempDir('sandtrap-cache-');
    process.env.SANDTRAP_CACHE_DIR = cache;
    const requirements = 'pefile==2024.8.26\n';
    const root = installedPackage(requirements);
    const venv = staticVenvOf(root);
    const hash = createHash('sha256').update(requirements).digest('hex');
    expect(venv.startsWith(`${cache}/`)).toBe(true);
    expect(venv).toContain(hash.slice(0, 16));
    expect(venv.startsWith(root)).toBe(false);

    writeFileSync(join(root, 'static', 'requirements.txt'), 'pefile==2025.1.1\n');
    expect(staticVenvOf(root)).not.toBe(venv);

    // The hand-made fallback names that venv and the package's requirements, not a .venv-static.
    const howTo = staticVenvHowTo(root, venv);
    expect(howTo).toContain(`python3 -m venv ${venv}`);
    expect(howTo).toContain(join(root, 'static', 'requirements.txt'));
    expect(howTo).not.toContain('.venv-static');
  });
});
