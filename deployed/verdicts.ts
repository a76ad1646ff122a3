import { GetObjectCommand } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { reportKeys } from '../lambdas/core/contracts/report-keys';
import { VerdictDocumentSchema, type VerdictDocument } from '../lambdas/core/contracts/pipeline';
import { verdictDetailOf } from '../lambdas/core/verdict/verdict-detail';
import { VerdictStore, type VerdictRecord } from '../lambdas/core/store/verdict-store';
import type { DeployedClients } from './clients';
import { awsCall, DeployedStackError, UnknownSampleError } from './errors';
import { callOn, type DeployedStack } from './stack';

/** A sha256 as the CLI accepts it: 64 hex digits, either case (stored keys are lowercase). */
export const Sha256ArgSchema = z
  .string()
  .trim()
  .regex(/^[0-9a-fA-F]{64}$/, { error: (issue) => `${JSON.stringify(issue.input)} is not a sha256 (64 hex digits)` })
  .transform((value) => value.toLowerCase());

/**
 * The verdict document `reports/<sha256>/verdict.json` holds. Unknown fields are kept (`loose`), so
 * that `sandtrap report --json` shows what a newer pipeline wrote, not what this CLI knows of.
 */
export const StoredVerdictDocumentSchema = VerdictDocumentSchema.loose();

/** The stored verdict of a content hash (DynamoDB), or {@link UnknownSampleError}. */
export async function readVerdictRecord(
  clients: DeployedClients,
  stack: DeployedStack,
  sha256: string,
): Promise<VerdictRecord> {
  const store = new VerdictStore(clients.ddb, stack.table);
  const record = await awsCall(callOn(clients, 'dynamodb:GetItem', `table ${stack.table}`), () =>
    store.getVerdict(sha256),
  );
  if (!record) throw new UnknownSampleError(sha256, `stack ${stack.name} (table ${stack.table})`);
  return record;
}

/**
 * The verdict document of a stored verdict record, in the shape `sandtrap analyze --json` prints:
 * the record names the upload it was analysed from; `cached` is false because the record is the
 * analysis itself.
 */
export function documentFromRecord(record: VerdictRecord): VerdictDocument {
  const object = record.object ?? { bucket: '', key: '', versionId: null };
  return VerdictDocumentSchema.parse({
    ...verdictDetailOf(record, object, false, record.durationMs),
    sha1: record.sha1,
    md5: record.md5,
    mimeType: record.mimeType,
    engineResults: record.engineResults,
  });
}

function isNoSuchKey(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/** An object of the reports bucket, whole (reports are small: HTML, PDF), or {@link UnknownSampleError} for `sha256`. */
export async function readReportObject(
  clients: DeployedClients,
  stack: DeployedStack,
  sha256: string,
  key: string,
): Promise<Uint8Array> {
  const url = `s3://${stack.reportsBucket}/${key}`;
  return awsCall(callOn(clients, 's3:GetObject', url), async () => {
    try {
      const object = await clients.s3.send(new GetObjectCommand({ Bucket: stack.reportsBucket, Key: key }));
      return (await object.Body?.transformToByteArray()) ?? new Uint8Array();
    } catch (error) {
      if (isNoSuchKey(error)) throw new UnknownSampleError(sha256, url);
      throw error;
    }
  });
}

/** The verdict document from the reports bucket (`reports/<sha256>/verdict.json`), or {@link UnknownSampleError}. */
export async function readVerdictDocument(
  clients: DeployedClients,
  stack: DeployedStack,
  sha256: string,
): Promise<VerdictDocument> {
  const key = reportKeys.verdict(sha256);
  const url = `s3://${stack.reportsBucket}/${key}`;
  const text = Buffer.from(await readReportObject(clients, stack, sha256, key)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DeployedStackError(`${url} is not JSON`);
  }
  const parsed = StoredVerdictDocumentSchema.safeParse(json);
  if (!parsed.success)
    throw new DeployedStackError(`${url} is not a verdict document: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
