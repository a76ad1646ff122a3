// Used by container/Dockerfile's build stage: the agent's bundle needs esbuild and the few packages it
// imports, not the whole project (aws-cdk-lib, the SDKs, Playwright), so this rewrites package.json
// and package-lock.json in the current directory to those packages and their locked dependencies.
// `npm ci` then installs exactly the locked versions, with their integrity hashes, and nothing else.
//
// Usage: node prune-lock.mjs <package>...
import { readFileSync, writeFileSync } from 'node:fs';

const roots = process.argv.slice(2);
if (roots.length === 0) throw new Error('usage: node prune-lock.mjs <package>...');
const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
if (lock.lockfileVersion !== 3) throw new Error(`unsupported lockfileVersion ${lock.lockfileVersion}`);

/** Where npm resolves `name` from the package at `from`: its own node_modules, then each ancestor's. */
function resolve(name, from) {
  let dir = from;
  for (;;) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!dir) return undefined;
    const parent = dir.lastIndexOf('/node_modules/');
    dir = parent < 0 ? '' : dir.slice(0, parent);
  }
}

const keep = new Map();
const pending = roots.map((name) => {
  const path = resolve(name, '');
  if (!path) throw new Error(`${name} is not in package-lock.json`);
  return path;
});
while (pending.length > 0) {
  const path = pending.pop();
  if (keep.has(path)) continue;
  const entry = lock.packages[path];
  keep.set(path, entry);
  for (const [name, optional] of [
    ...Object.keys(entry.dependencies ?? {}).map((n) => [n, false]),
    ...Object.keys(entry.optionalDependencies ?? {}).map((n) => [n, true]),
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
const pruned = { name: manifest.name, version: manifest.version, private: true, dependencies };
writeFileSync('package.json', `${JSON.stringify(pruned, null, 2)}\n`);
const packages = { '': { name: manifest.name, version: manifest.version, dependencies } };
for (const [path, entry] of [...keep].sort(([a], [b]) => a.localeCompare(b))) {
  // Packages only the dropped dependencies needed were dev-only or not; here every kept one is a dependency.
  const { dev: _dev, devOptional: _devOptional, peer: _peer, ...rest } = entry;
  packages[path] = rest;
}
writeFileSync(
  'package-lock.json',
  `${JSON.stringify({ name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages }, null, 2)}\n`,
);
