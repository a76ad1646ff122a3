import { App, Aspects, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import cdkNag from 'cdk-nag';
import { Sandtrap } from '../../lib/sandtrap';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { SandtrapStack } from '../../lib/sandtrap-stack';
import { SandtrapValidationError } from '../../lib/validation';

const BUS_ARN = 'arn:aws:events:us-east-1:123456789012:event-bus/security-events';
const app = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

/** Embedding in an app that already has its own pieces (issue #16, "bring your own"). */
describe("the app's own event bus and log retention", () => {
  it("publishes on the app's bus instead of making one, and names it in the outputs", () => {
    const a = app();
    const bus = events.EventBus.fromEventBusArn(new Stack(a, 'Shared'), 'Bus', BUS_ARN);
    const stack = new SandtrapStack(a, 'Sandtrap', {
      config: { settings: { static: { enabled: false }, detonation: { enabled: false } } },
      eventBus: bus,
    });
    const template = Template.fromStack(stack);
    expect(Object.keys(template.findResources('AWS::Events::EventBus'))).toEqual([]);
    expect(template.toJSON().Outputs.VerdictBusName.Value).toBe('security-events');
    // The publishing states may put events on that bus, and nowhere else.
    const puts = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: { Action: string | string[] }) => [s.Action].flat().includes('events:PutEvents'));
    expect(puts.length).toBeGreaterThan(0);
    for (const statement of puts) expect(statement.Resource).toBe(BUS_ARN);
  });

  it('refuses a bus name in the configuration beside a bus of its own, naming the stack', () => {
    const a = app();
    const bus = events.EventBus.fromEventBusArn(new Stack(a, 'Shared'), 'Bus', BUS_ARN);
    expect(() => new SandtrapStack(a, 'Sandtrap', { config: { busName: 'other' }, eventBus: bus })).toThrow(
      new SandtrapValidationError(
        new Stack(app(), 'Sandtrap'),
        'give the configuration a busName or the stack an eventBus, not both',
      ),
    );
  });

  it('sets one retention on every log group of the stack', () => {
    const stack = new SandtrapStack(app(), 'Sandtrap', { logRetention: logs.RetentionDays.ONE_YEAR });
    const groups = Object.values(Template.fromStack(stack).findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThan(8);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(365);
    const defaults = Object.values(
      Template.fromStack(new SandtrapStack(app(), 'Default')).findResources('AWS::Logs::LogGroup'),
    );
    for (const group of defaults) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it("encrypts reports and the table with the app's key, and gives each function the KMS rights its access needs", () => {
    const a = app();
    const shared = new Stack(a, 'Shared');
    const key = new kms.Key(shared, 'DataKey', { enableKeyRotation: true });
    const stack = new SandtrapStack(a, 'Sandtrap', {
      config: { actions: { quarantine: { enabled: true } } },
      encryptionKey: key,
    });
    const template = Template.fromStack(stack);
    const json = JSON.stringify;
    const buckets = template.findResources('AWS::S3::Bucket');
    const reports = Object.entries(buckets).find(([id]) => id.includes('Reports'))?.[1];
    const ingest = Object.entries(buckets).find(([id]) => id.includes('Ingest'))?.[1];
    const rule = (b: typeof reports) => b?.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0];
    expect(rule(reports).ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
    expect(json(rule(reports).ServerSideEncryptionByDefault.KMSMasterKeyID)).toContain('DataKey');
    expect(rule(reports).BucketKeyEnabled).toBe(true);
    // Uploads keep S3's own encryption: their uploaders need no rights on the key.
    expect(rule(ingest).ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    const table = Object.values(template.findResources('AWS::DynamoDB::Table'))[0];
    expect(table?.Properties.SSESpecification).toMatchObject({ SSEEnabled: true, SSEType: 'KMS' });
    expect(json(table?.Properties.SSESpecification.KMSMasterKeyId)).toContain('DataKey');

    // By role: the KMS actions on the key, next to what the role does with reports and the table.
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).map((p) => ({
      roles: json(p.Properties.Roles),
      statements: p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    }));
    const kmsOf = (role: string) =>
      statements
        .filter((p) => p.roles.includes(role))
        .flatMap((p) => p.statements)
        .filter((s) => json(s.Resource).includes('DataKey'))
        .flatMap((s) => [s.Action].flat())
        .sort();
    const finalize = statements.find((p) => p.roles.includes('FinalizeFn'))?.roles ?? '';
    expect(kmsOf('FinalizeFn')).toEqual(
      expect.arrayContaining(['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']),
    );
    expect(finalize).not.toBe('');
    // The sweep only reads the table.
    expect(kmsOf('RedriveSweep')).toEqual(['kms:Decrypt', 'kms:DescribeKey']);
    // No KMS action anywhere on another resource, and none beyond these.
    const allowed = new Set([
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:Encrypt',
      'kms:GenerateDataKey',
      'kms:GenerateDataKey*',
      'kms:ReEncrypt*',
    ]);
    for (const p of statements)
      for (const s of p.statements)
        for (const action of [s.Action].flat().filter((x) => x.startsWith('kms:'))) {
          expect(allowed.has(action), action).toBe(true);
          expect(json(s.Resource)).toContain('DataKey');
        }
  });
});

/** The detonation in a VPC of the app's own (issue #16, "bring your own ... VPC and subnets for detonation"). */
describe("the app's own VPC for the detonation", () => {
  const ENV_US = { account: '123456789012', region: 'us-east-1' };
  const appVpc = (stack: Stack) =>
    new ec2.Vpc(stack, 'Network', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: 'Detonation', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        { name: 'Edge', subnetType: ec2.SubnetType.PUBLIC },
      ],
    });

  it('runs the task in its isolated subnets, with the endpoints, flow log and DNS firewall there, and makes no VPC', () => {
    const stack = new Stack(app(), 'SecurityTooling', { env: ENV_US });
    const vpc = appVpc(stack);
    new Sandtrap(stack, 'Scanner', {
      detonationVpc: vpc,
      config: { settings: { static: { enabled: false } }, detonationTask: { s3PrefixListId: 'pl-63a5400a' } },
    });
    Aspects.of(stack).add(new cdkNag.AwsSolutionsChecks({ verbose: true }));
    const template = Template.fromStack(stack);
    const vpcId = stack.resolve(vpc.vpcId);
    expect(Object.keys(template.findResources('AWS::EC2::VPC'))).toEqual([vpcId.Ref]);
    // The task's network configuration names the isolated subnets, never the public ones.
    const definition = JSON.stringify(template.findResources('AWS::StepFunctions::StateMachine'));
    for (const subnet of vpc.isolatedSubnets) expect(definition).toContain(stack.resolve(subnet.subnetId).Ref);
    for (const subnet of vpc.publicSubnets) expect(definition).not.toContain(stack.resolve(subnet.subnetId).Ref);
    const gateway = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).find(
      (e) => e.Properties.VpcEndpointType === 'Gateway',
    );
    expect(gateway?.Properties.RouteTableIds).toEqual(
      vpc.isolatedSubnets.map((subnet) => stack.resolve(subnet.routeTable.routeTableId)),
    );
    const association = Object.values(template.findResources('AWS::Route53Resolver::FirewallRuleGroupAssociation'));
    expect(association.map((a) => a.Properties.VpcId)).toEqual([vpcId]);
    const flowLogs = Object.values(template.findResources('AWS::EC2::FlowLog'));
    expect(flowLogs.map((f) => f.Properties.ResourceId)).toEqual([vpcId]);
    const findings = Annotations.fromStack(stack)
      .findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))
      .concat(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')));
    expect(findings.filter((f) => f.id.startsWith('/SecurityTooling/Scanner/')).map((f) => f.id)).toEqual([]);
  });

  it('refuses subnets that are not isolated, naming them, and a VPC without a detonation', () => {
    const stack = new Stack(app(), 'SecurityTooling', { env: ENV_US });
    const vpc = appVpc(stack);
    expect(
      () =>
        new Sandtrap(stack, 'Scanner', {
          detonationVpc: vpc,
          detonationSubnets: { subnetType: ec2.SubnetType.PUBLIC },
          config: { settings: { static: { enabled: false } } },
        }),
    ).toThrow(
      /^SecurityTooling\/Scanner: the detonation runs in isolated subnets only \(no route to an internet or NAT gateway\); SecurityTooling\/Network\/EdgeSubnet1.* is not one/,
    );
    expect(
      () =>
        new Sandtrap(stack, 'NoDetonation', {
          detonationVpc: vpc,
          config: { settings: { detonation: { enabled: false } } },
        }),
    ).toThrow(/^SecurityTooling\/NoDetonation: detonationVpc is for the detonation/);
  });

  it("takes an imported VPC's isolated subnets by their attributes", () => {
    const stack = new Stack(app(), 'SecurityTooling', { env: ENV_US });
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Imported', {
      vpcId: 'vpc-0a1b2c3d4e5f60718',
      availabilityZones: ['us-east-1a', 'us-east-1b'],
      isolatedSubnetIds: ['subnet-0aaa1111bbbb2222c', 'subnet-0ddd3333eeee4444f'],
      isolatedSubnetRouteTableIds: ['rtb-0aaa1111bbbb2222c', 'rtb-0ddd3333eeee4444f'],
    });
    new Sandtrap(stack, 'Scanner', {
      detonationVpc: vpc,
      config: { settings: { static: { enabled: false } }, detonationTask: { s3PrefixListId: 'pl-63a5400a' } },
    });
    const template = Template.fromStack(stack);
    expect(Object.keys(template.findResources('AWS::EC2::VPC'))).toEqual([]);
    const definition = JSON.stringify(template.findResources('AWS::StepFunctions::StateMachine'));
    expect(definition).toContain('subnet-0aaa1111bbbb2222c');
    expect(definition).toContain('subnet-0ddd3333eeee4444f');
  });

  // The same VPC named in the configuration file, for `npx cdk deploy` without code of one's own.
  const network = {
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    isolatedSubnetIds: ['subnet-0aaa1111bbbb2222c', 'subnet-0ddd3333eeee4444f'],
    isolatedSubnetRouteTableIds: ['rtb-0aaa1111bbbb2222c', 'rtb-0ddd3333eeee4444f'],
  };

  it("takes the VPC from the configuration file's detonationTask.vpc, with cdk-nag on", () => {
    const a = app();
    const stack = new SandtrapStack(a, 'Sandtrap', {
      env: ENV_US,
      config: {
        settings: { static: { enabled: false } },
        detonationTask: { s3PrefixListId: 'pl-63a5400a', vpc: network },
      },
    });
    Aspects.of(a).add(new cdkNag.AwsSolutionsChecks({ verbose: true }));
    const template = Template.fromStack(stack);
    expect(Object.keys(template.findResources('AWS::EC2::VPC'))).toEqual([]);
    const definition = JSON.stringify(template.findResources('AWS::StepFunctions::StateMachine'));
    for (const subnet of network.isolatedSubnetIds) expect(definition).toContain(subnet);
    const gateway = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).find(
      (e) => e.Properties.VpcEndpointType === 'Gateway',
    );
    expect(gateway?.Properties).toMatchObject({
      VpcId: network.vpcId,
      RouteTableIds: network.isolatedSubnetRouteTableIds,
    });
    const association = Object.values(template.findResources('AWS::Route53Resolver::FirewallRuleGroupAssociation'));
    expect(association.map((x) => x.Properties.VpcId)).toEqual([network.vpcId]);
    const findings = Annotations.fromStack(stack)
      .findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))
      .concat(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')));
    expect(findings.map((f) => f.id)).toEqual([]);
  });

  it('refuses a configuration VPC beside a construct one, without a detonation, or with subnets and route tables that do not pair', () => {
    const stack = new Stack(app(), 'SecurityTooling', { env: ENV_US });
    expect(
      () =>
        new Sandtrap(stack, 'Both', {
          detonationVpc: appVpc(stack),
          config: { detonationTask: { vpc: network } },
        }),
    ).toThrow(
      /^SecurityTooling\/Both: give the configuration a detonationTask.vpc or the construct a detonationVpc, not both/,
    );
    expect(
      () =>
        new Sandtrap(stack, 'NoDetonation', {
          config: { settings: { detonation: { enabled: false } }, detonationTask: { vpc: network } },
        }),
    ).toThrow(/^SecurityTooling\/NoDetonation: detonationTask.vpc is for the detonation/);
    expect(
      () =>
        new Sandtrap(stack, 'Unpaired', {
          config: {
            detonationTask: {
              vpc: { ...network, isolatedSubnetRouteTableIds: ['rtb-0aaa1111bbbb2222c'] },
            },
          },
        }),
    ).toThrow(/one route table per isolated subnet.*at detonationTask\.vpc\.isolatedSubnetRouteTableIds/s);
    expect(
      () =>
        new Sandtrap(stack, 'Uneven', {
          config: {
            detonationTask: {
              vpc: {
                ...network,
                isolatedSubnetIds: ['subnet-0aaa1111bbbb2222c'],
                isolatedSubnetRouteTableIds: ['rtb-0aaa1111bbbb2222c'],
              },
            },
          },
        }),
    ).toThrow(/a multiple of the zones.*at detonationTask\.vpc\.isolatedSubnetIds/s);
  });
});
