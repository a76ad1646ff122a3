import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import * as z from 'zod';
import { SOURCES_OUTPUT, STACK_OUTPUTS } from '../lib/contracts';
import { createDeployedClients, destroyDeployedClients, type DeployedClients } from './clients';
import { awsCall, DeployedStackError, NotASandtrapStackError, StackNotFoundError, type AwsCall } from './errors';

/** A deployed pipeline, as its CloudFormation outputs describe it. */
export interface DeployedStack {
  name: string;
  /** The bucket Sandtrap made for uploads; absent when the stack only analyses buckets it was given (`ingestBucket: false`). */
  ingestBucket?: string;
  reportsBucket: string;
  table: string;
  stateMachineArn: string;
  bus: string;
  /**
   * Every bucket the stack analyses, with its prefixes (`""`: every key); stacks deployed before
   * sources existed list none, and then their ingest bucket is the one source.
   */
  sources: { bucket: string; prefixes: string[] }[];
}

/** The sources output, validated: a stack's outputs are input like any other. */
const SourcesOutputSchema = z
  .array(
    z
      .object({
        bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/),
        prefixes: z.array(z.string().max(1024)).min(1).max(10),
      })
      .strict(),
  )
  .max(100);

/** Builds the description of an AWS call for error messages. */
export function callOn(clients: Pick<DeployedClients, 'region' | 'endpoint'>, action: string, target: string): AwsCall {
  return { action, target, region: clients.region, ...(clients.endpoint ? { endpoint: clients.endpoint } : {}) };
}

/** Reads a stack's outputs into a {@link DeployedStack}, naming any Sandtrap output it lacks. */
export function stackFromOutputs(
  name: string,
  status: string | undefined,
  outputs: { OutputKey?: string; OutputValue?: string }[],
): DeployedStack {
  const byKey = new Map(outputs.map((o) => [o.OutputKey, o.OutputValue]));
  const listed = byKey.get(SOURCES_OUTPUT);
  // A stack without an ingest bucket of its own still lists the buckets it analyses.
  const missing = Object.values(STACK_OUTPUTS).filter(
    (key) => !byKey.get(key) && !(key === STACK_OUTPUTS.ingestBucket && listed !== undefined),
  );
  if (missing.length > 0) throw new NotASandtrapStackError(name, status, missing);
  const value = (key: string) => byKey.get(key) as string;
  const ingestBucket = byKey.get(STACK_OUTPUTS.ingestBucket) || undefined;
  let sources: DeployedStack['sources'] = ingestBucket ? [{ bucket: ingestBucket, prefixes: [''] }] : [];
  if (listed !== undefined) {
    const parsed = SourcesOutputSchema.safeParse(
      (() => {
        try {
          return JSON.parse(listed);
        } catch {
          return undefined;
        }
      })(),
    );
    if (!parsed.success)
      throw new DeployedStackError(
        `stack ${name}: output ${SOURCES_OUTPUT} is not a list of source buckets: ${z.prettifyError(parsed.error ?? new z.ZodError([])).split('\n')[0]}`,
      );
    sources = parsed.data;
  }
  if (!ingestBucket && sources.length === 0)
    throw new DeployedStackError(
      `stack ${name}: it has no ingest bucket and lists no source bucket, so nothing reaches it`,
    );
  return {
    name,
    sources,
    ...(ingestBucket ? { ingestBucket } : {}),
    reportsBucket: value(STACK_OUTPUTS.reportsBucket),
    table: value(STACK_OUTPUTS.table),
    stateMachineArn: value(STACK_OUTPUTS.stateMachine),
    bus: value(STACK_OUTPUTS.bus),
  };
}

/** CloudFormation's answer for a stack that does not exist (a ValidationError, not a 404). */
function isMissingStack(error: unknown): boolean {
  const e = error as { name?: string; message?: string };
  return e?.name === 'ValidationError' && /does not exist/i.test(e.message ?? '');
}

/** Finds a deployed Sandtrap stack by name through its CloudFormation outputs. */
export async function findStack(clients: DeployedClients, name: string): Promise<DeployedStack> {
  const answer = await awsCall(callOn(clients, 'cloudformation:DescribeStacks', `stack ${name}`), async () => {
    try {
      return await clients.cfn.send(new DescribeStacksCommand({ StackName: name }));
    } catch (error) {
      if (isMissingStack(error)) throw new StackNotFoundError(name, clients.region);
      throw error;
    }
  });
  const stack = answer.Stacks?.[0];
  if (!stack) throw new StackNotFoundError(name, clients.region);
  return stackFromOutputs(name, stack.StackStatus, stack.Outputs ?? []);
}

/** A deployed stack and the clients that reach it. */
export interface StackConnection {
  clients: DeployedClients;
  stack: DeployedStack;
  /** Closes the clients' sockets. */
  close(): void;
}

/** How a stack is reached: by name through CloudFormation, or a fake in tests. */
export type ConnectToStack = (target: { stack: string; region?: string }) => Promise<StackConnection>;

/** Connects by stack name: region and endpoint from the environment, outputs from CloudFormation. */
export const connectToStack: ConnectToStack = async (target) => {
  const clients = await createDeployedClients(target.region ? { region: target.region } : {});
  try {
    const stack = await findStack(clients, target.stack);
    return { clients, stack, close: () => destroyDeployedClients(clients) };
  } catch (error) {
    destroyDeployedClients(clients);
    throw error;
  }
};
