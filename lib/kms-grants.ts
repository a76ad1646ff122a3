import type { GrantTarget } from './steps';

/**
 * What DynamoDB needs of a principal's KMS rights on a table encrypted with a customer key: the
 * actions aws-cdk-lib's table grants use, without their wildcards (`GenerateDataKey*`, `ReEncrypt*`),
 * since items are only read and written, never re-encrypted under another key.
 */
const TABLE_READ = ['kms:Decrypt', 'kms:DescribeKey'];
const TABLE_WRITE = [...TABLE_READ, 'kms:Encrypt', 'kms:GenerateDataKey'];

/**
 * The KMS actions a grant on a target needs when Sandtrap's reports and table are encrypted with a
 * customer key: reading an object or an item decrypts; writing an object needs a data key (and
 * Decrypt for a multipart upload's parts); writing an item, DynamoDB's write set. Targets the key
 * does not encrypt (the ingest bucket, secrets, the bus) need none.
 */
export function kmsActionsFor(on: GrantTarget | 'reports' | 'table', actions: readonly string[]): string[] {
  const writes = actions.some((a) => /:(Put|Update|Delete|BatchWrite|AbortMultipart)/.test(a));
  const reads = actions.some((a) => /:(Get|Query|Scan|BatchGet)/.test(a));
  if (on === 'reportObjects' || on === 'reports')
    return [...new Set([...(reads || writes ? ['kms:Decrypt'] : []), ...(writes ? ['kms:GenerateDataKey'] : [])])];
  if (on === 'table' || on === 'uploadIndex') return writes ? TABLE_WRITE : reads ? TABLE_READ : [];
  return [];
}

/** The union of {@link kmsActionsFor} over several grants, sorted, for one statement on the key. */
export function kmsActionsForAll(
  grants: readonly { on: GrantTarget | 'reports' | 'table'; actions: readonly string[] }[],
): string[] {
  return [...new Set(grants.flatMap((g) => kmsActionsFor(g.on, g.actions)))].sort();
}
