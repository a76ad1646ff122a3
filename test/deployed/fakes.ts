import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import type { EngineResult } from '../../lambdas/core/contracts/pipeline';
import type { VerdictRecord } from '../../lambdas/core/store/verdict-store';
import type { DeployedClients } from '../../deployed/clients';
import type { ConnectToStack, DeployedStack } from '../../deployed/stack';
import { documentFromRecord } from '../../deployed/verdicts';

/** A deployed stack, its stored verdict and the AWS clients that answer for it, all fake. */

export const SHA = 'a'.repeat(64);
export const STACK: DeployedStack = {
  name: 'Sandtrap',
  ingestBucket: 'ingest',
  sources: [{ bucket: 'ingest', prefixes: [''] }],
  reportsBucket: 'reports',
  table: 'verdicts',
  stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Analysis',
  bus: 'sandtrap',
};
export const ENGINE: EngineResult = {
  engine: 'cape',
  status: 'completed',
  verdict: 'malicious',
  score: 92,
  reportKey: `reports/${SHA}/cape/1.json.gz`,
};
export const RECORD: VerdictRecord = {
  sha256: SHA,
  verdict: 'malicious',
  score: 92,
  engineResults: [ENGINE],
  fileType: 'script-js',
  mimeType: 'text/javascript',
  size: 52,
  sha1: 'b'.repeat(40),
  md5: 'c'.repeat(32),
  analyzedAt: Date.parse('2026-11-22T17:36:29.101Z'),
  durationMs: 301_553,
  reportKey: `reports/${SHA}/verdict.json`,
  object: { bucket: 'ingest', key: 'mail/invoice.js', versionId: 'v1' },
};
export const DOCUMENT = documentFromRecord(RECORD);
/** The DynamoDB item of {@link RECORD}. */
export const VERDICT_ITEM = { pk: `SAMPLE#${SHA}`, sk: 'VERDICT', expiresAt: 1, ...RECORD };

export type Handler = (input: Record<string, unknown>) => unknown;
export type Call = { command: string; input: Record<string, unknown> };

/** Clients whose every `send` is answered by the handler named after the command's class. */
export function fakeClients(handlers: Record<string, Handler>, calls: Call[] = []): DeployedClients {
  const client = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      calls.push({ command: command.constructor.name, input: command.input });
      const handler = handlers[command.constructor.name];
      if (!handler) throw new Error(`unexpected ${command.constructor.name}`);
      return handler(command.input);
    },
    destroy() {},
  };
  return { s3: client, ddb: client, cfn: client, sfn: client, region: 'eu-west-1' } as unknown as DeployedClients;
}

/** An error as the AWS SDK throws it. */
export const sdkError = (name: string, message: string, status?: number) =>
  Object.assign(new Error(message), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });

/** Connects every command to {@link STACK} through `clients`, recording each target and each close. */
export const connectWith =
  (
    clients: DeployedClients,
    seen: { stack?: string; region?: string }[] = [],
    closed: { count: number } = { count: 0 },
  ): ConnectToStack =>
  async (target) => {
    seen.push(target);
    return {
      clients,
      stack: STACK,
      close: () => {
        closed.count++;
      },
    };
  };

/** An S3 `GetObject` answer whose body is `text`. */
export const objectBody = (text: string) => ({
  Body: { transformToByteArray: async () => Buffer.from(text) },
});

/** A request the {@link fakeS3} client received: which object, and how many body bytes came with it. */
export interface S3Request {
  method: string;
  bucket: string;
  key: string;
  bytes: number;
}

/**
 * A real S3 client (signing, checksums, `@aws-sdk/lib-storage` uploads) over an in-memory bucket
 * instead of the network: PUT answers with version `v<n>` and an ETag, GET with the stored bytes,
 * or 404 `NoSuchKey`. Objects are keyed `<bucket>/<key>`.
 */
export function fakeS3(objects: Map<string, Buffer> = new Map(), requests: S3Request[] = []): S3Client {
  let versions = 0;
  return new S3Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'fake' },
    requestHandler: {
      async handle(request: { method: string; hostname: string; path: string; body?: unknown }) {
        const bucket = request.hostname.split('.')[0] ?? '';
        const key = decodeURIComponent(request.path.replace(/^\//, ''));
        const body = request.body;
        const chunks: Buffer[] = [];
        if (body instanceof Readable) for await (const chunk of body) chunks.push(Buffer.from(chunk));
        else if (typeof body === 'string' || body instanceof Uint8Array) chunks.push(Buffer.from(body));
        const sent = Buffer.concat(chunks);
        requests.push({ method: request.method, bucket, key, bytes: sent.length });
        const answer = (statusCode: number, headers: Record<string, string>, bytes: Buffer = Buffer.alloc(0)) => ({
          response: { statusCode, headers, body: Readable.from([bytes]) },
        });
        if (request.method === 'PUT') {
          objects.set(`${bucket}/${key}`, sent);
          return answer(200, { etag: `"etag-${++versions}"`, 'x-amz-version-id': `v${versions}` });
        }
        const stored = objects.get(`${bucket}/${key}`);
        if (stored) return answer(200, { 'content-length': String(stored.length) }, stored);
        return answer(
          404,
          { 'content-type': 'application/xml' },
          Buffer.from('<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>'),
        );
      },
    } as never,
  });
}
