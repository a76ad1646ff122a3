import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** One entry of a lock file's `packages`. */
interface LockEntry {
  version?: string;
  integrity?: string;
  resolved?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  bundleDependencies?: string[] | boolean;
  inBundle?: boolean;
  [key: string]: unknown;
}

interface Lock {
  packages: Record<string, LockEntry>;
}

/** Where Node finds `name` from the package at `from` (a lock path, '' for the root): its own node_modules, then its ancestors'. */
function resolveIn(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let dir = from; ; ) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
    const parent = dir.lastIndexOf('/node_modules/');
    dir = parent < 0 ? '' : dir.slice(0, parent);
  }
}

/**
 * The lock paths of `roots` and of everything they need (dependencies, optional ones when locked,
 * peers), resolved as Node resolves them over the repository's lock: the dependency tree the
 * repository installs and tests, which `npm ci` has put in npm's cache.
 */
function closure(packages: Record<string, LockEntry>, roots: string[]): Set<string> {
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    const entry = packages[path]!;
    const wanted = {
      ...entry.dependencies,
      ...entry.optionalDependencies,
      ...entry.peerDependencies,
    };
    for (const name of Object.keys(wanted)) {
      const found = resolveIn(packages, path, name);
      const optional = name in (entry.optionalDependencies ?? {}) || entry.peerDependenciesMeta?.[name]?.optional;
      if (found) visit(found);
      else if (!optional) throw new Error(`${path} needs ${name}, which the repository's lock does not hold`);
    }
    // A bundling package (aws-cdk-lib) carries its own tree; the lock lists it under it.
    for (const nested of Object.keys(packages)) {
      if (nested.startsWith(`${path}/node_modules/`) && packages[nested]!.inBundle) seen.add(nested);
    }
  };
  for (const root of roots) {
    const found = resolveIn(packages, '', root);
    if (!found) throw new Error(`${root} is not in the repository's lock`);
    visit(found);
  }
  return seen;
}

/** `sha512-…` of a file, as a lock file's `integrity`. */
export function integrityOf(file: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/** Options of {@link consumerLock}. */
export interface ConsumerLockOptions {
  /** The repository's package-lock.json. */
  repositoryLock: string;
  /** The repository's package.json (the packed package's manifest). */
  manifest: string;
  /** The tarball as the consumer's package.json names it (`file:…`), and its path. */
  tarball: { spec: string; path: string };
  /** The consumer's direct dependencies besides Sandtrap (the peers, cdk-nag), at the repository's locked versions. */
  alsoDirect: string[];
  /**
   * `hoisted`: every dependency at the top of the consumer's node_modules, beside Sandtrap, as an
   * app's install puts them. `nested`: under node_modules/sandtrap/node_modules, as a global
   * install (`npm install -g`) does.
   */
  layout: 'hoisted' | 'nested';
}

/**
 * A package-lock.json for a consumer of the packed tarball, so that `npm ci --offline` installs it
 * from npm's cache alone. An install by ranges (`npm install`) needs the registry's package
 * documents, which a cache filled by `npm ci` does not hold; a lock names exact versions and
 * integrities, which the cache serves. The versions are the repository's own, so the consumer runs
 * what the repository tests.
 */
export function consumerLock(options: ConsumerLockOptions): { lock: object; dependencies: Record<string, string> } {
  const repository = JSON.parse(readFileSync(options.repositoryLock, 'utf8')) as Lock;
  const manifest = JSON.parse(readFileSync(options.manifest, 'utf8')) as {
    name: string;
    version: string;
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
    bin: Record<string, string>;
    engines?: Record<string, string>;
    license?: string;
  };
  const packages = repository.packages;
  const needed = closure(packages, [
    ...Object.keys(manifest.dependencies),
    ...Object.keys(manifest.peerDependencies),
    ...options.alsoDirect,
  ]);
  const prefix = options.layout === 'hoisted' ? '' : `node_modules/${manifest.name}/`;
  const dependencies: Record<string, string> = { [manifest.name]: options.tarball.spec };
  for (const name of options.alsoDirect) dependencies[name] = packages[`node_modules/${name}`]!.version!;
  const lockPackages: Record<string, object> = {
    '': { name: 'sandtrap-consumer', dependencies },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: options.tarball.spec,
      integrity: integrityOf(options.tarball.path),
      license: manifest.license,
      dependencies: manifest.dependencies,
      peerDependencies: manifest.peerDependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const path of [...needed].sort()) {
    // Dev flags describe the repository's tree, not the consumer's.
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = packages[path]!;
    lockPackages[`${prefix}${path}`] = entry;
  }
  // In the nested layout the consumer's own direct dependencies stay at its top as well.
  if (options.layout === 'nested') {
    for (const name of options.alsoDirect) {
      const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = packages[`node_modules/${name}`]!;
      lockPackages[`node_modules/${name}`] = entry;
    }
  }
  return {
    lock: { name: 'sandtrap-consumer', lockfileVersion: 3, requires: true, packages: lockPackages },
    dependencies,
  };
}
