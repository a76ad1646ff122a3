import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin, transform } from 'esbuild';

/**
 * `npm run build`: the package's JavaScript and declarations, in dist/.
 *
 * - dist/index.js: the library (lib/index.ts), and dist/cli.js: the `sandtrap` command
 *   (bin/sandtrap.ts), each one ES module bundled by esbuild with every package external (they are
 *   the package's dependencies and peers, resolved by Node from the app's node_modules).
 * - dist/types/: the declarations tsc emits (tsconfig.build.json), relative imports given the `.js`
 *   extensions that Node's ESM resolution (and TypeScript's `node16`/`nodenext`) require.
 *
 * Sandtrap's modules find their files beside them: the handler sources CDK bundles
 * (`lambdas/handlers/*.ts`), the static engine (`static/`), the detonation image's build context
 * (the package root), the schemas, by `new URL(relative, import.meta.url)`. Bundled, every module
 * would share the bundle's URL; so each module's `import.meta.url` is rewritten to the URL of its
 * source file, which the package ships (package.json `files`): the relative paths then hold in the
 * bundle as in the sources, and in a checkout as in an installed package.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const SOURCE_URL = '__sandtrapSourceUrl';

/** Each of Sandtrap's own modules sees its source file's URL as `import.meta.url`. */
function sourceUrlPlugin(outfile: string): Plugin {
  return {
    name: 'sandtrap-source-url',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
        if (args.path.split(sep).includes('node_modules')) return undefined;
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('import.meta')) return undefined;
        // `define` replaces the expression only, never text inside a string (the Lambda banner
        // quotes `import.meta.url` for the handlers' bundles).
        const { code } = await transform(source, {
          loader: 'ts',
          format: 'esm',
          define: { 'import.meta.url': SOURCE_URL },
          sourcefile: args.path,
        });
        if (/\bimport\.meta\.(dirname|filename|resolve)\b/.test(code)) {
          throw new Error(`${relative(ROOT, args.path)}: only import.meta.url is rewritten to the source's`);
        }
        const fromBundle = relative(dirname(outfile), args.path).split(sep).join('/');
        return {
          contents: `const ${SOURCE_URL} = new URL(${JSON.stringify(fromBundle)}, import.meta.url).href;\n${code}`,
          loader: 'js',
          resolveDir: dirname(args.path),
        };
      });
    },
  };
}

async function bundle(entry: string, outfile: string, banner?: string): Promise<void> {
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    // Sources are in the package: the map points at them instead of copying them.
    sourcesContent: false,
    ...(banner ? { banner: { js: banner } } : {}),
    plugins: [sourceUrlPlugin(outfile)],
    logLevel: 'warning',
  });
}

/** Files under `dir` ending with `suffix`. */
function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => path.endsWith(suffix) && statSync(path).isFile());
}

/** `./x` → `./x.js` or `./x/index.js`, as the declaration's source was resolved. */
function withExtension(fromFile: string, specifier: string): string {
  if (!specifier.startsWith('.') || /\.(js|mjs|cjs|json)$/.test(specifier)) return specifier;
  const target = resolve(dirname(fromFile), specifier);
  if (existsSync(`${target}.d.ts`)) return `${specifier}.js`;
  if (existsSync(join(target, 'index.d.ts'))) return `${specifier}/index.js`;
  throw new Error(`${relative(ROOT, fromFile)}: cannot resolve ${specifier}`);
}

function declarations(): void {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  const specifiers = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.[^'"]*)\2/g;
  for (const file of filesUnder(join(DIST, 'types'), '.d.ts')) {
    const text = readFileSync(file, 'utf8');
    const rewritten = text.replace(
      specifiers,
      (_, lead: string, quote: string, spec: string) => `${lead}${quote}${withExtension(file, spec)}${quote}`,
    );
    if (rewritten !== text) writeFileSync(file, rewritten);
  }
}

export async function buildPackage(): Promise<void> {
  rmSync(DIST, { recursive: true, force: true });
  await bundle('lib/index.ts', join(DIST, 'index.js'));
  await bundle('bin/sandtrap.ts', join(DIST, 'cli.js'));
  declarations();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await buildPackage();
