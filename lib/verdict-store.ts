import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { CONTENT_INDEX, TABLE_KEYS, UPLOAD_INDEX } from '../lambdas/core/store/verdict-store';

/** Props of {@link VerdictStoreTable}. */
export interface VerdictStoreTableProps {
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Encrypt the table with this KMS key. @default an AWS-managed key */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The single table for samples, engine results, object records, in-flight locks and rate counters:
 * on-demand, point-in-time recovery, a TTL attribute that expires cached verdicts and stale locks,
 * the index of unfinished uploads by time that the re-drive sweep queries ({@link UPLOAD_INDEX}), and
 * the index of verdicted uploads by content that a release re-tags ({@link CONTENT_INDEX}).
 */
export class VerdictStoreTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: VerdictStoreTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partition, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sort, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE_KEYS.ttl,
      ...(props.encryptionKey
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }
        : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // Both indexes are contracts with the store (`lambdas/core/store/verdict-store.ts`): keys and projections from there.
    for (const index of [UPLOAD_INDEX, CONTENT_INDEX])
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partition, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sort, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...index.projected],
      });
  }
}
