import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TAG_VERDICT } from '../lambdas/core/contracts/pipeline';

/** Props of {@link ReadBlockingPolicy}. */
export interface ReadBlockingPolicyProps {
  bucket: s3.IBucket;
  /** Roles that may read any object: the pipeline's functions. */
  pipelineRoles: iam.IRole[];
  /** Human or automation roles that may read unverdicted or non-benign objects too. */
  adminRoleArns?: string[];
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
 * The exemption names each role and its sessions. AWS evaluates `aws:PrincipalArn` of a role session
 * as the role's ARN, so the role ARNs are what matters there; emulators that report the session's
 * ARN instead (MiniStack 1.5.33) are served by the `assumed-role/<name>/*` patterns, which only
 * sessions of those same roles can match.
 */
export class ReadBlockingPolicy extends Construct {
  constructor(scope: Construct, id: string, props: ReadBlockingPolicyProps) {
    super(scope, id);
    const stack = Stack.of(this);
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
    props.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyReadUntilVerdictBenign',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [props.bucket.arnForObjects('*')],
        conditions: {
          StringNotEquals: { [`s3:ExistingObjectTag/${TAG_VERDICT}`]: 'benign' },
          ArnNotLike: { 'aws:PrincipalArn': allowed },
        },
      }),
    );
  }
}
