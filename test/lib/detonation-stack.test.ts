import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import {
  DETONATION_CONTAINER_NAME,
  DETONATION_TASK_SETTINGS,
  DETONATION_WORK_DIR,
  DetonationCluster,
  type DetonationClusterProps,
} from '../../lib/detonation';
import { SecureBucket } from '../../lib/ingest';
import { nagSuppressions, unsuppressedNagFindings } from './nag';

const ECR_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/sandtrap-detonation:1.0.0';
const EMULATOR_IMAGE = 'public.ecr.aws/docker/library/busybox:latest';
const DOCKERFILE = fileURLToPath(new URL('../../container/Dockerfile', import.meta.url));

type Resource = { Type: string; Properties: Record<string, any> };
type Statement = {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
};

interface Synthesized {
  stack: Stack;
  detonation: DetonationCluster;
  template: Template;
  resources: Record<string, Resource>;
}

/** A test stack: the two buckets (with their access-log bucket) and the construct. */
function build(props: Partial<DetonationClusterProps> = {}): { app: App; stack: Stack; detonation: DetonationCluster } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'DetonationTest');
  const accessLogs = new SecureBucket(stack, 'AccessLogs', {
    removalPolicy: RemovalPolicy.DESTROY,
    objectOwnership: null,
  }).bucket;
  const ingest = new SecureBucket(stack, 'Ingest', {
    removalPolicy: RemovalPolicy.DESTROY,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: 'ingest/',
  }).bucket;
  const reports = new SecureBucket(stack, 'Reports', {
    removalPolicy: RemovalPolicy.DESTROY,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: 'reports/',
  }).bucket;
  const detonation = new DetonationCluster(stack, 'Detonation', {
    sampleBuckets: [ingest],
    reportsBucket: reports,
    imageUri: ECR_IMAGE,
    ...props,
  });
  return { app, stack, detonation };
}

function synth(props: Partial<DetonationClusterProps> = {}): Synthesized {
  const { stack, detonation } = build(props);
  const template = Template.fromStack(stack);
  const resources = (template.toJSON() as { Resources: Record<string, Resource> }).Resources;
  return { stack, detonation, template, resources };
}

