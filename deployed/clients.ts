import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';
import { createClients, destroyClients, type AwsClients } from '../lambdas/core/runtime/clients';

/** The SDK clients the deployed-stack commands use. */
export interface DeployedClients extends AwsClients {
  cfn: CloudFormationClient;
  sfn: SFNClient;
  /** The region every client talks to: error messages name it, because a wrong region looks like a missing stack. */
  region: string;
  /** The custom endpoint (MiniStack, LocalStack), if any: error messages name it. */
  endpoint?: string;
}

/** Options of {@link createDeployedClients}. */
export interface DeployedClientOptions {
  /** `--region`; else `AWS_REGION` / `AWS_DEFAULT_REGION`, else the shared config file's region. */
  region?: string;
}

/** Thrown when no region is configured anywhere: every AWS call needs one. */
export class NoRegionError extends Error {
  constructor() {
    super('no AWS region configured (set AWS_REGION or pass --region)');
    this.name = 'NoRegionError';
  }
}

/**
 * The region: the option, the environment, then the shared config file (`AWS_PROFILE`'s `region`),
 * which `createClients` does not read. Against a custom endpoint the emulators' `us-east-1` is a
 * safe default; against AWS a missing region is an error, not a guess.
 */
export async function resolveRegion(options: DeployedClientOptions, env: NodeJS.ProcessEnv): Promise<string> {
  const explicit = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (explicit) return explicit;
  const probe = new CloudFormationClient({});
  try {
    return await probe.config.region();
  } catch {
    if (env.AWS_ENDPOINT_URL) return 'us-east-1';
    throw new NoRegionError();
  } finally {
    probe.destroy();
  }
}

/**
 * Every client the deployed-stack commands need, with the endpoint conventions of `createClients`:
 * `AWS_ENDPOINT_URL` (or a per-service `AWS_ENDPOINT_URL_<SERVICE>`), path-style S3 against a custom
 * endpoint, and checksums only when required.
 */
export async function createDeployedClients(
  options: DeployedClientOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<DeployedClients> {
  const region = await resolveRegion(options, env);
  const endpointFor = (service: string) => env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  const cfnEndpoint = endpointFor('CLOUDFORMATION');
  const sfnEndpoint = endpointFor('SFN');
  return {
    ...createClients({ region }, env),
    cfn: new CloudFormationClient({ region, ...(cfnEndpoint ? { endpoint: cfnEndpoint } : {}) }),
    sfn: new SFNClient({ region, ...(sfnEndpoint ? { endpoint: sfnEndpoint } : {}) }),
    region,
    ...(env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {}),
  };
}

/** Closes every client's sockets, so that the CLI exits as soon as it is done. */
export function destroyDeployedClients(clients: DeployedClients): void {
  destroyClients(clients);
  clients.cfn.destroy();
  clients.sfn.destroy();
}
