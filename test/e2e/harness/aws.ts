import {
  CloudFormationClient,
  ListStackResourcesCommand,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { createClients, destroyClients, type AwsClients } from '../../../lambdas/core/runtime/clients';
import { ministackAwsEnv } from './ministack';

/** Every SDK client the harness and the tests use, all pointed at one endpoint. */
export interface E2eClients extends AwsClients {
  sfn: SFNClient;
  sqs: SQSClient;
  ecs: ECSClient;
  cfn: CloudFormationClient;
  secrets: SecretsManagerClient;
  events: EventBridgeClient;
}

/** How to reach an emulator: a custom CA to trust (TLS), and credentials other than its root's. */
export interface E2eClientOptions {
  caFile?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * SDK client configuration for the emulated AWS, explicit rather than from `process.env`, so that
 * the harness never reaches a real account whatever the developer's shell has set.
 */
export function e2eClientConfig(endpoint: string, options: E2eClientOptions = {}) {
  const env = ministackAwsEnv(endpoint);
  const requestHandler = options.caFile
    ? { httpsAgent: new Agent({ ca: readFileSync(options.caFile), keepAlive: true }) }
    : undefined;
  return {
    endpoint,
    region: env.AWS_REGION as string,
    credentials: options.credentials ?? {
      accessKeyId: env.AWS_ACCESS_KEY_ID as string,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
    },
    ...(requestHandler ? { requestHandler } : {}),
  };
}

/** Every client the harness and the tests use; S3 and DynamoDB come from `createClients`, the factory the pipeline itself uses. */
export function createE2eClients(endpoint: string, options: E2eClientOptions = {}): E2eClients {
  const config = e2eClientConfig(endpoint, options);
  return {
    ...createClients(config, {}),
    sfn: new SFNClient(config),
    sqs: new SQSClient(config),
    ecs: new ECSClient(config),
    cfn: new CloudFormationClient(config),
    secrets: new SecretsManagerClient(config),
    events: new EventBridgeClient(config),
  };
}

/** Closes every client's sockets. */
export function destroyE2eClients(clients: E2eClients): void {
  destroyClients(clients);
  for (const client of [clients.sfn, clients.sqs, clients.ecs, clients.cfn, clients.secrets, clients.events])
    client.destroy();
}

/** Every resource of a stack. */
export async function stackResources(cfn: CloudFormationClient, stack: string): Promise<StackResourceSummary[]> {
  const resources: StackResourceSummary[] = [];
  let NextToken: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName: stack, NextToken }));
    resources.push(...(page.StackResourceSummaries ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return resources;
}

/**
 * Puts each keyed vendor's API key into the Secrets Manager secret the stack created for it (logical
 * id `Workflow<vendor>ApiKey…`), as an operator does after `cdk deploy`; the README says the same.
 */
export async function putVendorSecrets(
  clients: E2eClients,
  stack: string,
  keys: Record<string, string>,
): Promise<void> {
  const secrets = (await stackResources(clients.cfn, stack)).filter(
    (r) => r.ResourceType === 'AWS::SecretsManager::Secret',
  );
  for (const [vendor, value] of Object.entries(keys)) {
    const secret = secrets.find((r) => r.LogicalResourceId?.includes(`${vendor}ApiKey`));
    if (!secret?.PhysicalResourceId) {
      throw new Error(
        `stack ${stack} has no secret for ${vendor} (resources: ${secrets.map((r) => r.LogicalResourceId).join(', ') || 'none'})`,
      );
    }
    await clients.secrets.send(new PutSecretValueCommand({ SecretId: secret.PhysicalResourceId, SecretString: value }));
  }
}
