import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TAG_VERDICT } from '../lambdas/core/schemas';

/** Props of {@link ReadBlockingPolicy}. */
export interface ReadBlockingPolicyProps {
  bucket: s3.IBucket;
  /** Roles that may read any object: the pipeline's functions. */
  pipelineRoles: iam.IRole[];
  /** Human or automation roles that may read unverdicted or non-benign objects too. */
  adminRoleArns?: string[];
}

/**
 * Denies reading an ingested object until Sandtrap has tagged it benign, for every principal but
 * the pipeline and the named admin roles: a verdict gates access, S3-natively, with no proxy.
 */
export class ReadBlockingPolicy extends Construct {
  constructor(scope: Construct, id: string, props: ReadBlockingPolicyProps) {
    super(scope, id);
    const allowed = [...props.pipelineRoles.map((role) => role.roleArn), ...(props.adminRoleArns ?? [])];
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
