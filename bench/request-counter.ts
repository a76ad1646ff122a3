import type { AwsClients } from '../lambdas/core/runtime/clients';

/** How S3 bills a request: the PUT/COPY/POST/LIST class, the GET-and-everything-else class, or free (DELETE, abort). */
export type S3RequestClass = 'put' | 'get' | 'free';

/** DynamoDB requests of one operation and the capacity units they consumed. */
export interface DynamoDbTally {
  requests: number;
  /** Read or write request units, as DynamoDB reported them (see {@link RequestCounter}). */
  units: number;
  kind: 'read' | 'write';
}

/** The S3 and DynamoDB requests counted since the last reset, by operation. */
export interface RequestCounts {
  /** Requests by S3 operation (`GetObject`, `PutObjectTagging`, …). */
  s3: Record<string, number>;
  /** Bytes sent in object bodies (`PutObject`, `UploadPart`): what the pipeline adds to storage. */
  s3BytesWritten: number;
  /** Requests and consumed units by DynamoDB operation (`GetItem`, `UpdateItem`, …). */
  dynamodb: Record<string, DynamoDbTally>;
}

const MIDDLEWARE_NAME = 'sandtrapBenchRequestCounter';

const DYNAMODB_READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);

/** The S3 price class of an operation, after the S3 pricing page's request classes. */
export function s3RequestClass(operation: string): S3RequestClass {
  if (/^(Delete|Abort)/.test(operation)) return 'free';
  // CreateMultipartUpload and CompleteMultipartUpload are POSTs, UploadPart a PUT.
  if (/^(Put|Copy|Post|List|Create|Upload|Complete)/.test(operation)) return 'put';
  return 'get';
}

function bodyBytes(body: unknown, contentLength: unknown): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  // A stream's size is only known when the caller declared it.
  return typeof contentLength === 'number' ? contentLength : 0;
}

/** Capacity units in a DynamoDB response: one object, or a list of them for batch and transact operations. */
function consumedUnits(consumed: unknown): number | undefined {
  const entries = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  if (entries.length === 0) return undefined;
  return entries.reduce(
    (sum: number, entry) => sum + Number((entry as { CapacityUnits?: number }).CapacityUnits ?? 0),
    0,
  );
}

/**
 * Counts the S3 and DynamoDB requests made through a set of SDK clients, by operation, with an SDK
 * middleware on each client's stack (the DynamoDB document client shares its stack with the client
 * it wraps, so one middleware sees every document command).
 *
 * DynamoDB units are measured, not estimated: the middleware asks every request for
 * `ReturnConsumedCapacity: TOTAL` and adds up what the service reports (dynalite computes it with
 * DynamoDB's rules: 1 KB per write unit, 4 KB per strongly consistent read unit). A conditional write
 * that fails still consumes a write unit on DynamoDB, and its error carries no capacity, so it counts
 * as one. When a response has no capacity at all, a request counts as the minimum it is billed.
 */
export class RequestCounter {
  private counts: RequestCounts = { s3: {}, s3BytesWritten: 0, dynamodb: {} };

  /** Adds S3 requests counted elsewhere (the static engine's Python workers report their own). */
  addS3(usage: { s3: Record<string, number>; s3BytesWritten: number }): void {
    for (const [operation, n] of Object.entries(usage.s3))
      this.counts.s3[operation] = (this.counts.s3[operation] ?? 0) + n;
    this.counts.s3BytesWritten += usage.s3BytesWritten;
  }

  constructor(private readonly clients: AwsClients) {
    clients.s3.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
        this.counts.s3[operation] = (this.counts.s3[operation] ?? 0) + 1;
        const input = args.input as { Body?: unknown; ContentLength?: unknown };
        if (operation === 'PutObject' || operation === 'UploadPart')
          this.counts.s3BytesWritten += bodyBytes(input.Body, input.ContentLength);
        return next(args);
      },
      { step: 'initialize', name: MIDDLEWARE_NAME, override: true },
    );
    clients.ddb.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
        const kind = DYNAMODB_READS.has(operation) ? 'read' : 'write';
        const input = args.input as { ConsistentRead?: boolean };
        const minimum = kind === 'write' || input.ConsistentRead ? 1 : 0.5;
        this.counts.dynamodb[operation] ??= { requests: 0, units: 0, kind };
        const tally = this.counts.dynamodb[operation];
        tally.requests += 1;
        try {
          const result = await next({ ...args, input: { ...(args.input as object), ReturnConsumedCapacity: 'TOTAL' } });
          tally.units += consumedUnits((result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity) ?? minimum;
          return result;
        } catch (error) {
          if ((error as Error).name === 'ConditionalCheckFailedException') tally.units += 1;
          throw error;
        }
      },
      { step: 'initialize', name: MIDDLEWARE_NAME, override: true },
    );
  }

  /** Forgets what was counted so far (e.g. the benchmark's own upload of the sample). */
  reset(): void {
    this.counts = { s3: {}, s3BytesWritten: 0, dynamodb: {} };
  }

  /** A copy of the counts since the last reset. */
  snapshot(): RequestCounts {
    return structuredClone(this.counts);
  }

  /** Takes the middleware off both clients. */
  detach(): void {
    this.clients.s3.middlewareStack.remove(MIDDLEWARE_NAME);
    this.clients.ddb.middlewareStack.remove(MIDDLEWARE_NAME);
  }
}
