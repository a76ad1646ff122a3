import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { BuildOptions } from 'esbuild';
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
  environment: Record<string, string>;
  /** @default Duration.minutes(1) */
  timeout?: Duration;
  /** @default 512 */
  memorySize?: number;
  /** Bundle the AWS SDK instead of using the runtime's. @default false */
  bundleAwsSdk?: boolean;
}

/**
 * One pipeline Lambda: Node.js 22 on ARM64, bundled by esbuild from the project's devDependency (no
 * Docker), X-Ray tracing, JSON logs kept for a month, Powertools configured through the environment.
 * Third-party modules come from the stack's {@link DependencyLayer}; the bundle holds Sandtrap's code.
 */
export class PipelineFunction extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: NodeFunctionId, props: PipelineFunctionProps) {
    super(scope, id);
    const bundleAwsSdk = props.bundleAwsSdk ?? false;
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });
    this.function = new NodejsFunction(this, 'Function', {
      entry: handlerEntry(id),
      handler: 'handler',
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
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        // ESM lets esbuild drop what the handler does not use (zod's namespace, notably).
        format: OutputFormat.ESM,
        mainFields: [...HANDLER_BUNDLING.mainFields],
        banner: HANDLER_BUNDLING.banner,
        minify: HANDLER_BUNDLING.minify,
        keepNames: HANDLER_BUNDLING.keepNames,
        sourceMap: true,
        target: HANDLER_BUNDLING.target,
        externalModules: [...SHARED_PACKAGES, ...(bundleAwsSdk ? [] : ['@aws-sdk/*'])],
        // esbuild runs from node_modules; CDK falls back to Docker only when it cannot find it.
        forceDockerBundling: false,
      },
    });
  }
}
