import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';

/** The banner that lets CommonJS code (undici, the X-Ray SDK) call require() inside an ES module. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __sandtrapRequire } from 'node:module'; const require = __sandtrapRequire(import.meta.url);";

/**
 * The third-party modules in the layer: those that esbuild cannot tree-shake (CommonJS: undici, the
 * X-Ray SDK under Powertools' Tracer) or barely can (fast-xml-parser), so every handler that imports
 * them carries them whole. Handlers are bundled with these external; tree-shakeable ES modules (zod,
 * Powertools' Logger and Metrics) stay in each handler's bundle, cut to what that handler uses.
 */
export const SHARED_MODULES = ['undici', 'fast-xml-parser', '@aws-lambda-powertools/tracer'] as const;

/** The packages of {@link SHARED_MODULES}, as esbuild's `external` takes them (a package covers its subpaths). */
export const SHARED_PACKAGES = [...new Set(SHARED_MODULES.map(packageOf))];

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const requireFromRoot = createRequire(join(ROOT, 'package.json'));

/**
 * The `node_modules` directories Node looks in for a bare import from Sandtrap's files, nearest
 * first: the package's own, then every ancestor's. In a checkout the first holds everything; once
 * Sandtrap is installed, its dependencies are wherever the app's package manager put them (hoisted
 * into the app's `node_modules`, usually), so none of them is assumed.
 */
function nodeModulesDirs(): string[] {
  const dirs: string[] = [];
  for (let dir = ROOT; ; dir = dirname(dir)) {
    if (basename(dir) !== 'node_modules') dirs.push(join(dir, 'node_modules'));
    if (dirname(dir) === dir) return dirs.filter((d) => existsSync(d));
  }
}

/** The installed version of a package, found as Node finds it from Sandtrap's files. */
function installedVersion(pkg: string): string {
  for (const dir of nodeModulesDirs()) {
    const manifest = join(dir, pkg, 'package.json');
    if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  }
  throw new Error(`Dependency layer: ${pkg} is not installed where Sandtrap can import it (from ${ROOT})`);
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The names a module exports, read from its CommonJS build (synchronously: CDK bundles synchronously). */
function exportNames(specifier: string): string[] {
  const module = requireFromRoot(specifier) as Record<string, unknown>;
  return Object.keys(module).filter((name) => name !== '__esModule' && (name === 'default' || IDENTIFIER.test(name)));
}

/** Options of {@link buildDependencyLayer}. */
export interface DependencyLayerBuildOptions {
  /** Bundle the AWS SDK clients that Powertools uses instead of taking the runtime's. */
  readonly bundleAwsSdk: boolean;
}

/**
 * Builds the layer's content into `outputDir`: `nodejs/node_modules/<package>/` with one minified ES
 * module per imported entry and a package.json whose `exports` map names them, as Node resolves a
 * bare import from a layer. The entries are built together with code splitting, so what Powertools'
 * packages share (commons, the invoke store) is in the layer once.
 */
export function buildDependencyLayer(outputDir: string, options: DependencyLayerBuildOptions): void {
  const modulesDir = join(outputDir, 'nodejs', 'node_modules');
  const entriesDir = mkdtempSync(join(tmpdir(), 'sandtrap-layer-entries-'));
  try {
    const entryPoints: Record<string, string> = {};
    const exportsByPackage = new Map<string, Record<string, string>>();
    for (const specifier of SHARED_MODULES) {
      const pkg = packageOf(specifier);
      const subpath = specifier.slice(pkg.length).replace(/^\//, '');
      const fileBase = subpath ? subpath.replace(/\//g, '-') : 'index';
      const entryFile = join(entriesDir, `${specifier.replace(/[@/]/g, '_')}.mjs`);
      // Named re-exports (not `export *`): esbuild cannot enumerate a CommonJS module's exports statically.
      const names = exportNames(specifier).filter((name) => name !== 'default');
      writeFileSync(entryFile, `export { ${names.join(', ')} } from '${specifier}';\n`);
      entryPoints[`${pkg}/${fileBase}`] = entryFile;
      const map = exportsByPackage.get(pkg) ?? {};
      map[subpath ? `./${subpath}` : '.'] = `./${fileBase}.mjs`;
      exportsByPackage.set(pkg, map);
    }
    buildSync({
      entryPoints,
      outdir: modulesDir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node22',
      mainFields: ['module', 'main'],
      minify: true,
      chunkNames: '.sandtrap-chunks/[name]-[hash]',
      banner: { js: ESM_REQUIRE_BANNER },
      external: options.bundleAwsSdk ? [] : ['@aws-sdk/*'],
      // The entries are in a temporary directory: their imports resolve where Sandtrap's would.
      nodePaths: nodeModulesDirs(),
      absWorkingDir: entriesDir,
      logLevel: 'error',
    });
    for (const [pkg, exportsMap] of exportsByPackage) {
      const version = installedVersion(pkg);
      mkdirSync(join(modulesDir, pkg), { recursive: true });
      writeFileSync(
        join(modulesDir, pkg, 'package.json'),
        `${JSON.stringify({ name: pkg, version, type: 'module', exports: exportsMap }, null, 2)}\n`,
      );
    }
  } finally {
    rmSync(entriesDir, { recursive: true, force: true });
  }
}

/**
 * One Lambda layer per stack with the third-party modules of {@link SHARED_MODULES} (undici, Powertools'
 * Tracer with the X-Ray SDK, fast-xml-parser), built by the local esbuild. Node.js 18 and later
 * resolve ES module imports from a layer's `nodejs/node_modules`, so handlers import these packages by
 * their names: nine functions deploy these once instead of nine times, and each function's bundle
 * holds Sandtrap's code and the tree-shaken rest.
 */
export class DependencyLayer extends Construct {
  readonly layer: lambda.LayerVersion;

  /** The stack's layer, created on first use. */
  static of(scope: Construct, options: DependencyLayerBuildOptions): DependencyLayer {
    const stack = Stack.of(scope);
    const id = options.bundleAwsSdk ? 'SharedDependenciesWithSdk' : 'SharedDependencies';
    return (stack.node.tryFindChild(id) as DependencyLayer | undefined) ?? new DependencyLayer(stack, id, options);
  }

  private constructor(scope: Construct, id: string, options: DependencyLayerBuildOptions) {
    super(scope, id);
    this.layer = new lambda.LayerVersion(this, 'Layer', {
      description: `Sandtrap's shared dependencies: ${SHARED_PACKAGES.join(', ')}`,
      compatibleRuntimes: [lambda.Runtime.NODEJS_22_X],
      compatibleArchitectures: [lambda.Architecture.ARM_64],
      // Identified by what the build produces (it takes well under a second): the installed versions
      // of the modules and this builder, with no lock file to read (none ships with a package).
      code: lambda.Code.fromAsset(dirname(fileURLToPath(import.meta.url)), {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // Never used: the local build below always succeeds or throws.
          image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs22.x'),
          // Never run either, but it tells the two layers apart: CDK caches staging by source
          // directory and bundling options.
          command: ['layer', id],
          local: {
            tryBundle(outputDir) {
              buildDependencyLayer(outputDir, options);
              return true;
            },
          },
        },
      }),
    });
  }
}
