import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE_KEYS } from '../lambdas/core/store/verdict-store';

/** Props of {@link VerdictStoreTable}. */
export interface VerdictStoreTableProps {
  /** @default RemovalPolicy.RETAIN */
  removalPolicy?: RemovalPolicy;
}

/**
 * The single table for samples, engine results, object records, in-flight locks and rate counters:
 * on-demand, point-in-time recovery, and a TTL attribute that expires cached verdicts and stale locks.
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
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
