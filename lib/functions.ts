import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage, Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type BuildOptions, buildSync } from 'esbuild';
import { DependencyLayer, ESM_REQUIRE_BANNER, SHARED_PACKAGES } from './dependency-layer';
import { handlerEntry, type NodeFunctionId } from './steps';

export { ESM_REQUIRE_BANNER } from './dependency-layer';

/**
 * How esbuild bundles every handler. `keepNames` because Lambda reports a thrown error's `name` as
 * its type, which the state machine's Retry and Catch match: minifying alone renames
 * `TransientError` to a letter, and no retry would ever fire.
 */
export const HANDLER_BUNDLING = {
  target: 'node22',
  mainFields: ['module', 'main'],
  minify: true,
  keepNames: true,
  banner: ESM_REQUIRE_BANNER,
} as const;

/** {@link HANDLER_BUNDLING} as esbuild's own build options, for those that bundle as CDK does (benchmarks, tests). */
export function handlerBuildOptions() {
  return {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: HANDLER_BUNDLING.target,
    mainFields: [...HANDLER_BUNDLING.mainFields],
    minify: HANDLER_BUNDLING.minify,
    keepNames: HANDLER_BUNDLING.keepNames,
    banner: { js: HANDLER_BUNDLING.banner },
  } satisfies BuildOptions;
}

/** Powertools' metrics namespace and service name in every function (alarms on custom metrics use them). */
export const POWERTOOLS_METRICS = { namespace: 'Sandtrap', service: 'sandtrap' } as const;

/** Props of {@link PipelineFunction}. */
export interface PipelineFunctionProps {
  readonly environment: Record<string, string>;
  /** @default Duration.minutes(1) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** Bundle the AWS SDK instead of using the runtime's. @default false */
  readonly bundleAwsSdk?: boolean;
}

/** The file a handler's bundle is written to, and the handler Lambda calls in it. */
const HANDLER_FILE = 'index.mjs';
const HANDLER = 'index.handler';
const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * A source map's paths made independent of where the bundle was built. esbuild writes them relative
 * to the output directory (CDK's, in the app's cdk.out), so the same code bundled in another
 * checkout, or installed in another app, would hash (and deploy) as a new asset. Sandtrap's files
 * are named from the package root (`sandtrap/lambdas/...`), third-party ones from their
 * `node_modules` (`node_modules/zod/...`).
 */
function locationIndependentSourceMap(mapFile: string): void {
  const map = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources: string[] };
  map.sources = map.sources.map((source) => {
    const absolute = resolve(dirname(mapFile), source);
    const own = relative(PACKAGE_ROOT, absolute);
    if (!own.startsWith('..') && !own.startsWith(`node_modules${sep}`)) return `sandtrap/${own.split(sep).join('/')}`;
    const modules = absolute.lastIndexOf(`${sep}node_modules${sep}`);
    return modules >= 0
      ? absolute
          .slice(modules + 1)
          .split(sep)
          .join('/')
      : source;
  });
  writeFileSync(mapFile, JSON.stringify(map));
}

/**
 * Bundles the handler module `entry` into `outputDir` as Lambda runs it: `index.mjs` and its source
 * map, {@link HANDLER_BUNDLING}'s options, the layer's packages (and the AWS SDK, unless bundled) external.
 * Synchronous, as CDK bundling is.
 */
export function buildHandlerBundle(entry: string, outputDir: string, options: { bundleAwsSdk: boolean }): void {
  buildSync({
    ...handlerBuildOptions(),
    entryPoints: [entry],
    outfile: join(outputDir, HANDLER_FILE),
    external: [...SHARED_PACKAGES, ...(options.bundleAwsSdk ? [] : ['@aws-sdk/*'])],
    sourcemap: true,
    logLevel: 'error',
  });
  locationIndependentSourceMap(join(outputDir, `${HANDLER_FILE}.map`));
}

/**
 * A handler's Lambda code, bundled by the esbuild this package depends on (its JavaScript API, in
 * process). Not `NodejsFunction`: it needs the project's lock file (`depsLockFilePath`, a
 * `projectRoot` holding the entry) and runs esbuild through `npx` from that root, none of which holds
 * once Sandtrap is installed as a package (no lock file ships in a tarball, the layout is the app's
 * and the install directory may be read-only); where it cannot find esbuild it falls back to Docker.
 * Here nothing is read but the handler's sources and the installed dependencies, and nothing is
 * written but CDK's own asset directory. The asset is identified by the bundle it produces
 * (`OUTPUT`), as `NodejsFunction`'s are.
 */
export function handlerCode(entry: string, options: { bundleAwsSdk: boolean }): lambda.Code {
  return lambda.Code.fromAsset(dirname(entry), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never used: the local build below always succeeds or throws.
      image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs22.x'),
      // Never run either, but it names what is built: CDK caches staging by source directory and
      // bundling options, and every handler has the same source directory.
      command: ['bundle', basename(entry), ...(options.bundleAwsSdk ? ['--with-aws-sdk'] : [])],
      local: {
        tryBundle(outputDir) {
          buildHandlerBundle(entry, outputDir, options);
          return true;
        },
      },
    },
  });
}

/**
 * One pipeline Lambda: Node.js 22 on ARM64, bundled by esbuild in process ({@link handlerCode}; no
 * Docker), X-Ray tracing, JSON logs kept for a month, Powertools configured through the environment.
 * Third-party modules come from the stack's {@link DependencyLayer}; the bundle holds Sandtrap's code.
 */
export class PipelineFunction extends Construct {
  readonly function: lambda.Function;

  constructor(scope: Construct, id: NodeFunctionId, props: PipelineFunctionProps) {
    super(scope, id);
    const bundleAwsSdk = props.bundleAwsSdk ?? false;
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });
    this.function = new lambda.Function(this, 'Function', {
      code: handlerCode(handlerEntry(id), { bundleAwsSdk }),
      handler: HANDLER,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.minutes(1),
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup,
      layers: [DependencyLayer.of(this, { bundleAwsSdk }).layer],
      environment: {
        POWERTOOLS_SERVICE_NAME: POWERTOOLS_METRICS.service,
        POWERTOOLS_METRICS_NAMESPACE: POWERTOOLS_METRICS.namespace,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // The bundle ships its source map.
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
    });
  }
}
