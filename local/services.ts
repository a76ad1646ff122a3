import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import type { LocalPlan } from './template';

/** Credentials s3rver checks signatures with; dynalite accepts any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** Running local S3 and DynamoDB. */
export interface LocalServices {
  s3Endpoint: string;
  dynamodbEndpoint: string;
  stop(): Promise<void>;
}

/** Options of {@link startServices}. */
export interface ServiceOptions {
  /** Directory for s3rver's objects and dynalite's data; a temporary one (removed at stop) by default. */
  stateDir?: string;
}

/**
 * Starts s3rver and dynalite on 127.0.0.1 with free ports and creates the buckets and tables the
 * synthesized template declares, so that local and deployed shapes cannot drift.
 */
export async function startServices(
  plan: Pick<LocalPlan, 'buckets' | 'tables'>,
  options: ServiceOptions = {},
): Promise<LocalServices> {
  const temporary = options.stateDir === undefined;
  const dir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'sandtrap-'));
  const s3 = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: join(dir, 's3'),
    configureBuckets: plan.buckets.all.map((name) => ({ name })),
  });
  const { port: s3Port } = (await s3.run()) as AddressInfo;
  const ddbServer: Server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(temporary ? {} : { path: join(dir, 'dynamodb') }),
  });
  await new Promise<void>((resolve, reject) => {
    ddbServer.once('error', reject);
    ddbServer.listen(0, '127.0.0.1', () => resolve());
  });
  const ddbPort = (ddbServer.address() as AddressInfo).port;
  const dynamodbEndpoint = `http://127.0.0.1:${ddbPort}`;
  const ddb = new DynamoDBClient({ endpoint: dynamodbEndpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  try {
    for (const table of plan.tables) {
      const keySchema = (keys: { partitionKey: string; sortKey?: string }) => [
        { AttributeName: keys.partitionKey, KeyType: 'HASH' as const },
        ...(keys.sortKey ? [{ AttributeName: keys.sortKey, KeyType: 'RANGE' as const }] : []),
      ];
      const keyNames = [table, ...(table.indexes ?? [])].flatMap((k) => [k.partitionKey, k.sortKey ?? []].flat());
      try {
        await ddb.send(
          new CreateTableCommand({
            TableName: table.name,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [...new Set(keyNames)].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
            KeySchema: keySchema(table),
            ...(table.indexes?.length
              ? {
                  GlobalSecondaryIndexes: table.indexes.map((index) => ({
                    IndexName: index.name,
                    KeySchema: keySchema(index),
                    Projection: {
                      ProjectionType: index.projection.type,
                      ...(index.projection.attributes ? { NonKeyAttributes: index.projection.attributes } : {}),
                    },
                  })),
                }
              : {}),
          }),
        );
      } catch (error) {
        if ((error as Error).name !== 'ResourceInUseException') throw error;
      }
    }
  } finally {
    ddb.destroy();
  }
  return {
    s3Endpoint: `http://127.0.0.1:${s3Port}`,
    dynamodbEndpoint,
    async stop() {
      await Promise.all([s3.close(), new Promise<void>((resolve) => ddbServer.close(() => resolve()))]);
      if (temporary) rmSync(dir, { recursive: true, force: true });
    },
  };
}
