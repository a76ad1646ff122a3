/**
 * Every wildcard the stack's IAM policies may contain, with the reason it is there. The IAM test
 * fails on a wildcard action or resource that none of these explains.
 */
export const WILDCARD_JUSTIFICATIONS: { pattern: RegExp; reason: string }[] = [
  {
    pattern: /^\*$/,
    reason:
      'Resource "*": actions without resource-level permissions (X-Ray PutTraceSegments, Step Functions log delivery, ecs:DescribeTasks/StopTask on tasks not yet created, ec2:DescribePrefixLists, ecr:GetAuthorizationToken, s3:PutBucketNotification of CDK\'s notification handler).',
  },
  {
    pattern: /BucketsIngestBucket[0-9A-F]+.*\/\*/,
    reason: 'Object-level actions on the ingest bucket: any uploaded key may be analysed, tagged or quarantined.',
  },
  {
    pattern: /BucketsReportsBucket[0-9A-F]+.*\/reports\/\*/,
    reason: 'Reports are written and read under reports/<sha256>/, keys not known in advance.',
  },
  {
    pattern: /BucketsReportsBucket[0-9A-F]+.*\/rules\/\*|:s3:::[a-z0-9.-]+\/([A-Za-z0-9._-]+\/)*\*/,
    reason:
      "User YARA rule packs are read under their configured prefix (rules/ by default); pack and file names are the user's.",
  },
  { pattern: /Quarantine[A-Za-z0-9]*Bucket[0-9A-F]+.*\/\*/, reason: 'Quarantined objects keep their original keys.' },
  {
    pattern: /Workflow[A-Za-z]+Fn[A-Za-z0-9]+.*:\*/,
    reason: 'Step Functions may invoke a function and its versions (function ARN:*).',
  },
  {
    pattern: /DetonationTaskDefinition[0-9A-F]+.*:\*/,
    reason: 'ecs:RunTask on the detonation task definition family, any revision.',
  },
  { pattern: /log-group:.*:\*/, reason: 'CloudWatch Logs streams inside the function and task log groups.' },
];
