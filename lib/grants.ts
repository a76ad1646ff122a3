import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import { CONTENT_INDEX } from '../lambdas/core/store/verdict-store';
import { kmsActionsForAll } from './kms-grants';
import type * as kms from 'aws-cdk-lib/aws-kms';

/** What the grants reach: the resources of one Sandtrap. */
export interface SandtrapGrantTargets {
  readonly ingestBucket: s3.IBucket;
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
  constructor(private readonly targets: SandtrapGrantTargets) {}

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
    return this.targets.ingestBucket.arnForObjects(`${this.targets.ingestPrefix ?? ''}*`);
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
    const { table, ingestBucket, quarantineBucket, bus } = this.targets;
    const objects = [ingestBucket, ...(quarantineBucket ? [quarantineBucket] : [])].map((b) => b.arnForObjects('*'));
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
      .combine(
        iam.Grant.addToPrincipal({
          grantee,
          actions: ['s3:GetObject', 's3:GetObjectTagging', 's3:PutObjectTagging'],
          resourceArns: objects,
        }),
      )
      .combine(
        this.withKms(
          iam.Grant.addToPrincipal({ grantee, actions: ['events:PutEvents'], resourceArns: [bus.eventBusArn] }),
          grantee,
          [{ on: 'table', actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'] }],
        ),
      );
  }

  /** A backfill (`sandtrap scan`): listing the analysed prefix and starting one execution per object. */
  scan(grantee: iam.IGrantable): iam.Grant {
    const prefix = this.targets.ingestPrefix;
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [this.targets.ingestBucket.bucketArn],
      ...(prefix ? { conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } } } : {}),
    }).combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['states:StartExecution'],
        resourceArns: [this.targets.stateMachine.stateMachineArn],
      }),
    );
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
