import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Props of {@link SecureBucket}. */
export interface SecureBucketProps {
  /** Bucket that receives this bucket's server access logs; none for the log bucket itself. */
  serverAccessLogsBucket?: s3.IBucket;
  serverAccessLogsPrefix?: string;
  /** Send S3 events to EventBridge (the ingest bucket). @default false */
  eventBridgeEnabled?: boolean;
  lifecycleRules?: s3.LifecycleRule[];
  /** @default RemovalPolicy.RETAIN */
  removalPolicy?: RemovalPolicy;
  /** Leave object ownership to CDK (a log target may need ACL delivery). @default BUCKET_OWNER_ENFORCED */
  objectOwnership?: s3.ObjectOwnership | null;
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
      encryption: s3.BucketEncryption.S3_MANAGED,
      versioned: true,
      objectOwnership:
        props.objectOwnership === null
          ? undefined
          : (props.objectOwnership ?? s3.ObjectOwnership.BUCKET_OWNER_ENFORCED),
      eventBridgeEnabled: props.eventBridgeEnabled ?? false,
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      serverAccessLogsPrefix: props.serverAccessLogsPrefix,
      lifecycleRules: props.lifecycleRules,
      removalPolicy,
      autoDeleteObjects: false,
    });
  }
}

/** Props of {@link IngestBuckets}. */
export interface IngestBucketsProps {
  /** Days reports are kept. @default 365 */
  reportRetentionDays?: number;
  /** Days noncurrent versions of ingested objects are kept. @default 30 */
  ingestNoncurrentDays?: number;
  /** @default RemovalPolicy.RETAIN */
  removalPolicy?: RemovalPolicy;
}

/**
 * The pipeline's storage: the ingest bucket (EventBridge notifications on), the reports bucket, and
 * the bucket both write their server access logs to.
 */
export class IngestBuckets extends Construct {
  readonly ingest: s3.Bucket;
  readonly reports: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: IngestBucketsProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy;
    this.accessLogs = new SecureBucket(this, 'AccessLogs', {
      removalPolicy,
      objectOwnership: null,
      lifecycleRules: [{ expiration: Duration.days(90), noncurrentVersionExpiration: Duration.days(1) }],
    }).bucket;
    this.ingest = new SecureBucket(this, 'Ingest', {
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
    }).bucket;
    this.reports = new SecureBucket(this, 'Reports', {
      removalPolicy,
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
