import { Resource, Stack, Token } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import type { SourceDisclosure } from '../lambdas/core/config/runtime-config';
import { type VendorId, VendorIdSchema } from '../lambdas/core/contracts/pipeline';
import { SandtrapValidationError } from './validation';

import { MAX_SOURCE_PREFIXES } from './config';

export { MAX_SOURCE_PREFIXES };

/** How a source's bucket reports new objects to EventBridge. */
export type SourceEventBridge =
  /**
   * Sandtrap switches EventBridge notifications on: a bucket of this app through its own property, an
   * imported one through CDK's bucket-notifications custom resource, which keeps the bucket's other
   * notification configurations (queues, topics, functions) as they are.
   */
  | 'enable'
  /**
   * The bucket's owner has switched them on and, for a bucket in another account, forwards its
   * `Object Created` events to this account's default bus. Nothing is changed on the bucket.
   */
  | 'enabled-by-owner';

/** How a source's files are watched and what may see them; options of {@link SandtrapSource}. */
export interface SourceOptions {
  /**
   * Only keys under these prefixes are analysed (at most {@link MAX_SOURCE_PREFIXES}); the functions
   * may read only them.
   * @default - every key of the bucket
   */
  readonly prefixes?: readonly string[];
  /**
   * The KMS key the bucket's objects are encrypted with (SSE-KMS). The functions that read a sample
   * (and the one that presigns the detonation's download) are granted `kms:Decrypt` on it; its key
   * policy must let this account's IAM policies use it.
   * @default - the bucket's own `encryptionKey` when it has one, else none (SSE-S3)
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Files of this source may not leave the account: no third-party vendor sandbox receives them,
   * unless named in `vendors`. Static analysis and the detonation run in the account and always apply.
   * @default false
   */
  readonly confidential?: boolean;
  /**
   * The vendors that may receive this source's files (a self-hosted CAPE, say).
   * @default - every configured vendor, or none when `confidential`
   */
  readonly vendors?: readonly VendorId[];
  /** @default 'enable' for a bucket of this account; a bucket of another account must say 'enabled-by-owner' */
  readonly eventBridge?: SourceEventBridge;
  /**
   * Under read-blocking, a bucket this app does not own cannot be given the deny statements (CDK
   * would replace its whole bucket policy). Setting this says that the bucket's owner adds the
   * statements of `Sandtrap.readBlockingStatements(bucket)` to its policy; without it, synth fails.
   * @default false
   */
  readonly readBlockingAppliedByOwner?: boolean;
}

/** A bucket Sandtrap analyses the new objects of: one it created, or one the app already has. */
export interface SandtrapSource extends SourceOptions {
  readonly bucket: s3.IBucket;
}

/** A source as the pipeline's parts use it, validated and with its defaults resolved. */
export interface ResolvedSource {
  readonly bucket: s3.IBucket;
  /** Never empty: `['']` stands for the whole bucket. */
  readonly prefixes: readonly string[];
  readonly encryptionKey?: kms.IKey;
  readonly eventBridge: SourceEventBridge;
  /** Whether the bucket is a resource of this app (its policy and properties are ours to set). */
  readonly owned: boolean;
  readonly readBlockingAppliedByOwner: boolean;
  readonly disclosure?: { readonly confidential: boolean; readonly vendors?: readonly VendorId[] };
}

/** Whether a bucket is defined in this app (an `s3.Bucket`), rather than imported by name or ARN. */
export function isOwnedBucket(bucket: s3.IBucket): boolean {
  return Resource.isOwnedResource(bucket);
}

/**
 * Checks a source against what the pipeline can honour, with errors that name the bucket: prefixes
 * (a bounded number of plain key prefixes), the account the bucket is in (cross-account buckets must
 * forward their events themselves), and that no bucket is attached twice.
 */