function ofType(resources: Record<string, Resource>, type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function only(resources: Record<string, Resource>, type: string): Resource {
  const found = ofType(resources, type);
  expect(found, type).toHaveLength(1);
  return found[0]![1];
}

function logicalIdOf(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

function s3EndpointStatements(resources: Record<string, Resource>): Statement[] {
  const [endpoint] = ofType(resources, 'AWS::EC2::VPCEndpoint').filter(
    ([, r]) => r.Properties.VpcEndpointType === 'Gateway',
  );
  return endpoint![1].Properties.PolicyDocument.Statement as Statement[];
}

function containerOf(resources: Record<string, Resource>): Record<string, any> {
  const [container] = only(resources, 'AWS::ECS::TaskDefinition').Properties.ContainerDefinitions as Record<
    string,
    any
  >[];
  return container!;
}

describe('DetonationCluster', () => {
  it('gives the task no task role: the task definition has no TaskRoleArn and the execution role is the only role ECS tasks can assume', () => {
    const { resources, stack, detonation } = synth();
    const taskDefinition = only(resources, 'AWS::ECS::TaskDefinition');
    expect(taskDefinition.Properties).not.toHaveProperty('TaskRoleArn');
    expect(taskDefinition.Properties.ExecutionRoleArn).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^DetonationExecutionRole/), 'Arn'],
    });
    const ecsRoles = ofType(resources, 'AWS::IAM::Role').filter(([, r]) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('ecs-tasks.amazonaws.com'),
    );
    expect(ecsRoles.map(([id]) => id)).toEqual([expect.stringMatching(/^DetonationExecutionRole/)]);
    expect(logicalIdOf(stack, detonation.taskDefinition)).toMatch(/^DetonationTaskDefinition/);
  });

  it('limits the execution role to pulling the image from its repository and writing the agent log group', () => {
    const { resources } = synth();
    const policies = ofType(resources, 'AWS::IAM::Policy').filter(([, r]) =>
      JSON.stringify(r.Properties.Roles).includes('DetonationExecutionRole'),
    );
    const actions = policies
      .flatMap(([, p]) => (p.Properties.PolicyDocument.Statement as Statement[]).flatMap((s) => [s.Action].flat()))
      .sort();
    expect(actions).toEqual([
      'ecr:BatchCheckLayerAvailability',
      'ecr:BatchGetImage',
      'ecr:GetAuthorizationToken',
      'ecr:GetDownloadUrlForLayer',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    const statements = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
    expect(statements.find((s) => [s.Action].flat().includes('ecr:BatchGetImage'))?.Resource).toEqual({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':ecr:us-east-1:123456789012:repository/sandtrap-detonation'],
      ],
    });
  });

  it('runs the container with SYS_PTRACE added, a read-only root file system and writable scratch volumes at /tmp and the work dir', () => {
    const { resources } = synth();
    const container = containerOf(resources);
    expect(container.Name).toBe(DETONATION_CONTAINER_NAME);
    expect(container.ReadonlyRootFilesystem).toBe(true);
    expect(container.LinuxParameters.Capabilities).toEqual({
      Add: ['SYS_PTRACE'],
      Drop: ['AUDIT_WRITE', 'FSETID', 'MKNOD', 'NET_BIND_SERVICE', 'NET_RAW', 'SETFCAP', 'SYS_CHROOT'],
    });
    expect(container.User).toBe('0');
    expect(container.LinuxParameters.InitProcessEnabled).toBe(true);
    expect(container.Privileged).toBeUndefined();
    expect(container.MountPoints).toEqual([
      { ContainerPath: '/tmp', ReadOnly: false, SourceVolume: 'tmp' },
      { ContainerPath: DETONATION_WORK_DIR, ReadOnly: false, SourceVolume: 'work' },
    ]);
    // Volumes without a host path are Fargate bind mounts on the task's ephemeral storage.
    expect(only(resources, 'AWS::ECS::TaskDefinition').Properties.Volumes).toEqual([{ Name: 'tmp' }, { Name: 'work' }]);
    // Per-task values come from container overrides only.
    expect(container.Environment).toBeUndefined();
  });

  it('renders DETONATION_TASK_SETTINGS, the object the Docker detonator runs with, into the task definition', () => {
    const { resources } = synth();
    const taskDefinition = only(resources, 'AWS::ECS::TaskDefinition').Properties;
    const container = containerOf(resources);
    const settings = DETONATION_TASK_SETTINGS;
    expect({
      cpu: Number(taskDefinition.Cpu),
      memoryLimitMiB: Number(taskDefinition.Memory),
      user: container.User,
      readonlyRootFilesystem: container.ReadonlyRootFilesystem,
      initProcessEnabled: container.LinuxParameters.InitProcessEnabled,
      addCapabilities: container.LinuxParameters.Capabilities.Add,
      dropCapabilities: container.LinuxParameters.Capabilities.Drop,
      scratchVolumes: (container.MountPoints as { SourceVolume: string; ContainerPath: string }[]).map((m) => ({
        name: m.SourceVolume,
        containerPath: m.ContainerPath,
      })),
      stopTimeoutSeconds: container.StopTimeout,
    }).toEqual(settings);
    // Every mount is writable scratch, backed by a task volume of the same name with no host path.
    for (const mount of container.MountPoints) expect(mount.ReadOnly).toBe(false);
    expect(taskDefinition.Volumes).toEqual(settings.scratchVolumes.map(({ name }) => ({ Name: name })));
    // The agent keeps what it uses (setpriv, chown of the home, the uid sweep); the sample gets none of it.
    expect(settings.dropCapabilities).not.toEqual(expect.arrayContaining(['SYS_PTRACE']));
    for (const kept of ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID', 'SETPCAP', 'KILL'])
      expect(settings.dropCapabilities).not.toContain(kept);
  });

  it('sizes the task at 2 vCPU / 4 GiB on x86_64 Fargate by default, stops within 30 s and logs to a log group with retention', () => {
    const { resources } = synth();
    const taskDefinition = only(resources, 'AWS::ECS::TaskDefinition');
    expect(taskDefinition.Properties).toMatchObject({
      Cpu: '2048',
      Memory: '4096',
      NetworkMode: 'awsvpc',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
    });
    const container = containerOf(resources);
    expect(container.StopTimeout).toBe(30);
    expect(container.LogConfiguration).toMatchObject({
      LogDriver: 'awslogs',
      Options: { 'awslogs-stream-prefix': 'detonation' },
    });
    for (const [, group] of ofType(resources, 'AWS::Logs::LogGroup')) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it('takes the architecture, size and stop timeout from its props', () => {
    const { resources } = synth({
      cpuArchitecture: ecs.CpuArchitecture.ARM64,
      cpu: 4096,
      memoryLimitMiB: 8192,
      ephemeralStorageGiB: 40,
      stopTimeout: Duration.seconds(90),
    });
    expect(only(resources, 'AWS::ECS::TaskDefinition').Properties).toMatchObject({
      Cpu: '4096',
      Memory: '8192',
      EphemeralStorage: { SizeInGiB: 40 },
      RuntimePlatform: { CpuArchitecture: 'ARM64' },
    });
    expect(containerOf(resources).StopTimeout).toBe(90);
  });

  it('rejects a stop timeout Fargate does not allow', () => {
    expect(() => build({ stopTimeout: Duration.minutes(3) })).toThrow(/between 1 and 120 seconds/);
  });

  it("associates the FARGATE and FARGATE_SPOT capacity providers with the cluster for capacity 'spot', and none on-demand", () => {
    const spot = synth({ capacity: 'spot' });
    expect(spot.detonation.capacity).toBe('spot');
    expect(only(spot.resources, 'AWS::ECS::ClusterCapacityProviderAssociations').Properties).toMatchObject({
      CapacityProviders: ['FARGATE', 'FARGATE_SPOT'],
      Cluster: { Ref: logicalIdOf(spot.stack, spot.detonation.cluster) },
    });
    const onDemand = synth();
    expect(onDemand.detonation.capacity).toBe('on-demand');
    expect(ofType(onDemand.resources, 'AWS::ECS::ClusterCapacityProviderAssociations')).toEqual([]);
  });

  it("refuses capacity 'spot' on ARM64, which Fargate Spot does not run, at synth", () => {
    for (const cpuArchitecture of [ecs.CpuArchitecture.ARM64, ecs.CpuArchitecture.of('ARM64')])
      expect(() => build({ capacity: 'spot', cpuArchitecture })).toThrow(
        "DetonationCluster: capacity 'spot' needs cpuArchitecture X86_64, got ARM64: Fargate Spot runs Linux X86_64 tasks only (use capacity 'on-demand' for ARM64)",
      );
    expect(() => build({ capacity: 'spot', cpuArchitecture: ecs.CpuArchitecture.X86_64 })).not.toThrow();
    expect(() => build({ capacity: 'on-demand', cpuArchitecture: ecs.CpuArchitecture.ARM64 })).not.toThrow();
  });

  it('enables Container Insights on the cluster', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });

  it('builds a VPC of isolated subnets in 2 AZs: no NAT gateway, no internet gateway, no public IPs, no route to 0.0.0.0/0', () => {
    const { resources, stack, detonation } = synth();
    expect(ofType(resources, 'AWS::EC2::NatGateway')).toEqual([]);
    expect(ofType(resources, 'AWS::EC2::InternetGateway')).toEqual([]);
    expect(ofType(resources, 'AWS::EC2::EgressOnlyInternetGateway')).toEqual([]);
    expect(ofType(resources, 'AWS::EC2::VPCGatewayAttachment')).toEqual([]);
    expect(ofType(resources, 'AWS::EC2::EIP')).toEqual([]);
    const subnets = ofType(resources, 'AWS::EC2::Subnet');
    expect(subnets).toHaveLength(2);
    for (const [, subnet] of subnets) expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
    for (const [id, route] of ofType(resources, 'AWS::EC2::Route')) {
      expect(route.Properties.DestinationCidrBlock, id).not.toBe('0.0.0.0/0');
      expect(route.Properties.DestinationIpv6CidrBlock, id).not.toBe('::/0');
      expect(
        route.Properties.GatewayId ?? route.Properties.NatGatewayId ?? route.Properties.EgressOnlyInternetGatewayId,
        id,
      ).toBeUndefined();
    }
    expect(stack.resolve(detonation.vpc.selectSubnets(detonation.subnets).subnetIds)).toHaveLength(2);
  });

  it('logs all VPC flows to a log group', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: { Ref: Match.stringLikeRegexp('^DetonationFlowLogs') },
    });
  });

  it('lets the S3 gateway endpoint only read ingest objects and write reports/* of the reports bucket, for principals of this account', () => {
    const { resources } = synth({ imageUri: EMULATOR_IMAGE });
    const ourAccount = { StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } };
    expect(s3EndpointStatements(resources)).toEqual([
      {
        Sid: 'ReadSamples',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^IngestBucket/), 'Arn'] }, '/*']] },
        Condition: ourAccount,
      },
      {
        Sid: 'WriteReports',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 's3:PutObject',
        Resource: {
          'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^ReportsBucket/), 'Arn'] }, '/reports/*']],
        },
        Condition: ourAccount,
      },
    ]);
  });

  it("adds read access to ECR's layer bucket (and nothing else) to the S3 endpoint when the image comes from ECR", () => {
    const { resources } = synth({ imageUri: ECR_IMAGE });
    const statements = s3EndpointStatements(resources);
    expect(statements.map((s) => s.Sid)).toEqual(['ReadSamples', 'WriteReports', 'PullImageLayers']);
    expect(statements[2]).toEqual({
      Sid: 'PullImageLayers',
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: 's3:GetObject',
      Resource: {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':s3:::prod-', { Ref: 'AWS::Region' }, '-starport-layer-bucket/*'],
        ],
      },
    });
  });

  it('creates private-DNS interface endpoints for CloudWatch Logs, and for ECR only when the image comes from ECR, usable only by this account', () => {
    const interfaceServices = (resources: Record<string, Resource>) =>
      ofType(resources, 'AWS::EC2::VPCEndpoint')
        .filter(([, r]) => r.Properties.VpcEndpointType === 'Interface')
        .map(([, r]) => {
          expect(r.Properties.PrivateDnsEnabled).toBe(true);
          expect(r.Properties.PolicyDocument.Statement).toEqual([
            {
              Sid: 'ThisAccountOnly',
              Effect: 'Allow',
              Principal: { AWS: '*' },
              Action: '*',
              Resource: '*',
              Condition: { StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } },
            },
          ]);
          return JSON.stringify(r.Properties.ServiceName).match(/\.(logs|ecr\.api|ecr\.dkr)"/)?.[1];
        })
        .sort();
    expect(interfaceServices(synth({ imageUri: ECR_IMAGE }).resources)).toEqual(['ecr.api', 'ecr.dkr', 'logs']);
    expect(interfaceServices(synth({ imageUri: EMULATOR_IMAGE }).resources)).toEqual(['logs']);
  });

  it('gives the task a security group with no ingress and HTTPS egress only to the S3 prefix list and the endpoint security group', () => {
    const { resources, stack, detonation } = synth({ s3PrefixListId: 'pl-63a5400a' });
    const taskGroupId = logicalIdOf(stack, detonation.securityGroup);
    const taskGroup = resources[taskGroupId]!;
    expect(taskGroup.Properties.SecurityGroupIngress).toBeUndefined();
    expect(
      ofType(resources, 'AWS::EC2::SecurityGroupIngress').filter(([, r]) =>
        JSON.stringify(r.Properties.GroupId).includes(taskGroupId),
      ),
    ).toEqual([]);
    // Separate egress resources replace the default allow-all rule; none may be inline besides them.
    expect(taskGroup.Properties.SecurityGroupEgress).toBeUndefined();
    const egress = ofType(resources, 'AWS::EC2::SecurityGroupEgress')
      .filter(([, r]) => JSON.stringify(r.Properties.GroupId).includes(taskGroupId))
      .map(([, r]) => r.Properties);
    expect(egress).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        DestinationPrefixListId: 'pl-63a5400a',
      }),
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        DestinationSecurityGroupId: {
          'Fn::GetAtt': [expect.stringMatching(/^DetonationEndpointSecurityGroup/), 'GroupId'],
        },
      }),
    ]);
    for (const rule of egress) expect(Object.keys(rule).filter((key) => key.startsWith('Cidr'))).toEqual([]);
    // The endpoints admit the task only, not the VPC CIDR, and send nothing.
    const endpointIngress = ofType(resources, 'AWS::EC2::SecurityGroupIngress').map(([, r]) => r.Properties);
    expect(endpointIngress).toEqual([
      expect.objectContaining({
        FromPort: 443,
        ToPort: 443,
        SourceSecurityGroupId: { 'Fn::GetAtt': [taskGroupId, 'GroupId'] },
      }),
    ]);
    const [, endpointGroup] = ofType(resources, 'AWS::EC2::SecurityGroup').find(([id]) =>
      id.startsWith('DetonationEndpointSecurityGroup'),
    )!;
    expect(endpointGroup.Properties.SecurityGroupIngress).toBeUndefined();
    expect(endpointGroup.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' }),
    ]);
    // A given prefix list needs no deploy-time lookup.
    expect(ofType(resources, 'Custom::AWS')).toEqual([]);
  });

  it('leaves out the flow log and every security-group rule for emulators, so the task reaches nothing, and warns', () => {
    const { resources, stack, detonation } = synth({ imageUri: EMULATOR_IMAGE, emulatorCompatible: true });
    for (const type of [
      'AWS::EC2::FlowLog',
      'AWS::EC2::SecurityGroupIngress',
      'AWS::EC2::SecurityGroupEgress',
      'Custom::AWS',
    ])
      expect(ofType(resources, type), type).toEqual([]);
    const taskGroup = resources[logicalIdOf(stack, detonation.securityGroup)]!;
    expect(taskGroup.Properties.SecurityGroupIngress).toBeUndefined();
    expect(taskGroup.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' }),
    ]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('emulatorCompatible'))).toHaveLength(1);
  });

  describe('DNS Firewall', () => {
    /** The rendered domain names: `Fn::Join` pieces with pseudo parameters and bucket refs shown as `<...>`. */
    function render(value: unknown): string {
      if (typeof value === 'string') return value;
      const v = value as Record<string, any>;
      if (v['Fn::Join']) return (v['Fn::Join'][1] as unknown[]).map(render).join(v['Fn::Join'][0]);
      if (v.Ref)
        return `<${String(v.Ref)
          .replace(/^AWS::/, '')
          .replace(/[0-9A-F]{8}$/, '')}>`;
      throw new Error(`unexpected token ${JSON.stringify(value)}`);
    }

    function firewallOf(resources: Record<string, Resource>) {
      const lists = ofType(resources, 'AWS::Route53Resolver::FirewallDomainList');
      const listIdOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Id'] });
      const group = only(resources, 'AWS::Route53Resolver::FirewallRuleGroup');
      const rules = group.Properties.FirewallRules as Record<string, any>[];
      const domainsOf = (listRef: unknown) =>
        (
          lists.find(([id]) => JSON.stringify(listIdOf(id)) === JSON.stringify(listRef))![1].Properties
            .Domains as unknown[]
        ).map(render);
      return { lists, rules, domainsOf };
    }

    it('allows only the two buckets, CloudWatch Logs and the image pull names, and blocks every other name with NXDOMAIN at a lower priority', () => {
      const { resources } = synth({ imageUri: ECR_IMAGE });
      const { lists, rules, domainsOf } = firewallOf(resources);
      expect(lists).toHaveLength(2);
      expect(rules).toHaveLength(2);
      const [allow, block] = [...rules].sort((a, b) => a.Priority - b.Priority);
      expect(allow).toMatchObject({ Action: 'ALLOW', FirewallDomainRedirectionAction: 'TRUST_REDIRECTION_DOMAIN' });
      expect(domainsOf(allow!.FirewallDomainListId).sort()).toEqual(
        [
          '<IngestBucket>.s3.<Region>.<URLSuffix>',
          '<ReportsBucket>.s3.<Region>.<URLSuffix>',
          'logs.<Region>.<URLSuffix>',
          'api.ecr.<Region>.<URLSuffix>',
          '123456789012.dkr.ecr.<Region>.<URLSuffix>',
          'prod-<Region>-starport-layer-bucket.s3.<Region>.<URLSuffix>',
        ].sort(),
      );
      // No wildcard: a name under a zone the sample's authors run never reaches a resolver that recurses.
      for (const domain of domainsOf(allow!.FirewallDomainListId)) expect(domain).not.toContain('*');
      expect(block).toEqual({
        Action: 'BLOCK',
        BlockResponse: 'NXDOMAIN',
        FirewallDomainListId: expect.anything(),
        Priority: expect.any(Number),
      });
      expect(block!.Priority).toBeGreaterThan(allow!.Priority);
      expect(domainsOf(block!.FirewallDomainListId)).toEqual(['*']);
    });

    it('leaves the ECR names out when the image does not come from ECR', () => {
      const { resources } = synth({ imageUri: EMULATOR_IMAGE });
      const { rules, domainsOf } = firewallOf(resources);
      const allow = rules.find((r) => r.Action === 'ALLOW')!;
      expect(domainsOf(allow.FirewallDomainListId).sort()).toEqual(
        [
          '<IngestBucket>.s3.<Region>.<URLSuffix>',
          '<ReportsBucket>.s3.<Region>.<URLSuffix>',
          'logs.<Region>.<URLSuffix>',
        ].sort(),
      );
    });

    it('associates the rule group with the detonation VPC', () => {
      const { resources, stack, detonation } = synth();
      const association = only(resources, 'AWS::Route53Resolver::FirewallRuleGroupAssociation').Properties;
      expect(association.VpcId).toEqual({ Ref: logicalIdOf(stack, detonation.vpc) });
      expect(association.FirewallRuleGroupId).toEqual({
        'Fn::GetAtt': [stack.getLogicalId(detonation.dnsFirewall!.ruleGroup), 'Id'],
      });
      expect(association.Priority).toBeGreaterThanOrEqual(101);
      expect(association.Priority).toBeLessThanOrEqual(9899);
    });

    it('is left out for emulators, which reject AWS::Route53Resolver types (MiniStack 1.5.33)', () => {
      const { resources, detonation } = synth({ imageUri: EMULATOR_IMAGE, emulatorCompatible: true });
      expect(Object.values(resources).filter((r) => r.Type.startsWith('AWS::Route53Resolver::'))).toEqual([]);
      expect(detonation.dnsFirewall).toBeUndefined();
    });
  });

  it('looks the S3 prefix list up at deploy time when none is given', () => {
    const { resources } = synth();
    const lookup = only(resources, 'Custom::AWS');
    expect(JSON.stringify(lookup.Properties.Create)).toContain('describePrefixLists');
    expect(
      ofType(resources, 'AWS::EC2::SecurityGroupEgress').map(([, r]) => r.Properties.DestinationPrefixListId),
    ).toContainEqual({
      'Fn::GetAtt': [expect.stringMatching(/^DetonationS3PrefixList/), 'PrefixLists.0.PrefixListId'],
    });
  });

  it('uses the prebuilt image URI as is, with no Docker asset', () => {
    const { stack, resources } = synth({ imageUri: ECR_IMAGE });
    expect(containerOf(resources).Image).toBe(ECR_IMAGE);
    const assembly = (stack.node.root as App).synth();
    expect(JSON.stringify(assembly.getStackByName(stack.stackName).assets)).not.toContain('container-image');
  });

  it('grants pulls from an ECR image URI itself, leaving no warning to read', () => {
    const { stack } = build({ imageUri: ECR_IMAGE });
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });

  it('warns that an image outside ECR cannot be pulled from the isolated subnets', () => {
    const { stack } = build({ imageUri: EMULATOR_IMAGE });
    Annotations.fromStack(stack).hasWarning(
      '/DetonationTest/Detonation',
      Match.stringLikeRegexp('not a private ECR image'),
    );
  });

  it.skipIf(!existsSync(DOCKERFILE))(
    'builds container/ as a Docker image asset when no image URI is given (skipped until container/Dockerfile exists)',
    () => {
      // Synthesis only stages the build context and records the asset; docker runs at publish time.
      const { app, stack } = build({ imageUri: undefined });
      const assembly = app.synth();
      const artifact = assembly.getStackByName(stack.stackName);
      const image = containerOf((artifact.template as { Resources: Record<string, Resource> }).Resources).Image;
      expect(JSON.stringify(image)).toMatch(/cdk-[a-z0-9]+-container-assets-/);
      const manifest = JSON.parse(readFileSync(join(assembly.directory, `${stack.stackName}.assets.json`), 'utf8')) as {
        dockerImages: Record<string, { source: { directory: string; platform?: string } }>;
      };
      const sources = Object.values(manifest.dockerImages).map((d) => d.source);
      expect(sources).toEqual([expect.objectContaining({ platform: 'linux/amd64' })]);
      expect(existsSync(join(assembly.directory, sources[0]!.directory, 'container', 'Dockerfile'))).toBe(true);
      // The image lives in ECR, so the task needs the ECR endpoints and layer bucket.
      const endpoints = JSON.stringify(
        ofType((artifact.template as { Resources: Record<string, Resource> }).Resources, 'AWS::EC2::VPCEndpoint'),
      );
      expect(endpoints).toContain('.ecr.dkr');
      expect(endpoints).toContain('-starport-layer-bucket/*');
    },
  );

  describe('cdk-nag AwsSolutions', () => {
    /** Runs the AwsSolutions pack; every finding must be suppressed on its resource, with a reason. */
    function expectNoUnsuppressedFinding(props: Partial<DetonationClusterProps>): void {
      const { stack } = build(props);
      expect(unsuppressedNagFindings(stack)).toEqual([]);
      const suppressions = nagSuppressions(stack);
      expect(suppressions.length).toBeGreaterThan(0);
      for (const s of suppressions) expect(s.reason.length, s.id).toBeGreaterThan(40);
    }

    it('reports no unsuppressed finding with an ECR image and the prefix-list lookup', () => {
      expectNoUnsuppressedFinding({ imageUri: ECR_IMAGE });
    });

    it('reports no unsuppressed finding with an emulator image and a given prefix list', () => {
      expectNoUnsuppressedFinding({ imageUri: EMULATOR_IMAGE, s3PrefixListId: 'pl-63a5400a' });
    });

    it('reports no unsuppressed finding for emulators (no flow log, no rules)', () => {
      expectNoUnsuppressedFinding({ imageUri: EMULATOR_IMAGE, emulatorCompatible: true });
    });

    it('reports no unsuppressed finding with Spot capacity (the Fargate capacity providers)', () => {
      expectNoUnsuppressedFinding({ imageUri: ECR_IMAGE, capacity: 'spot' });
    });

    it.skipIf(!existsSync(DOCKERFILE))(
      'reports no unsuppressed finding with the Docker asset (skipped until container/Dockerfile exists)',
      () => {
        expectNoUnsuppressedFinding({ imageUri: undefined });
      },
    );
  });
});
