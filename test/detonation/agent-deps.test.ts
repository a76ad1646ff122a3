import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DetonationCluster } from '../../lib/detonation';
import { imageInputFiles } from '../../local/detonation/image';
import { AGENT_DEPS_DIR, AGENT_LOCK_COMMAND, AGENT_PACKAGES, agentLock, agentLockOf } from '../../scripts/agent-lock';

/**
 * The detonation image installs its build dependencies from container/agent-deps/, the project's
 * lock cut down to what the agent needs, committed because an installed package has no
 * package-lock.json. These tests keep it equal to the lock, and the image's build context (the
 * Dockerfile's COPY lines, `.dockerignore`, the CDK asset, the local image tag) in step with it.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('container/agent-deps', () => {
  it('is what `npm run agent-lock` makes from the current package.json and package-lock.json', () => {
    const wanted = agentLockOf(ROOT);
    const stale = `${AGENT_DEPS_DIR} is stale: run \`${AGENT_LOCK_COMMAND}\` and commit the result`;
    expect(read(`${AGENT_DEPS_DIR}/package.json`), stale).toBe(wanted.manifest);
    expect(read(`${AGENT_DEPS_DIR}/package-lock.json`), stale).toBe(wanted.lock);
  });

  it('pins the agent packages to the versions the project depends on', () => {
    const project = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const agent = JSON.parse(read(`${AGENT_DEPS_DIR}/package.json`)) as { dependencies: Record<string, string> };
    expect(Object.keys(agent.dependencies)).toEqual([...AGENT_PACKAGES]);
    for (const name of AGENT_PACKAGES) expect(agent.dependencies[name], name).toBe(project.dependencies[name]);
    const lock = JSON.parse(read(`${AGENT_DEPS_DIR}/package-lock.json`)) as {
      packages: Record<string, { integrity?: string }>;
    };
    // No CDK, SDK or browser: only the roots and what they need.
    expect(Object.keys(lock.packages).filter((p) => /aws-cdk-lib|@aws-sdk|playwright/.test(p))).toEqual([]);
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path) expect(entry.integrity, path).toMatch(/^sha512-/);
    }
  });
});

describe('agentLock', () => {
  const manifest = JSON.stringify({
    name: 'proj',
    version: '9.9.9',
    dependencies: { a: '1.0.0', big: '5.0.0' },
    devDependencies: { d: '2.0.0' },
  });
  const entry = (version: string, more: Record<string, unknown> = {}) => ({
    version,
    integrity: `sha512-${version}`,
    ...more,
  });
  const lock = (packages: Record<string, unknown>) =>
    JSON.stringify({ name: 'proj', version: '9.9.9', lockfileVersion: 3, requires: true, packages });
  const full = {
    '': { name: 'proj', version: '9.9.9' },
    'node_modules/a': entry('1.0.0', { dependencies: { b: '^1' }, optionalDependencies: { 'a-linux': '1.0.0' } }),
    'node_modules/a-linux': entry('1.0.0', { optional: true, os: ['linux'] }),
    // a's b is its own nested copy; the hoisted one is another package's.
    'node_modules/a/node_modules/b': entry('1.2.0', { dependencies: { c: '^3' } }),
    'node_modules/b': entry('2.0.0'),
    'node_modules/c': entry('3.0.0', { dev: true, peer: true }),
    'node_modules/d': entry('2.0.0', { dev: true, dependencies: { c: '^3' } }),
    'node_modules/big': entry('5.0.0'),
  };

  it('keeps the roots and what they resolve to, as npm resolves it, and nothing else', () => {
    const made = agentLock(manifest, lock(full), ['a', 'd']);
    expect(JSON.parse(made.manifest)).toEqual({
      name: 'proj-agent-deps',
      private: true,
      dependencies: { a: '1.0.0', d: '2.0.0' },
    });
    const packages = JSON.parse(made.lock).packages as Record<string, Record<string, unknown>>;
    expect(Object.keys(packages)).toEqual([
      '',
      'node_modules/a',
      'node_modules/a-linux',
      'node_modules/a/node_modules/b',
      'node_modules/c',
      'node_modules/d',
    ]);
    expect(packages['']).toEqual({ name: 'proj-agent-deps', dependencies: { a: '1.0.0', d: '2.0.0' } });
    // Every kept package is a dependency of the pruned root: no dev or peer marks left for npm ci to omit.
    expect(packages['node_modules/c']).toEqual({ version: '3.0.0', integrity: 'sha512-3.0.0' });
    expect(packages['node_modules/a-linux']).toEqual(full['node_modules/a-linux']);
  });

  it('does not change with the project version, so a release leaves the image tag alone', () => {
    const bumped = manifest.replace('9.9.9', '10.0.0');
    expect(agentLock(bumped, lock(full), ['a'])).toEqual(agentLock(manifest, lock(full), ['a']));
  });

  it('allows an optional dependency for another platform to be absent, and refuses a missing required one', () => {
    const { 'node_modules/a-linux': _absent, ...withoutOptional } = full;
    expect(() => agentLock(manifest, lock(withoutOptional), ['a'])).not.toThrow();
    const { 'node_modules/c': _c, ...withoutRequired } = full;
    expect(() => agentLock(manifest, lock(withoutRequired), ['a'])).toThrow(/needs c/);
    expect(() => agentLock(manifest, lock(full), ['zzz'])).toThrow(/zzz is not in package-lock.json/);
    expect(() => agentLock(manifest, JSON.stringify({ lockfileVersion: 2, packages: {} }), ['a'])).toThrow(
      /lockfileVersion 2/,
    );
  });
});

describe("the detonation image's build context", () => {
  /** The sources of the Dockerfile's COPY lines that read the build context (not `--from` a stage). */
  const copySources = () =>
    read('container/Dockerfile')
      .split('\n')
      .filter((line) => /^COPY\s/.test(line) && !/--from=/.test(line))
      .flatMap((line) => line.trim().split(/\s+/).slice(1, -1));

  it('copies the agent dependencies from container/agent-deps/, not the project manifest and lock', () => {
    const sources = copySources();
    expect(sources).toEqual(
      expect.arrayContaining([`${AGENT_DEPS_DIR}/package.json`, `${AGENT_DEPS_DIR}/package-lock.json`]),
    );
    expect(sources).not.toContain('package.json');
    expect(sources).not.toContain('package-lock.json');
  });

  it('is covered by the inputs the local image tag digests', () => {
    const inputs = imageInputFiles();
    for (const source of copySources()) {
      const path = source.replace(/\/$/, '');
      expect(
        inputs.some((file) => file === path || file.startsWith(`${path}/`)),
        `${source} is copied but not digested`,
      ).toBe(true);
    }
    // The project's manifest and lock are not read by the build: a dependency bump the image does not
    // hold must not give a new tag.
    expect(inputs).not.toContain('package.json');
    expect(inputs).not.toContain('package-lock.json');
    expect(inputs).toEqual(
      expect.arrayContaining([`${AGENT_DEPS_DIR}/package.json`, `${AGENT_DEPS_DIR}/package-lock.json`]),
    );
  });

  it('is staged by the CDK asset as exactly the files the local image tag digests', () => {
    const app = new App();
    const stack = new Stack(app, 'AgentDepsTest');
    new DetonationCluster(stack, 'Detonation', {
      sampleBuckets: [new s3.Bucket(stack, 'Ingest')],
      reportsBucket: new s3.Bucket(stack, 'Reports'),
    });
    const assembly = app.synth();
    const manifest = JSON.parse(readFileSync(join(assembly.directory, `${stack.stackName}.assets.json`), 'utf8')) as {
      dockerImages: Record<string, { source: { directory: string } }>;
    };
    const [source] = Object.values(manifest.dockerImages).map((d) => d.source);
    const staged = join(assembly.directory, source!.directory);
    const files = readdirSync(staged, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(staged, join(entry.parentPath, entry.name)).split(sep).join('/'))
      .sort();
    // An installed package has package.json but no lock: the deployed image must not need either.
    expect(files).not.toContain('package.json');
    expect(files).not.toContain('package-lock.json');
    expect(files).toEqual(imageInputFiles());
    rmSync(assembly.directory, { recursive: true, force: true });
  });
});