export function resolveSource(scope: IConstruct, source: SandtrapSource, existing: readonly ResolvedSource[]) {
  const name = describeBucket(source.bucket);
  const fail = (message: string): never => {
    throw new SandtrapValidationError(scope, `source ${name}: ${message}`);
  };
  const prefixes = [...(source.prefixes ?? [])];
  if (prefixes.length > MAX_SOURCE_PREFIXES) fail(`at most ${MAX_SOURCE_PREFIXES} prefixes, got ${prefixes.length}`);
  for (const prefix of prefixes) {
    if (Token.isUnresolved(prefix)) fail('prefixes must be literal strings');
    if (prefix.length === 0 || prefix.length > 1024)
      fail(`prefix ${JSON.stringify(prefix)} must be 1 to 1024 characters`);
    if (prefix.startsWith('/')) fail(`prefix ${JSON.stringify(prefix)} must not start with "/" (S3 keys do not)`);
    // A wildcard would widen the IAM resources and mean nothing to the event pattern's prefix match.
    if (/[*?]/.test(prefix)) fail(`prefix ${JSON.stringify(prefix)} must not contain * or ?`);
  }
  if (new Set(prefixes).size !== prefixes.length) fail('prefixes repeat');
  if (existing.some((s) => s.bucket === source.bucket || sameName(s.bucket, source.bucket)))
    fail('is attached twice; give one source all its prefixes');
  const stackAccount = Stack.of(scope).account;
  const bucketAccount = source.bucket.env.account;
  const crossAccount =
    !Token.isUnresolved(bucketAccount) && !Token.isUnresolved(stackAccount) && bucketAccount !== stackAccount;
  const eventBridge = source.eventBridge ?? 'enable';
  if (crossAccount && eventBridge === 'enable')
    fail(
      `is in account ${bucketAccount}, not ${stackAccount}: its owner must switch EventBridge notifications on and forward its Object Created events to this account's default bus, then attach it with eventBridge: 'enabled-by-owner'`,
    );
  for (const vendor of source.vendors ?? [])
    if (!VendorIdSchema.safeParse(vendor).success)
      fail(`vendor ${JSON.stringify(vendor)} is not one of ${VendorIdSchema.options.join(', ')}`);
  const disclosure =
    source.confidential !== undefined || source.vendors !== undefined
      ? {
          confidential: source.confidential ?? false,
          ...(source.vendors ? { vendors: [...source.vendors] } : {}),
        }
      : undefined;
  const encryptionKey = source.encryptionKey ?? source.bucket.encryptionKey;
  return {
    bucket: source.bucket,
    prefixes: prefixes.length > 0 ? prefixes : [''],
    ...(encryptionKey ? { encryptionKey } : {}),
    eventBridge,
    owned: isOwnedBucket(source.bucket),
    readBlockingAppliedByOwner: source.readBlockingAppliedByOwner ?? false,
    ...(disclosure ? { disclosure } : {}),
  } satisfies ResolvedSource;
}

/** The ARNs of a source's analysed objects: one per prefix. */
export function sourceObjectArns(source: ResolvedSource): string[] {
  return source.prefixes.map((prefix) => source.bucket.arnForObjects(`${prefix}*`));
}

/** The disclosure rules (runtime settings) a source's own disclosure stands for, one per prefix. */
export function sourceDisclosureRules(source: ResolvedSource): SourceDisclosure[] {
  if (!source.disclosure) return [];
  return source.prefixes.map((prefix) => ({
    bucket: source.bucket.bucketName,
    prefix,
    confidential: source.disclosure?.confidential ?? false,
    ...(source.disclosure?.vendors ? { vendors: [...source.disclosure.vendors] } : {}),
  }));
}

function sameName(a: s3.IBucket, b: s3.IBucket): boolean {
  return !Token.isUnresolved(a.bucketName) && a.bucketName === b.bucketName;
}

function describeBucket(bucket: s3.IBucket): string {
  return Token.isUnresolved(bucket.bucketName) ? bucket.node.path : bucket.bucketName;
}
