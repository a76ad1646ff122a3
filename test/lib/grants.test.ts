import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { SandtrapStack } from '../../lib/sandtrap-stack';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

/**
 * The stack's `grant*` methods: each command's grantee gets the exact actions that command uses, on
 * the stack's own resources, and nothing with a wildcard action.
 */
describe('grants for the sandtrap commands', () => {
  let statements: Record<string, Statement[]>;
  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new SandtrapStack(app, 'Granting', {
      config: {
        ingestPrefix: 'uploads/',
        actions: { quarantine: { enabled: true }, readBlocking: { enabled: true } },
      },
    });
    const roles: Record<string, iam.Role> = {};
    for (const name of ['Reader', 'Submitter', 'Releaser', 'Scanner']) {
      roles[name] = new iam.Role(stack, name, { assumedBy: new iam.AccountRootPrincipal() });
    }
    stack.grantReadVerdicts(roles.Reader!);
    stack.grantSubmit(roles.Submitter!);
    stack.grantRelease(roles.Releaser!);
    stack.grantScan(roles.Scanner!);
    const template = Template.fromStack(stack);
    statements = {};
    for (const [name, role] of Object.entries(roles)) {
      const roleId = Stack.of(role).getLogicalId(role.node.defaultChild as iam.CfnRole);
      statements[name] = Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId))
        .flatMap((p) => p.Properties.PolicyDocument.Statement);
    }
  }, 120_000);

  const actionsOf = (name: string) => statements[name]!.flatMap((s) => [s.Action].flat()).sort();

  it('gives each command exactly the actions it calls', () => {
    expect(actionsOf('Reader')).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 's3:GetObject']);
    expect(actionsOf('Submitter')).toEqual([
      'dynamodb:GetItem',
      's3:AbortMultipartUpload',
      's3:PutObject',
      'states:DescribeExecution',
      'states:ListExecutions',
    ]);
    expect(actionsOf('Releaser')).toEqual([
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      's3:GetObject',
      's3:GetObjectTagging',
      's3:PutObjectTagging',
    ]);
    expect(actionsOf('Scanner')).toEqual(['s3:ListBucket', 'states:StartExecution']);
    for (const name of Object.keys(statements))
      for (const action of actionsOf(name)) expect(action, `${name}: ${action}`).not.toContain('*');
  });

  it('scopes them to the stack’s resources: reports/*, the analysed prefix, the content index', () => {
    const resources = (name: string, action: string) =>
      JSON.stringify(statements[name]!.filter((s) => [s.Action].flat().includes(action)).map((s) => s.Resource));
    expect(resources('Reader', 's3:GetObject')).toContain('/reports/*');
    expect(resources('Submitter', 's3:PutObject')).toContain('/uploads/*');
    expect(resources('Releaser', 'dynamodb:Query')).toContain('/index/uploads-by-content');
    // The release re-tags quarantined copies too: two buckets' objects.
    expect(statements.Releaser!.find((s) => [s.Action].flat().includes('s3:PutObjectTagging'))?.Resource).toHaveLength(
      2,
    );
    const list = statements.Scanner!.find((s) => [s.Action].flat().includes('s3:ListBucket'));
    expect(list?.Condition).toEqual({ StringLike: { 's3:prefix': ['uploads/*'] } });
    expect(resources('Submitter', 'states:DescribeExecution')).toContain(':execution:');
  });
});

/**
 * An app may grant before it attaches: a source added after `grantRelease` and `grantScan` reaches
 * their grantees too, with its prefixes and its key, rather than leaving them short of one bucket.
 */
describe('grants made before a source is attached', () => {
  const KEY_ARN = 'arn:aws:kms:us-east-1:111111111111:key/0b5e9a43-1111-4c3e-9d55-6a3f0b9e0001';
  let statements: Record<string, Statement[]>;
  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new SandtrapStack(app, 'Late', { env: { account: '111111111111', region: 'us-east-1' } });
    const releaser = new iam.Role(stack, 'Releaser', { assumedBy: new iam.AccountRootPrincipal() });
    const scanner = new iam.Role(stack, 'Scanner', { assumedBy: new iam.AccountRootPrincipal() });
    stack.grantRelease(releaser);
    stack.grantScan(scanner);
    const mail = s3.Bucket.fromBucketAttributes(stack, 'Mail', {
      bucketName: 'acme-mail-attachments',
      encryptionKey: kms.Key.fromKeyArn(stack, 'MailKey', KEY_ARN),
    });
    stack.addSource(mail, { prefixes: ['inbound/'] });
    const template = Template.fromStack(stack);
    statements = {};
    for (const [name, role] of Object.entries({ releaser, scanner })) {
      const roleId = stack.getLogicalId(role.node.defaultChild as iam.CfnRole);
      statements[name] = Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId))
        .flatMap((p) => p.Properties.PolicyDocument.Statement);
    }
  }, 120_000);

  const reaching = (name: string, action: string) =>
    statements[name]!.filter((s) => [s.Action].flat().includes(action));

  it('lets the releaser re-tag and read the late source’s objects under its prefix, and decrypt them', () => {
    const tagging = JSON.stringify(reaching('releaser', 's3:PutObjectTagging').map((s) => s.Resource));
    expect(tagging).toContain(':s3:::acme-mail-attachments/inbound/*');
    expect(tagging).not.toContain(':s3:::acme-mail-attachments/*"');
    expect(reaching('releaser', 'kms:Decrypt').map((s) => s.Resource)).toEqual([KEY_ARN]);
  });

  it('lets the scanner list the late source under its prefix only', () => {
    const listing = reaching('scanner', 's3:ListBucket').find((s) =>
      JSON.stringify(s.Resource).includes('acme-mail-attachments'),
    );
    expect(listing?.Condition).toEqual({ StringLike: { 's3:prefix': ['inbound/*'] } });
  });
});
