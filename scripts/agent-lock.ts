/**
 * Writes container/agent-deps/package.json and package-lock.json: the repository's manifest and lock
 * cut down to esbuild and the packages the detonation agent imports, with everything they depend on
 * at its locked version and integrity hash. container/Dockerfile's build stage runs `npm ci` on
 * them, so the image installs exactly what the repository locked and nothing else (no CDK, SDKs or
 * browsers). They are committed, not made during the build, because an installed package has no
 * package-lock.json (npm never packs it) and the CDK construct builds the image from the package.
 *
 *   npm run agent-lock       # after changing package-lock.json; test/detonation/agent-deps.test.ts checks it was run
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bundler and what container/agent imports: the roots of the pruned tree. */
export const AGENT_PACKAGES = ['esbuild', 'zod', 'yauzl', 'file-type'] as const;

/** Where the pruned manifest and lock are committed, relative to the repository root. */
export const AGENT_DEPS_DIR = 'container/agent-deps';

/** The command that rewrites them, for messages that find them stale. */
export const AGENT_LOCK_COMMAND = 'npm run agent-lock';

interface LockEntry {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

interface Lock {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/**
 * The pruned `package.json` and `package-lock.json`, as the text written to disk. The name is the
 * project's with `-agent-deps`, and no version: a release bumps the project's version, which must
 * not change what the image is built from (its tag is a digest of these files).
 */
export function agentLock(
  manifestText: string,
  lockText: string,
  roots: readonly string[] = AGENT_PACKAGES,
): { manifest: string; lock: string } {
  const manifest = JSON.parse(manifestText) as Manifest;
  const lock = JSON.parse(lockText) as Lock;
  if (lock.lockfileVersion !== 3) throw new Error(`unsupported lockfileVersion ${lock.lockfileVersion}`);

  /** Where npm resolves `name` from the package at `from`: its own node_modules, then each ancestor's. */
  const resolve = (name: string, from: string): string | undefined => {
    let dir = from;
    for (;;) {
      const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (!dir) return undefined;
      const parent = dir.lastIndexOf('/node_modules/');
      dir = parent < 0 ? '' : dir.slice(0, parent);
    }
  };

  const keep = new Map<string, LockEntry>();
  const pending = roots.map((name) => {
    const path = resolve(name, '');
    if (!path) throw new Error(`${name} is not in package-lock.json`);
    return path;
  });
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (keep.has(path)) continue;
    const entry = lock.packages[path]!;
    keep.set(path, entry);
    for (const [name, optional] of [
      ...Object.keys(entry.dependencies ?? {}).map((n) => [n, false] as const),
      ...Object.keys(entry.optionalDependencies ?? {}).map((n) => [n, true] as const),
    ]) {
      const found = resolve(name, path);
      // Optional dependencies for other platforms may be absent from the lock; required ones may not.
      if (found) pending.push(found);
      else if (!optional) throw new Error(`${path} needs ${name}, which package-lock.json lacks`);
    }
  }

  const dependencies = Object.fromEntries(
    roots.map((name) => {
      const version = manifest.dependencies?.[name] ?? manifest.devDependencies?.[name];
      if (!version) throw new Error(`${name} is not a dependency in package.json`);
      return [name, version];
    }),
  );
  const name = `${manifest.name}-agent-deps`;
  const packages: Record<string, LockEntry> = { '': { name, dependencies } };
  for (const [path, entry] of [...keep].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    // In the pruned tree every kept package is a dependency of the root: the dev and peer marks of
    // the full tree no longer apply.
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...rest } = entry;
    packages[path] = rest;
  }
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return {
    manifest: json({ name, private: true, dependencies }),
    lock: json({ name, lockfileVersion: 3, requires: true, packages }),
  };
}

/** What {@link agentLock} makes from the repository at `root`. */
export function agentLockOf(root: string): { manifest: string; lock: string } {
  return agentLock(
    readFileSync(join(root, 'package.json'), 'utf8'),
    readFileSync(join(root, 'package-lock.json'), 'utf8'),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const { manifest, lock } = agentLockOf(root);
  const dir = join(root, AGENT_DEPS_DIR);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), manifest);
  writeFileSync(join(dir, 'package-lock.json'), lock);
  process.stdout.write(`wrote ${AGENT_DEPS_DIR}/package.json and package-lock.json\n`);
}
