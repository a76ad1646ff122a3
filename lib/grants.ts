import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import { CONTENT_INDEX } from '../lambdas/core/store/verdict-store';
import { kmsActionsForAll } from './kms-grants';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { ResolvedSource } from './sources';

/** What the grants reach: the resources of one Sandtrap. */
export interface SandtrapGrantTargets {
  /**
   * The bucket `sandtrap submit` uploads to (the one Sandtrap created).
   * @default - none: {@link SandtrapGrants.submit} refuses
   */
  readonly ingestBucket?: s3.IBucket;
  /**
   * Every source bucket, which releases re-tag and backfills list. The list is read when a grant is
   * made; a source attached later reaches the grantees of earlier grants through
   * {@link SandtrapGrants.sourceAttached}.
   * @default - the ingest bucket alone, with `ingestPrefix`
   */
  readonly sources?: readonly ResolvedSource[];
  readonly reportsBucket: s3.IBucket;
  readonly quarantineBucket?: s3.IBucket;
  readonly table: dynamodb.ITable;
  readonly bus: events.IEventBus;
  readonly stateMachine: sfn.IStateMachine;
  /** Only keys under this prefix are analysed, so only they may be submitted or scanned. */
  readonly ingestPrefix?: string;
  /** The customer key the reports bucket and the table are encrypted with, if any. */
  readonly encryptionKey?: kms.IKey;
}

/**
 * What the `sandtrap` commands need of a deployed stack, as least-privilege grants on exact action
 * lists (as aws-cdk-lib's own `grant*` methods do): a grantee gets what one use needs and nothing else.
 * The stack's `grantReadVerdicts`, `grantReadReports`, `grantSubmit`, `grantRelease` and `grantScan`
 * delegate here.
 */
export class SandtrapGrants {
  /** Who was granted release or scan: a source attached after their grant reaches them too. */
  private readonly sourceGrantees: { grantee: iam.IGrantable; use: 'release' | 'scan' }[] = [];

  constructor(private readonly targets: SandtrapGrantTargets) {}

  /**
   * Extends the release and scan grants made so far to a source attached after them, so that an app
   * may grant before it attaches (`grantRelease(role)`, then `addSource(bucket)`) and its role still
   * reaches every source.
   */
  sourceAttached(source: ResolvedSource): void {
    for (const { grantee, use } of this.sourceGrantees) {
      if (use === 'release') this.releaseIn(grantee, [source], []);
      else this.listIn(grantee, [source]);
    }
  }

