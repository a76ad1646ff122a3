import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Props of {@link SecureBucket}. */
export interface SecureBucketProps {
  /** Bucket that receives this bucket's server access logs; none for the log bucket itself. */
  readonly serverAccessLogsBucket?: s3.IBucket;
  readonly serverAccessLogsPrefix?: string;
  /** Send S3 events to EventBridge (the ingest bucket). @default false */
  readonly eventBridgeEnabled?: boolean;
  readonly lifecycleRules?: s3.LifecycleRule[];
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Leave object ownership to CDK (a log target may need ACL delivery). @default BUCKET_OWNER_ENFORCED */
  readonly objectOwnership?: s3.ObjectOwnership | null;
  /** S3 Inventory configurations (CDK adds the destination's bucket policy when it is a bucket of this stack). */
  readonly inventories?: s3.Inventory[];
  /**
   * Encrypt with this KMS key (SSE-KMS, with S3 Bucket Keys to keep KMS requests few) instead of S3's own.
   * @default S3-managed encryption
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * A bucket with Sandtrap's defaults: public access blocked, TLS only, S3-managed encryption,
 * versioning, owner-enforced object ownership, and access logs where a log bucket is given.
 */
export class SecureBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      ...(props.encryptionKey
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      versioned: true,
      objectOwnership:
        props.objectOwnership === null
          ? undefined
          : (props.objectOwnership ?? s3.ObjectOwnership.BUCKET_OWNER_ENFORCED),
      eventBridgeEnabled: props.eventBridgeEnabled ?? false,
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      serverAccessLogsPrefix: props.serverAccessLogsPrefix,
      lifecycleRules: props.lifecycleRules,
      inventories: props.inventories,
      removalPolicy,
      autoDeleteObjects: false,
    });
  }
}

/** The ingest bucket's S3 Inventory, which the re-drive sweep reads to find uploads whose event was lost. */
export const INGEST_INVENTORY = {
  id: 'sandtrap-sweep',
  /** Key prefix of every delivery in the inventory bucket. */
  destinationPrefix: 'ingest',
} as const;

/** Props of {@link IngestBuckets}. */
export interface IngestBucketsProps {
  /** Days reports are kept. @default 365 */
  readonly reportRetentionDays?: number;
  /** Days noncurrent versions of ingested objects are kept. @default 30 */
  readonly ingestNoncurrentDays?: number;
  /** Only objects under this prefix are analysed, so only they are inventoried. @default every object */
  readonly ingestPrefix?: string;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** The key the reports bucket is encrypted with. @default S3-managed encryption */
  readonly reportsKey?: kms.IKey;
  /** Whether to make the ingest bucket (and its inventory). @default true */
  readonly ingestBucket?: boolean;
}

/**
 * The pipeline's storage: the ingest bucket (EventBridge notifications on, a daily S3 Inventory of
 * every version), the reports bucket, the inventory bucket, and the bucket all of them write their
 * server access logs to.
 *
 * The inventory goes to a bucket of its own rather than under a prefix of the reports bucket: S3
 * writes it as a service principal, whose grant then sits in a bucket policy that holds nothing else;
 * readers of reports see no inventory of every upload's key (the inventory names every file anyone
 * uploaded, the reports only analysed ones); and inventories expire after days where reports are
 * kept for a year.
 */
export class IngestBuckets extends Construct {
  /** The ingest bucket, unless `ingestBucket: false`. */
  readonly ingestBucket?: s3.Bucket;
  readonly reports: s3.Bucket;
  /** Where the ingest bucket's S3 Inventory goes; none without an ingest bucket. */
  readonly inventory?: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  /** Where the ingest bucket's inventory deliveries are: `<destination prefix>/<ingest bucket>/<config id>/`. */
  readonly inventoryPrefix: string;

  constructor(scope: Construct, id: string, props: IngestBucketsProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy;
    this.accessLogs = new SecureBucket(this, 'AccessLogs', {
      removalPolicy,
      objectOwnership: null,
      lifecycleRules: [{ expiration: Duration.days(90), noncurrentVersionExpiration: Duration.days(1) }],
    }).bucket;
    if (props.ingestBucket === false) {
      this.inventoryPrefix = '';
      this.reports = this.makeReports(props);
      return;
    }
    this.inventory = new SecureBucket(this, 'Inventory', {
      removalPolicy,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'inventory/',
      // The sweep reads only the newest delivery; a week of older ones is kept to look into.
      lifecycleRules: [
        {
          expiration: Duration.days(8),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    }).bucket;
    this.ingestBucket = new SecureBucket(this, 'Ingest', {
      removalPolicy,
      eventBridgeEnabled: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'ingest/',
      lifecycleRules: [
        {
          noncurrentVersionExpiration: Duration.days(props.ingestNoncurrentDays ?? 30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      inventories: [
        {
          inventoryId: INGEST_INVENTORY.id,
          destination: { bucket: this.inventory, prefix: INGEST_INVENTORY.destinationPrefix },
          frequency: s3.InventoryFrequency.DAILY,
          format: s3.InventoryFormat.CSV,
          // Every version is an upload of its own, overwritten ones included.
          includeObjectVersions: s3.InventoryObjectVersion.ALL,
          // What an Object Created event carries, which the sweep re-drives with.
          optionalFields: ['Size', 'LastModifiedDate', 'ETag'],
          ...(props.ingestPrefix ? { objectsPrefix: props.ingestPrefix } : {}),
        },
      ],
    }).bucket;
    this.inventoryPrefix = `${INGEST_INVENTORY.destinationPrefix}/${this.ingestBucket.bucketName}/${INGEST_INVENTORY.id}/`;
    // CDK's grant to S3 names the source bucket's ARN, which holds no account: a bucket of that name
    // in another account (once ours is gone) must not deliver here either.
    this.inventory.addToResourcePolicy(
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.inventory.arnForObjects('*')],
        conditions: { StringNotEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.reports = this.makeReports(props);
  }

  /** The ingest bucket; an error naming this construct when it was not made. */
  get ingest(): s3.Bucket {
    if (!this.ingestBucket) throw new Error(`${this.node.path}: made without an ingest bucket (ingestBucket: false)`);
    return this.ingestBucket;
  }

  private makeReports(props: IngestBucketsProps): s3.Bucket {
    return new SecureBucket(this, 'Reports', {
      ...(props.reportsKey ? { encryptionKey: props.reportsKey } : {}),
      removalPolicy: props.removalPolicy,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'reports/',
      lifecycleRules: [
        {
          expiration: Duration.days(props.reportRetentionDays ?? 365),
          noncurrentVersionExpiration: Duration.days(7),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    }).bucket;
  }
}
