import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandtrapStackProps } from '../../lib/sandtrap-stack';
import { LAMBDA_STATIC_TARGET, staticDependenciesCacheDir } from '../../lib/static-bundle';
import { NODE_FUNCTION_IDS } from '../../lib/steps';
import { consumerLock } from './lockfile';

/**
 * The packed package, installed as users install it: `npm pack`, then an app outside the repository
 * that depends on the tarball (hoisted layout, the package's directory made read-only) and
 * synthesizes the stack with cdk-nag on, and a global install whose `sandtrap` runs from elsewhere.
 * Everything installs offline from npm's cache, which the repository's `npm ci` filled. It builds,
 * packs, installs twice and synthesizes with bundling: about three minutes on two cores, so it runs
 * when SANDTRAP_PACKAGE_TEST=1 (CI sets it).
 */
const ENABLED = process.env.SANDTRAP_PACKAGE_TEST === '1';
const TIMEOUT = 600_000;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const MAIL_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/**
 * What the consumer app synthesizes, one stack each: the stack with its defaults, and the construct
 * embedded in a stack of the app's own, attached to two imported buckets (one SSE-KMS, with prefixes
 * and a confidential rule) and publishing on the app's bus (issue #16's acceptance app).
 */
const CASES: {
  name: string;
  props: Omit<SandtrapStackProps, 'env'>;
  embed?: {
    eventBusArn: string;
    sources: {
      bucketName: string;
      kmsKeyArn?: string;
      prefixes?: string[];
      confidential?: boolean;
      vendors?: string[];
    }[];
  };
}[] = [
  { name: 'defaults', props: {} },
  {
    name: 'imported sources',
    props: { ingestBucket: false, config: { settings: { detonation: { enabled: false } } } },
    embed: {
      eventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/security-events',
      sources: [
        { bucketName: 'acme-mail-attachments', kmsKeyArn: MAIL_KEY, prefixes: ['inbound/'], confidential: true },
        { bucketName: 'acme-build-artefacts', vendors: [] },
      ],
    },
  },
];

interface SynthResult {
  name: string;
  findings: string[];
  statements: { actions: string[]; resource: string }[];
  functions: { id: string; type: string; runtime?: string; handler?: string; files: string[] | null }[];
  images: { dockerFile?: string; files: string[] }[];
}

/** Runs a command, failing with its output when it fails. */
function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${options.cwd}) exited ${result.status ?? result.signal}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/**
 * A fingerprint of a directory (paths, modes, sizes, contents): the tests run as root in CI, where
 * a read-only mode stops no write, so that nothing was written is checked, not only enforced.
 */
function treeFingerprint(dir: string): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const path = join(dir, name);
    const stat = statSync(path);
    hash.update(`${name}\0${stat.mode}\0${stat.size}\0`);
    if (stat.isFile()) hash.update(readFileSync(path));
  }
  return hash.digest('hex');
}