  /** The KMS rights these grants need when the reports and the table are under a customer key. */
  private kms(
    grantee: iam.IGrantable,
    grants: { on: 'reports' | 'table'; actions: string[] }[],
  ): iam.Grant | undefined {
    const key = this.targets.encryptionKey;
    const actions = kmsActionsForAll(grants);
    return key && actions.length > 0
      ? iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [key.keyArn] })
      : undefined;
  }

  private withKms(grant: iam.Grant, grantee: iam.IGrantable, grants: { on: 'reports' | 'table'; actions: string[] }[]) {
    const kms = this.kms(grantee, grants);
    return kms ? grant.combine(kms) : grant;
  }

  private get uploads(): string {
    const bucket = this.targets.ingestBucket;
    if (!bucket) throw new Error('this Sandtrap has no ingest bucket of its own to submit files to');
    return bucket.arnForObjects(`${this.targets.ingestPrefix ?? ''}*`);
  }

  /** The sources the grants reach: those given, or the ingest bucket with its prefix. */
  private get sources(): readonly Pick<ResolvedSource, 'bucket' | 'prefixes' | 'encryptionKey'>[] {
    if (this.targets.sources) return this.targets.sources;
    const bucket = this.targets.ingestBucket;
    return bucket ? [{ bucket, prefixes: [this.targets.ingestPrefix ?? ''] }] : [];
  }

  /** Stored verdicts (`sandtrap status`): the table's verdict items and the verdict documents. */
  readVerdicts(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
      resourceArns: [this.targets.table.tableArn],
    }).combine(this.withKms(this.readReports(grantee), grantee, [{ on: 'table', actions: ['dynamodb:GetItem'] }]));
  }

  /** Reports (`sandtrap report`): `reports/*` of the reports bucket, the verdict document, HTML and indicators. */
  readReports(grantee: iam.IGrantable): iam.Grant {
    return this.withKms(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:GetObject'],
        resourceArns: [this.targets.reportsBucket.arnForObjects('reports/*')],
      }),
      grantee,
      [{ on: 'reports', actions: ['s3:GetObject'] }],
    );
  }

  /**
   * Submitting files (`sandtrap submit --wait`): uploads under the analysed prefix, and following the
   * upload's record and, where an endpoint leaves the version out of its events, its execution.
   */
  submit(grantee: iam.IGrantable): iam.Grant {
    const stateMachine = this.targets.stateMachine.stateMachineArn;
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resourceArns: [this.uploads],
    })
      .combine(
        iam.Grant.addToPrincipal({
          grantee,
          actions: ['dynamodb:GetItem'],
          resourceArns: [this.targets.table.tableArn],
        }),
      )
      .combine(iam.Grant.addToPrincipal({ grantee, actions: ['states:ListExecutions'], resourceArns: [stateMachine] }))
      .combine(
        iam.Grant.addToPrincipal({
          grantee,
          actions: ['states:DescribeExecution'],
          resourceArns: [executionsOf(this.targets.stateMachine)],
        }),
      );
  }

  /**
   * An analyst's release (`sandtrap release`): the allow-list entry and the stored verdict, the
   * objects of the content (found through the content index) re-tagged where they are, the event.
   * Under read-blocking the grantee's role must also be one of `adminRoleArns`: the bucket policy
   * denies everyone else changing the objects' tags, whatever their own policy allows.
   */
  release(grantee: iam.IGrantable): iam.Grant {
    const { table, quarantineBucket, bus } = this.targets;
    this.sourceGrantees.push({ grantee, use: 'release' });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resourceArns: [table.tableArn],
    })
      .combine(
        iam.Grant.addToPrincipal({
          grantee,
          actions: ['dynamodb:Query'],
          resourceArns: [`${table.tableArn}/index/${CONTENT_INDEX.name}`],
        }),
      )
      .combine(this.releaseIn(grantee, this.sources, quarantineBucket ? [quarantineBucket.arnForObjects('*')] : []))
      .combine(
        this.withKms(
          iam.Grant.addToPrincipal({ grantee, actions: ['events:PutEvents'], resourceArns: [bus.eventBusArn] }),
          grantee,
          [{ on: 'table', actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'] }],
        ),
      );
  }

  /** A release's rights on the objects of `sources` (and `others`): re-tagging them, and reading them to hash. */
  private releaseIn(
    grantee: iam.IGrantable,
    sources: readonly Pick<ResolvedSource, 'bucket' | 'prefixes' | 'encryptionKey'>[],
    others: string[],
  ): iam.Grant {
    const objects = [
      // Only analysed objects have a verdict to release: each source's prefixes.
      ...sources.flatMap((source) => source.prefixes.map((prefix) => source.bucket.arnForObjects(`${prefix}*`))),
      ...others,
    ];
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject', 's3:GetObjectTagging', 's3:PutObjectTagging'],
      resourceArns: objects,
    });
    // Releasing by S3 URI reads the object to hash it: a source under SSE-KMS needs its key.
    const sourceKeys = [...new Set(sources.flatMap((s) => (s.encryptionKey ? [s.encryptionKey.keyArn] : [])))];
    return sourceKeys.length > 0
      ? grant.combine(iam.Grant.addToPrincipal({ grantee, actions: ['kms:Decrypt'], resourceArns: sourceKeys }))
      : grant;
  }

  /** A backfill (`sandtrap scan`): listing the analysed prefix and starting one execution per object. */
  scan(grantee: iam.IGrantable): iam.Grant {
    this.sourceGrantees.push({ grantee, use: 'scan' });
    const start = iam.Grant.addToPrincipal({
      grantee,
      actions: ['states:StartExecution'],
      resourceArns: [this.targets.stateMachine.stateMachineArn],
    });
    return this.sources.length > 0 ? start.combine(this.listIn(grantee, this.sources)) : start;
  }

  /** Each source's listing, limited to its prefixes when it has any. */
  private listIn(grantee: iam.IGrantable, sources: readonly Pick<ResolvedSource, 'bucket' | 'prefixes'>[]): iam.Grant {
    return sources
      .map((source) => {
        const prefixes = source.prefixes.filter((p) => p !== '');
        return iam.Grant.addToPrincipal({
          grantee,
          actions: ['s3:ListBucket'],
          resourceArns: [source.bucket.bucketArn],
          ...(prefixes.length > 0 ? { conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } } } : {}),
        });
      })
      .reduce((all, grant) => all.combine(grant));
  }
}

/** `arn:…:states:…:execution:<state machine name>:*`: the executions of one state machine. */
function executionsOf(stateMachine: sfn.IStateMachine): string {
  const stack = Stack.of(stateMachine);
  const name = Arn.split(stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName;
  return stack.formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${name}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
