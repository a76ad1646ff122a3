import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LAMBDA_STATIC_TARGET, type StaticBundleTarget, staticBundleCode } from './static-bundle';
import { STEPS } from './steps';

/** The Lambda runtimes the bundle can target: its wheels are chosen for exactly this Python. */
const PYTHON_RUNTIMES: Record<string, lambda.Runtime> = {
  '3.12': lambda.Runtime.PYTHON_3_12,
  '3.13': lambda.Runtime.PYTHON_3_13,
};

/** The Python runtime of the static engine, the one the bundle's wheels are built for. */
export const STATIC_RUNTIME = (() => {
  const runtime = PYTHON_RUNTIMES[LAMBDA_STATIC_TARGET.pythonVersion];
  if (!runtime) throw new Error(`no Lambda runtime for Python ${LAMBDA_STATIC_TARGET.pythonVersion}`);
  return runtime;
})();

/** Props of {@link StaticEngineFunction}. */
export interface StaticEngineFunctionProps {
  /** The workflow's environment (settings, buckets); the handler reads the same variables as the Node steps. */
  readonly environment: Record<string, string>;
  /** The platform the wheels are built for. @default LAMBDA_STATIC_TARGET (arm64, Python 3.12) */
  readonly bundleTarget?: StaticBundleTarget;
}

/**
 * The static engine's Lambda: `static/sandtrap_static` with YARA-X, oletools, pefile, pyzipper and
 * pyelftools, on Python and arm64 like every other step. The bundle is built locally by pip with
 * `--platform manylinux…aarch64 --only-binary=:all:` (no Docker); boto3 is the runtime's own.
 */
export class StaticEngineFunction extends Construct {
  readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: StaticEngineFunctionProps) {
    super(scope, id);
    const step = STEPS.StaticFn;
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });
    this.function = new lambda.Function(this, 'Function', {
      runtime: STATIC_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      handler: step.module,
      code: staticBundleCode(props.bundleTarget ?? LAMBDA_STATIC_TARGET),
      memorySize: step.memoryMb,
      timeout: Duration.seconds(step.timeoutSeconds),
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup,
      environment: {
        // Bytecode cannot be written to the read-only /var/task; do not try on every cold start.
        PYTHONDONTWRITEBYTECODE: '1',
        ...props.environment,
      },
    });
  }
}
