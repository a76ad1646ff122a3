import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TAG_PREFIX, TAG_VERDICT } from '../lambdas/core/contracts/pipeline';

/** Props of {@link ReadBlockingPolicy}. */
export interface ReadBlockingPolicyProps {
  readonly bucket: s3.IBucket;
  /** Roles that may read any object: the pipeline's functions. */
  readonly pipelineRoles: iam.IRole[];
  /**
   * Human or automation roles that may read unverdicted or non-benign objects too, and change the
   * verdict tags (an analyst's release).
   */
  readonly adminRoleArns?: string[];
  /**
   * Whether an object no engine could judge (`sandtrap:verdict=unknown`) opens like a benign one.
   * @default 'block'
   */
  readonly unknown?: 'block' | 'allow';
}

/** `arn:<partition>:sts::<account>:assumed-role/<name>/*` for a literal role ARN (paths are not part of session ARNs). */
export function sessionsOfRoleArn(roleArn: string): string | undefined {
  if (Token.isUnresolved(roleArn)) return undefined;
  const match = /^arn:([^:]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
  return match ? `arn:${match[1]}:sts::${match[2]}:assumed-role/${match[3]}/*` : undefined;
}

/**
 * Denies reading an ingested object until Sandtrap has tagged it benign, for every principal but
 * the pipeline and the named admin roles: a verdict gates access, S3-natively, with no proxy.
 *
 * Since the gate trusts a tag, the tags must be the pipeline's alone:
 * - nobody else may upload an object carrying a `sandtrap:*` tag (`s3:RequestObjectTagKeys`), so an
 *   upload cannot arrive already marked benign;
 * - nobody else may change an ingested object's tags at all. PutObjectTagging replaces the whole
 *   set, so a principal allowed any tag change could write `sandtrap:verdict=benign` or remove ours;
 *   denying the calls outright does not rest on a condition key that an evaluator might not supply
 *   (a missing key would make a conditioned deny not apply: it would fail open). Owners set their
 *   own tags at upload; the pipeline keeps them;
 * - nobody else may copy an object in from another bucket: CopyObject takes the source's tags by
 *   default, so a copy of a file its sender tagged `sandtrap:verdict=benign` in a bucket of their own
 *   would arrive open. Copies within the bucket carry tags only the pipeline wrote.
 *
 * The exemption names each role and its sessions. AWS evaluates `aws:PrincipalArn` of a role session
 * as the role's ARN, so the role ARNs are what matters there; emulators that report the session's
 * ARN instead (MiniStack 1.5.33) are served by the `assumed-role/<name>/*` patterns, which only
 * sessions of those same roles can match.
 */
export class ReadBlockingPolicy extends Construct {
  /** The statements added to the bucket's policy. */
  readonly statements: iam.PolicyStatement[];

  constructor(scope: Construct, id: string, props: ReadBlockingPolicyProps) {
    super(scope, id);
    this.statements = readBlockingStatements(Stack.of(this), props);
    for (const statement of this.statements) props.bucket.addToResourcePolicy(statement);
  }
}

/**
 * The deny statements of {@link ReadBlockingPolicy} for one bucket, for a bucket policy this app
 * does not own (an imported bucket's owner adds them to its policy) as much as for one it does.
 */
export function readBlockingStatements(stack: Stack, props: ReadBlockingPolicyProps): iam.PolicyStatement[] {
  const pipelineSessions = props.pipelineRoles.map((role) =>
    stack.formatArn({
      service: 'sts',
      region: '',
      resource: 'assumed-role',
      resourceName: `${role.roleName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    }),
  );
  const adminSessions = (props.adminRoleArns ?? []).flatMap((arn) => sessionsOfRoleArn(arn) ?? []);
  const allowed = [
    ...props.pipelineRoles.map((role) => role.roleArn),
    ...(props.adminRoleArns ?? []),
    ...pipelineSessions,
    ...adminSessions,
  ];
  const objects = props.bucket.arnForObjects('*');
  const opens = props.unknown === 'allow' ? ['benign', 'unknown'] : ['benign'];
  // Every statement denies, to everyone but the pipeline and the admins, on every object.
  const deny = (sid: string, actions: string[], conditions: Record<string, Record<string, unknown>>) =>
    new iam.PolicyStatement({
      sid,
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions,
      resources: [objects],
      conditions: { ...conditions, ArnNotLike: { 'aws:PrincipalArn': allowed } },
    });
  return [
    deny('DenyReadUntilVerdictBenign', ['s3:GetObject', 's3:GetObjectVersion'], {
      StringNotEquals: { [`s3:ExistingObjectTag/${TAG_VERDICT}`]: opens.length === 1 ? opens[0] : opens },
    }),
    deny('DenyVerdictTagsOnUpload', ['s3:PutObject'], {
      'ForAnyValue:StringLike': { 's3:RequestObjectTagKeys': `${TAG_PREFIX}*` },
    }),
    deny('DenyCopiesFromOtherBuckets', ['s3:PutObject'], {
      Null: { 's3:x-amz-copy-source': 'false' },
      // The header may be given with or without its leading slash.
      StringNotLike: { 's3:x-amz-copy-source': [`${props.bucket.bucketName}/*`, `/${props.bucket.bucketName}/*`] },
    }),
    deny(
      'DenyTagChangesButPipeline',
      ['s3:PutObjectTagging', 's3:PutObjectVersionTagging', 's3:DeleteObjectTagging', 's3:DeleteObjectVersionTagging'],
      {},
    ),
  ];
}