/** `npm ci --offline` of a consumer whose lock {@link consumerLock} wrote: nothing from the network, no install scripts of third parties. */
function installOffline(dir: string, layout: 'hoisted' | 'nested', tarball: string, alsoDirect: string[]): void {
  mkdirSync(dir, { recursive: true });
  const spec = `file:${tarball}`;
  const { lock, dependencies } = consumerLock({
    repositoryLock: join(ROOT, 'package-lock.json'),
    manifest: join(ROOT, 'package.json'),
    tarball: { spec, path: tarball },
    alsoDirect,
    layout,
  });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'sandtrap-consumer', private: true, type: 'module', dependencies }, null, 2)}\n`,
  );
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  run(
    'npm',
    [
      'ci',
      '--offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      `--install-strategy=${layout === 'hoisted' ? 'hoisted' : 'nested'}`,
    ],
    { cwd: dir },
  );
}

describe.runIf(ENABLED)('the packed package', () => {
  let work: string;
  let tarball: string;
  let app: string;
  let installed: string;
  let installedFingerprint: string;
  let prefix: string;
  /** Sandtrap's cache for the app: the static engine's third-party tree is seeded (see beforeAll). */
  let cacheDir: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'sandtrap-package-'));
    const packDir = join(work, 'pack');
    mkdirSync(packDir);
    // `prepack` builds dist/ first.
    const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: ROOT })) as {
      filename: string;
    }[];
    tarball = join(packDir, packed!.filename);

    app = join(work, 'app');
    installOffline(app, 'hoisted', tarball, ['aws-cdk-lib', 'constructs', 'cdk-nag']);
    installed = join(app, 'node_modules', 'sandtrap');
    copyFileSync(fileURLToPath(new URL('./synth-app.mjs', import.meta.url)), join(app, 'synth-app.mjs'));
    execFileSync('chmod', ['-R', 'a-w', installed]);
    installedFingerprint = treeFingerprint(installed);

    // The static engine's Lambda bundle puts pip's wheels for Lambda under the engine's sources; pip
    // downloads them, and no test reaches the network. Its cache entry (named by the requirements,
    // the target and the builder, identical in the package and here) is seeded empty: the bundle
    // then holds the engine and its rules, which is what the package must find in itself.
    // test/lib/static-bundle.test.ts builds the real tree.
    cacheDir = join(work, 'cache');
    const previous = process.env.SANDTRAP_CACHE_DIR;
    process.env.SANDTRAP_CACHE_DIR = cacheDir;
    try {
      mkdirSync(staticDependenciesCacheDir(LAMBDA_STATIC_TARGET), { recursive: true });
    } finally {
      if (previous === undefined) delete process.env.SANDTRAP_CACHE_DIR;
      else process.env.SANDTRAP_CACHE_DIR = previous;
    }

    // A global install (`npm install -g --prefix`) resolves ranges against the registry, which an
    // offline test cannot reach; this lays out what it makes instead: the package under
    // <prefix>/lib/node_modules with its dependencies nested in its own node_modules, and
    // <prefix>/bin/sandtrap linking to its bin.
    prefix = join(work, 'global');
    installOffline(join(prefix, 'lib'), 'nested', tarball, []);
    mkdirSync(join(prefix, 'bin'));
    symlinkSync('../lib/node_modules/sandtrap/bin/sandtrap.mjs', join(prefix, 'bin', 'sandtrap'));
    execFileSync('chmod', ['-R', 'a-w', join(prefix, 'lib')]);
  }, TIMEOUT);

  afterAll(() => {
    if (!work) return;
    // Writable again, for a run that is not root's.
    for (const dir of [installed, prefix && join(prefix, 'lib')]) {
      if (dir && existsSync(dir)) execFileSync('chmod', ['-R', 'u+w', dir]);
    }
    rmSync(work, { recursive: true, force: true });
  }, TIMEOUT);

  it('ships the built JavaScript, its declarations and the sources it bundles at synth, and no tests', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(files).toEqual(
      expect.arrayContaining([
        'package/dist/index.js',
        'package/dist/cli.js',
        'package/dist/types/lib/index.d.ts',
        'package/bin/sandtrap.mjs',
        'package/lambdas/handlers/triage.ts',
        'package/static/requirements.txt',
        'package/container/Dockerfile',
        // The image's build installs from these (npm packs no project lock for it to cut down).
        'package/container/agent-deps/package.json',
        'package/container/agent-deps/package-lock.json',
        'package/.dockerignore',
      ]),
    );
    expect(files.filter((f) => /(^|\/)(test|node_modules)\/|\.test\.|tsconfig|^package\/package-lock/.test(f))).toEqual(
      [],
    );
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(manifest.private).toBeUndefined();
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(manifest.dependencies).not.toHaveProperty('aws-cdk-lib');
    // Hoisted: the package's dependencies are the app's, beside it.
    expect(readdirSync(installed)).not.toContain('node_modules');
  });

  it(
    'synthesizes in an app outside the repository with cdk-nag on: no finding, every handler bundled',
    () => {
      const casesFile = join(work, 'cases.json');
      writeFileSync(casesFile, JSON.stringify(CASES));
      const env = { ...process.env, SANDTRAP_CACHE_DIR: cacheDir };
      const results = JSON.parse(
        run('node', ['synth-app.mjs', casesFile, join(work, 'cdk.out')], { cwd: app, env }),
      ) as SynthResult[];
      expect(results.map((r) => r.name)).toEqual(CASES.map((c) => c.name));
      for (const result of results) {
        expect(result.findings, result.name).toEqual([]);
        const nodeFunctions = result.functions.filter((f) => f.runtime?.startsWith('nodejs'));
        // The pipeline's handlers, and CDK's own custom-resource functions (inline, no asset of ours).
        const bundled = nodeFunctions.filter((f) => f.files?.includes('index.mjs'));
        expect(bundled.length, result.name).toBeGreaterThanOrEqual(NODE_FUNCTION_IDS.length);
        for (const f of bundled) {
          expect(f.handler).toBe('index.handler');
          expect(f.files).toContain('index.mjs.map');
        }
        const layers = result.functions.filter((f) => f.type === 'AWS::Lambda::LayerVersion');
        expect(layers.flatMap((l) => l.files)).toContain('nodejs/node_modules/undici/package.json');
        const staticFn = result.functions.find((f) => f.runtime?.startsWith('python') && f.files);
        expect(staticFn?.files).toContain('sandtrap_static/lambda_function.py');
        expect(staticFn?.files?.some((f) => f.startsWith('rules/'))).toBe(true);
        // The detonation image builds from the package's own directory, which has no lock: its
        // context holds the agent's committed dependency lock, and not the project's manifest.
        if (result.name === 'defaults') expect(result.images).toHaveLength(1);
        for (const image of result.images) {
          expect(image.dockerFile, result.name).toBe('container/Dockerfile');
          expect(image.files, result.name).toEqual(
            expect.arrayContaining([
              'container/Dockerfile',
              'container/agent-deps/package.json',
              'container/agent-deps/package-lock.json',
              'container/agent/main.ts',
            ]),
          );
          expect(image.files, result.name).not.toContain('package.json');
        }
      }
      // The embedded case: both imported buckets granted (the SSE-KMS one on its prefix only), its key decrypted.
      const embedded = results.find((r) => r.name === 'imported sources');
      const on = (action: string) =>
        embedded?.statements.filter((st) => st.actions.includes(action)).map((st) => st.resource) ?? [];
      expect(on('s3:GetObject').some((r) => r.includes('acme-mail-attachments/inbound/*'))).toBe(true);
      expect(on('s3:GetObject').some((r) => r.includes('acme-build-artefacts/*'))).toBe(true);
      expect(on('s3:GetObject').some((r) => r.includes('acme-mail-attachments/*'))).toBe(false);
      expect(on('s3:PutObjectTagging').some((r) => r.includes('acme-build-artefacts/*'))).toBe(true);
      expect(on('kms:Decrypt').some((r) => r.includes(MAIL_KEY))).toBe(true);
      expect(on('events:PutEvents').every((r) => r.includes('event-bus/security-events'))).toBe(true);
      expect(treeFingerprint(installed)).toBe(installedFingerprint);
    },
    TIMEOUT,
  );

  it('runs the globally installed `sandtrap` from another directory', () => {
    const elsewhere = mkdtempSync(join(work, 'elsewhere-'));
    const bin = join(prefix, 'bin', 'sandtrap');
    const before = treeFingerprint(join(prefix, 'lib'));
    const env = { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` };
    expect(run(bin, ['--help'], { cwd: elsewhere, env })).toMatch(/^Usage: sandtrap/);
    const vendors = JSON.parse(run('sandtrap', ['vendors', '--json'], { cwd: elsewhere, env })) as { id: string }[];
    expect(vendors.map((v) => v.id)).toContain('cape');
    expect(treeFingerprint(join(prefix, 'lib'))).toBe(before);
    // The global package runs the built CLI: no TypeScript loader is installed beside it.
    expect(readdirSync(join(prefix, 'lib', 'node_modules', 'sandtrap', 'node_modules'))).not.toContain('tsx');
  }, 120_000);

  it('declares its types for a TypeScript app (node16 resolution)', () => {
    writeFileSync(
      join(app, 'check.ts'),
      [
        "import { App } from 'aws-cdk-lib';",
        "import { SandtrapStack, type SandtrapStackProps, STACK_OUTPUTS } from 'sandtrap';",
        'const props: SandtrapStackProps = { config: {} };',
        "const stack: SandtrapStack = new SandtrapStack(new App(), 'Sandtrap', props);",
        'export const outputs: string[] = [stack.buckets.ingest.bucketName, STACK_OUTPUTS.bus];',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'node16',
          moduleResolution: 'node16',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['check.ts'],
      }),
    );
    run('node', [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app });
  }, 120_000);
});
