import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';

/** The SDK clients the core uses. */
export interface AwsClients {
  s3: S3Client;
  ddb: DynamoDBDocumentClient;
}

/**
 * SDK errors that a retry may get past: throttling, a timeout, or an S3 fault the SDK has no model
 * for (its 5xx answers). The steps that only read and claim (triage) are retried on them.
 */
export const TRANSIENT_AWS_ERRORS: readonly string[] = [
  'S3ServiceException',
  'TimeoutError',
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  // S3 names its errors by code in SDK v3: these are the ones a retry gets past.
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
];

/** Options for the client factory; everything defaults to the process environment. */
export interface ClientOptions {
  region?: string;
  /** Overrides `AWS_ENDPOINT_URL` for every client (s3rver, dynalite, MiniStack, LocalStack). */
  endpoint?: string;
  s3Endpoint?: string;
  dynamodbEndpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The HTTP handler's options (a custom CA's `httpsAgent`, say); the SDK's default otherwise. */
  requestHandler?: { httpsAgent: unknown };
}

/**
 * One factory for every SDK client, in Lambdas, the local runtime and tests. It honours
 * `AWS_ENDPOINT_URL` (and per-service `AWS_ENDPOINT_URL_S3` / `_DYNAMODB`), forces path-style S3
 * addressing against custom endpoints, and computes checksums only when required: the SDK's default
 * stream checksums corrupt uploads to s3rver and break presigned PUTs on S3.
 */
export function createClients(options: ClientOptions = {}, env: NodeJS.ProcessEnv = process.env): AwsClients {
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const common = {
    region,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.requestHandler ? { requestHandler: options.requestHandler as never } : {}),
  };
  const s3Endpoint = options.s3Endpoint ?? options.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const ddbEndpoint =
    options.dynamodbEndpoint ?? options.endpoint ?? env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL;
  const s3 = new S3Client({
    ...common,
    ...(s3Endpoint ? { endpoint: s3Endpoint, forcePathStyle: true } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const ddb = DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...common, ...(ddbEndpoint ? { endpoint: ddbEndpoint } : {}) }),
    {
      marshallOptions: { removeUndefinedValues: true },
    },
  );
  return { s3, ddb };
}

/** Closes the clients' sockets (tests and the CLI call it; Lambdas keep them warm). */
export function destroyClients(clients: AwsClients): void {
  clients.s3.destroy();
  clients.ddb.destroy();
}
