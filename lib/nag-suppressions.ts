import type { IConstruct } from 'constructs';
import cdkNag from 'cdk-nag';

// cdk-nag is a jsii CommonJS module whose named exports Node's ESM loader cannot see.
const { NagSuppressions } = cdkNag;

/**
 * The cdk-nag AwsSolutions findings the pipeline accepts, each with its reason, on Sandtrap's own
 * resources only (the construct and everything in it): an app embedding Sandtrap keeps every finding
 * on its own resources. Logical ids carry the ids of the constructs above Sandtrap's, hence the
 * patterns' open start. Anything not listed here fails the nag test.
 */
export function applyNagSuppressions(scope: IConstruct): void {
  NagSuppressions.addResourceSuppressions(
    scope,
    [
      {
        id: 'AwsSolutions-IAM4',
        reason:
          'Lambda roles use AWSLambdaBasicExecutionRole (CloudWatch Logs writes only), the minimal managed policy for function logging.',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Object-level S3 actions must name objects: the functions write under reports/* of the reports bucket; report keys are not known in advance.',
        appliesTo: [{ regex: '/^Resource::<[A-Za-z0-9]*BucketsReportsBucket[0-9A-F]+\\.Arn>\\/reports\\/\\*$/g' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "Quarantine keeps an object's original key: Finalize writes and tags any key of the quarantine bucket (arn/*), keys not known in advance.",
        appliesTo: [{ regex: '/^Resource::<[A-Za-z0-9]*Quarantine[A-Za-z0-9]*Bucket[0-9A-F]+\\.Arn>\\/\\*$/g' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'X-Ray PutTraceSegments/PutTelemetryRecords, Step Functions log delivery, and the ecs:StopTask/DescribeTasks that runTask.sync needs on tasks whose ARNs do not exist yet, only accept Resource "*" (service limitation).',
        appliesTo: ['Resource::*'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'CDK grants Step Functions lambda:InvokeFunction on the function ARN and its versions (arn:*), so that qualified invocations work.',
        appliesTo: [
          { regex: '/^Resource::<[A-Za-z0-9]*WorkflowVendor[A-Za-z]+Fn[A-Za-z0-9]+\\.Arn>:\\*$/g' },
          { regex: '/^Resource::<[A-Za-z0-9]*Workflow[A-Za-z]+Fn[A-Za-z0-9]+\\.Arn>:\\*$/g' },
        ],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Step Functions runs the detonation task definition by family; its revisions (family:*) are what ecs:RunTask is granted on.',
        appliesTo: [{ regex: '/^Resource::arn:.*DetonationTaskDefinition[0-9A-F]+.*:\\*$/g' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "The static engine reads the user YARA rule packs under their configured prefix (rules/ by default): the packs and their files are the user's to name, and a new pack must apply without a redeploy.",
        appliesTo: [
          { regex: '/^Resource::<[A-Za-z0-9]*BucketsReportsBucket[0-9A-F]+\\.Arn>\\/([A-Za-z0-9._-]+\\/)*\\*$/g' },
          { regex: '/^Resource::arn:<AWS::Partition>:s3:::[a-z0-9.-]+\\/([A-Za-z0-9._-]+\\/)*\\*$/g' },
        ],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "S3 Inventory names its delivery folders and data files itself (a timestamp, a UUID): the re-drive sweep reads objects under the ingest bucket's inventory prefix of the inventory bucket (ingest/<ingest bucket>/sandtrap-sweep/*), nothing else.",
        appliesTo: [
          {
            regex:
              '/^Resource::<[A-Za-z0-9]*BucketsInventoryBucket[0-9A-F]+\\.Arn>\\/ingest\\/<[A-Za-z0-9]*BucketsIngestBucket[0-9A-F]+>\\/sandtrap-sweep\\/\\*$/g',
          },
        ],
      },
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'Vendor API keys are issued by the vendors; they cannot be rotated by a Lambda, so they are rotated by hand.',
      },
      {
        id: 'AwsSolutions-L1',
        reason:
          'Functions are pinned to Node.js 22 and (the static engine) Python 3.12, the runtimes the code and its bundles are built and tested for: the static bundle holds wheels built for that Python.',
      },
    ],
    true,
  );
}
