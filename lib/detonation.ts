import { fileURLToPath } from 'node:url';
import { Annotations, Aws, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import cdkNag from 'cdk-nag';
import { Construct } from 'constructs';
import { DetonationDnsFirewall } from './detonation-dns-firewall';
import { type CapabilityName, DETONATION_CONTAINER_NAME, DETONATION_TASK_SETTINGS as TASK } from './detonation-task';

// cdk-nag is a jsii CommonJS module whose named exports Node's ESM loader cannot see.
const { NagSuppressions } = cdkNag;

export { DETONATION_ENV } from './contracts';
export { DETONATION_CONTAINER_NAME, DETONATION_TASK_SETTINGS, DETONATION_WORK_DIR } from './detonation-task';

/** Fargate platform version the task needs: adding `SYS_PTRACE` requires 1.4.0 or later. */
export const DETONATION_PLATFORM_VERSION = ecs.FargatePlatformVersion.VERSION1_4;

/**
 * The image builds from the package's root (the repository, or the installed package): the agent
 * imports the shared core. `.dockerignore`, which the asset honours, lets only `container/` (with the
 * agent's locked dependencies in container/agent-deps/) and `lambdas/core/` through; the excludes
 * below keep the rest out should it be missing.
 */
const BUILD_CONTEXT = fileURLToPath(new URL('..', import.meta.url));
const BUILD_EXCLUDES = ['node_modules', 'cdk.out', '.git', '.venv-*', '.sandtrap', 'coverage', 'test', 'bench'];

/**
 * Where the detonation task runs: Fargate on-demand, or Fargate Spot (spare capacity at up to 70%
 * off, which AWS may take back with a two-minute warning; the workflow then runs the sample again
 * on-demand).
 */
export type DetonationCapacity = 'on-demand' | 'spot';

/** `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag][@digest]` */
const ECR_IMAGE_URI =
  /^(?<account>\d{12})\.dkr\.ecr\.(?<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/(?<repository>[a-z0-9._/-]+)(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/;

/** Props of {@link DetonationCluster}. */
export interface DetonationClusterProps {
  /**
   * Buckets of the samples: the S3 endpoint lets the task read their objects (s3:GetObject, through
   * URLs this account's functions presigned) and nothing else. More are added with
   * {@link DetonationCluster.addSampleBucket}.
   * @default - none yet
   */
  readonly sampleBuckets?: readonly s3.IBucket[];
  /** Bucket of the reports: the S3 endpoint lets the task write under `reports/` (s3:PutObject) and nothing else. */
  readonly reportsBucket: s3.IBucket;
  /**
   * A prebuilt image (a literal URI) instead of building `container/` as a Docker image asset, for
   * deployments where no Docker engine can build it (air-gapped, CI, emulators). The isolated
   * subnets reach only ECR in the stack's region, so on AWS this must be a private ECR image there;
   * the execution role is granted pulls from its repository.
   * @default - `container/` is built as a Docker image asset and pushed to the CDK bootstrap repository
   */
  readonly imageUri?: string;
  /**
   * CPU architecture of the task (and of the asset build).
   * @default ecs.CpuArchitecture.X86_64, since the samples are mostly x86 Linux binaries
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /**
   * Capacity the workflow starts the task on. `spot` associates the FARGATE and FARGATE_SPOT
   * capacity providers with the cluster; Fargate Spot runs Linux X86_64 tasks only, so `spot` with
   * {@link cpuArchitecture} ARM64 is refused.
   * @default 'on-demand'
   */
  readonly capacity?: DetonationCapacity;
  /**
   * Task CPU units. ptrace serializes every traced stop through the tracer thread, so keep at
   * least 2 vCPU: one for the sample, one for strace and the parser.
   * @default DETONATION_TASK_SETTINGS.cpu (2048)
   */
  readonly cpu?: number;
  /**
   * Task memory in MiB (must be a valid Fargate combination with {@link cpu}).
   * @default DETONATION_TASK_SETTINGS.memoryLimitMiB (4096)
   */
  readonly memoryLimitMiB?: number;
  /**
   * Ephemeral storage in GiB (21–200); the scratch volumes live there.
   * @default - Fargate's 20 GiB, far more than a capped trace needs
   */
  readonly ephemeralStorageGiB?: number;
  /**
   * Time the agent gets between SIGTERM (a `StopTask`, e.g. when the workflow step times out) and
   * SIGKILL to kill the sandbox and upload a partial report. Fargate allows at most 120 seconds.
   * @default DETONATION_TASK_SETTINGS.stopTimeoutSeconds (30)
   */
  readonly stopTimeout?: Duration;
  /**
   * Availability zones of the VPC Sandtrap makes (not with {@link vpc}).
   * @default 2
   */
  readonly maxAzs?: number;
  /**
   * A VPC of the app's own to run the task in, where accounts get their VPCs from a network team
   * (an address plan, no right to create VPCs). It must be dedicated to detonation: the DNS Firewall
   * (NXDOMAIN for every name but the buckets, logs and ECR) is associated with the whole VPC, the S3
   * gateway endpoint and its policy go on the route tables of {@link vpcSubnets}, and the interface
   * endpoints' private DNS answers for the whole VPC. The subnets must be isolated (no route to an
   * internet or NAT gateway): a selection of any other subnet is refused at synth. For an imported
   * VPC the subnet types are what its attributes say (`isolatedSubnetIds`); say nothing there that
   * its route tables do not hold.
   * @default - a new VPC with isolated subnets in {@link maxAzs} zones, no internet gateway
   */
  readonly vpc?: ec2.IVpc;
  /**
   * The subnets of {@link vpc} to run the task in (each must be one of its isolated subnets).
   * @default - every isolated subnet of the VPC
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * ID of the region's S3 managed prefix list (`com.amazonaws.<region>.s3`), the only non-VPC
   * destination of the task's security group. Give it where the deploy-time lookup can't run
   * (emulators without EC2 `DescribePrefixLists`).
   * @default - looked up at deploy time with a custom resource
   */
  readonly s3PrefixListId?: string;
  /**
   * For CloudFormation emulators that don't know `AWS::EC2::FlowLog`, `AWS::EC2::SecurityGroupEgress`,
   * `AWS::EC2::SecurityGroupIngress` or `AWS::Route53Resolver::*` (MiniStack 1.5.33): leave out the
   * VPC flow log, the DNS Firewall and every security-group rule. The task's group then denies all
   * egress, so on AWS the task could not even reach S3 (DNS to the VPC resolver aside, which is why
   * the stack warns that this is for emulators only).
   * @default false
   */
  readonly emulatorCompatible?: boolean;
  /**
   * Retention of the container's and the VPC flow logs' log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log groups when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The AWS side of Sandtrap's own Linux detonation: a Fargate task that runs the agent in `container/`
 * (strace + fakenet) on one sample, in a VPC it cannot leave.
 *
 * - Isolated subnets only: no internet or NAT gateway, so no route out of the VPC but the S3
 *   gateway endpoint's. The security group has no ingress and lets the task reach only S3 and the
 *   interface endpoints (ECR when the image comes from ECR, CloudWatch Logs).
 * - Every endpoint policy is scoped, so the sample can't use the endpoints with credentials of its
 *   own to exfiltrate: S3 allows only reading ingest objects and writing reports (plus ECR image
 *   layers), the interface endpoints only principals of this account.
 * - **No task role**: the sample shares the task's metadata endpoint, so any role would be its role.
 *   Samples and reports travel through presigned URLs set per task ({@link DETONATION_ENV}).
 * - The container runs with {@link DETONATION_TASK_SETTINGS}, which the local Docker detonator uses
 *   too: read-only root file system with scratch volumes at `/tmp` and {@link DETONATION_WORK_DIR};
 *   `SYS_PTRACE` added, the one capability Fargate allows adding (strace's `-yy` needs it once the
 *   sample runs under its own uid), and the default capabilities the agent never uses dropped.
 * - A Route 53 Resolver DNS Firewall on the VPC answers only the regional S3 names the agent's
 *   presigned URLs use (and the endpoints' names), so a sample cannot tunnel data out through DNS.
 *
 * Run it with `EcsRunTask` on {@link cluster} with {@link taskDefinition}, launch target Fargate
 * {@link DETONATION_PLATFORM_VERSION} (on the FARGATE_SPOT capacity provider when {@link capacity}
 * is `spot`), subnets {@link subnets}, security group {@link securityGroup},
 * no public IP, and container overrides for {@link containerName}.
 */
export class DetonationCluster extends Construct {
  /** The detonation VPC (Sandtrap's own, or the app's {@link DetonationClusterProps.vpc}): isolated subnets, endpoints, flow logs. */
  readonly vpc: ec2.IVpc;
  /** The ECS cluster to run the task on (Container Insights on). */
  readonly cluster: ecs.Cluster;
  /**
   * The detonation task. It has no task role: its `taskRole` is a read-only view of the execution
   * role only because CDK's `EcsRunTask` needs a role to grant `iam:PassRole` on, and the rendered
   * task definition has no `TaskRoleArn`. Grants to `taskRole` change nothing.
   */
  readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The agent's container: pass it as `containerDefinition` of the per-task container overrides. */
  readonly container: ecs.ContainerDefinition;
  /** Same as {@link DETONATION_CONTAINER_NAME}. */
  readonly containerName = DETONATION_CONTAINER_NAME;
  /** The task's CPU units (1024 per vCPU): how many tasks the account's Fargate quota holds at once. */
  readonly taskCpu: number;
  /** The isolated subnets to run the task in. */
  readonly subnets: ec2.SubnetSelection;
  /** The task's security group: no ingress, egress only to S3 and the interface endpoints. */
  readonly securityGroup: ec2.SecurityGroup;
  /** Fargate platform version to launch the task with. */
  readonly platformVersion = DETONATION_PLATFORM_VERSION;
  /** Capacity the task is started on: with `spot`, the cluster has the FARGATE_SPOT capacity provider. */
  readonly capacity: DetonationCapacity;
  /** The agent's log group. */
  readonly logGroup: logs.LogGroup;
  /** The VPC's DNS Firewall: only the names the task needs resolve (absent with `emulatorCompatible`). */
  readonly dnsFirewall?: DetonationDnsFirewall;
  /** The VPC's S3 gateway endpoint, whose policy names every sample bucket. */
  private s3Endpoint!: ec2.GatewayVpcEndpoint;
  /** The endpoint's one statement on sample objects, made with the first sample bucket. */
  private readSamples?: iam.PolicyStatement;
  /** The names the DNS firewall lets the VPC resolve; sample buckets added later join them. */
  private readonly allowedDomains: string[] = [];

  constructor(scope: Construct, id: string, props: DetonationClusterProps) {
    super(scope, id);
    this.taskCpu = props.cpu ?? TASK.cpu;
    const stack = Stack.of(this);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const cpuArchitecture = props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64;
    this.capacity = props.capacity ?? 'on-demand';
    // Compared by name, so that `CpuArchitecture.of('ARM64')` is refused as well as `ARM64`.
    const architecture = cpuArchitecture._cpuArchitecture;
    if (this.capacity === 'spot' && architecture !== ecs.CpuArchitecture.X86_64._cpuArchitecture) {
      throw new Error(
        `DetonationCluster: capacity 'spot' needs cpuArchitecture X86_64, got ${architecture}: Fargate Spot runs Linux X86_64 tasks only (use capacity 'on-demand' for ${architecture})`,
      );
    }
    const stopTimeout = props.stopTimeout ?? Duration.seconds(TASK.stopTimeoutSeconds);
    if (!stopTimeout.isUnresolved() && (stopTimeout.toSeconds() < 1 || stopTimeout.toSeconds() > 120)) {
      throw new Error(
        `DetonationCluster: stopTimeout must be between 1 and 120 seconds on Fargate, got ${stopTimeout.toSeconds()}`,
      );
    }

    if (props.vpc) {
      this.vpc = props.vpc;
      this.subnets = isolatedSelection(props.vpc, props.vpcSubnets, props.maxAzs);
    } else {
      if (props.vpcSubnets) throw new Error('DetonationCluster: vpcSubnets selects subnets of a vpc given with it');
      this.vpc = new ec2.Vpc(this, 'Vpc', {
        maxAzs: props.maxAzs ?? 2,
        natGateways: 0,
        createInternetGateway: false,
        subnetConfiguration: [{ name: 'Detonation', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
        // Nothing is placed in the default group (the task and the endpoints have their own), and
        // restricting it would add a custom-resource Lambda that emulators can't run.
        restrictDefaultSecurityGroup: false,
      });
      this.subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    }
    if (props.emulatorCompatible) {
      Annotations.of(this).addWarningV2(
        'sandtrap:detonation-emulator',
        'emulatorCompatible: no VPC flow log, no DNS Firewall and no security-group rules, so the task reaches nothing (not even S3). For CloudFormation emulators only.',
      );
    } else {
      // Rejected flows are evidence too: connects to hard-coded IPs that the security group dropped.
      const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', { retention, removalPolicy });
      const flowLog = {
        destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
        trafficType: ec2.FlowLogTrafficType.ALL,
      };
      // The VPC Sandtrap makes keeps its flow log where it always was; an app's VPC gets one of ours.
      if (this.vpc instanceof ec2.Vpc && !props.vpc) this.vpc.addFlowLog('FlowLog', flowLog);
      else new ec2.FlowLog(this, 'FlowLog', { resourceType: ec2.FlowLogResourceType.fromVpc(this.vpc), ...flowLog });
    }

    this.securityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: this.vpc,
      description: 'Sandtrap detonation task: no ingress; egress only to S3 and the VPC interface endpoints',
      allowAllOutbound: false,
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention, removalPolicy });
    const executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Sandtrap detonation: pulls the agent image and writes its logs; never given to the task',
    });
    const { image, source, registryAccount } = this.image(props, cpuArchitecture, executionRole);

    this.allowedDomains.push(...detonationDomains(props, registryAccount));
    this.addEndpoints(props, source !== 'registry');
    if (!props.emulatorCompatible) {
      this.dnsFirewall = new DetonationDnsFirewall(this, 'DnsFirewall', {
        vpc: this.vpc,
        allowedDomains: this.allowedDomains,
      });
    }

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
      // RunTask can name FARGATE_SPOT in its capacity provider strategy only if the cluster has it.
      // On-demand runs keep their plain FARGATE launch type and the cluster as it always was.
      ...(this.capacity === 'spot' ? { enableFargateCapacityProviders: true } : {}),
    });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: this.taskCpu,
      memoryLimitMiB: props.memoryLimitMiB ?? TASK.memoryLimitMiB,
      ephemeralStorageGiB: props.ephemeralStorageGiB,
      runtimePlatform: { cpuArchitecture, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      executionRole,
      // CDK always gives a task definition a role; hand it the execution role read-only (so no extra
      // role exists and grants to it are dropped) and remove it from the rendered task below.
      taskRole: executionRole.withoutPolicyUpdates(),
      // Without a host path these are Fargate bind mounts on the task's ephemeral storage.
      volumes: TASK.scratchVolumes.map(({ name }) => ({ name })),
    });
    const cfnTaskDefinition = this.taskDefinition.node.defaultChild as ecs.CfnTaskDefinition;
    // Any process in the task, the sample included, can fetch the task role's keys from 169.254.170.2.
    cfnTaskDefinition.taskRoleArn = undefined;
    this.node.addValidation({
      validate: () =>
        cfnTaskDefinition.taskRoleArn === undefined
          ? []
          : ['The detonation task definition must not have a task role (the sample could take its credentials).'],
    });

    const linuxParameters = new ecs.LinuxParameters(this, 'LinuxParameters', {
      // An init process reaps the orphans the sample leaves behind (daemonized children the agent kills).
      initProcessEnabled: TASK.initProcessEnabled,
    });
    linuxParameters.addCapabilities(...TASK.addCapabilities.map(capability));
    linuxParameters.dropCapabilities(...TASK.dropCapabilities.map(capability));
    this.container = this.taskDefinition.addContainer(DETONATION_CONTAINER_NAME, {
      image,
      essential: true,
      readonlyRootFilesystem: TASK.readonlyRootFilesystem,
      user: TASK.user,
      linuxParameters,
      stopTimeout,
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'detonation' }),
    });
    if (source === 'ecr') {
      Annotations.of(this.container).acknowledgeWarning(
        '@aws-cdk/aws-ecs:ecrImageRequiresPolicy',
        'Pulls from the parsed ECR repository are granted to the execution role.',
      );
    }
    this.container.addMountPoints(
      ...TASK.scratchVolumes.map(({ name, containerPath }) => ({ sourceVolume: name, containerPath, readOnly: false })),
    );

    this.suppressNagFindings(stack, executionRole, props.emulatorCompatible ?? false);
  }

  /** The agent image: the prebuilt URI when given (granting pulls if it is in ECR), else a Docker asset of `container/`. */
  private image(
    props: DetonationClusterProps,
    cpuArchitecture: ecs.CpuArchitecture,
    executionRole: iam.IRole,
  ): { image: ecs.ContainerImage; source: 'asset' | 'ecr' | 'registry'; registryAccount?: string } {
    if (props.imageUri === undefined) {
      const asset = new DockerImageAsset(this, 'Image', {
        directory: BUILD_CONTEXT,
        file: 'container/Dockerfile',
        exclude: BUILD_EXCLUDES,
        platform: cpuArchitecture === ecs.CpuArchitecture.ARM64 ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
      });
      // The CDK bootstrap repository is in the stack's account.
      return {
        image: ecs.ContainerImage.fromDockerImageAsset(asset),
        source: 'asset',
        registryAccount: Stack.of(this).account,
      };
    }
    if (Token.isUnresolved(props.imageUri)) {
      throw new Error(
        'DetonationCluster: imageUri must be a literal image URI (its registry decides the endpoints and grants).',
      );
    }
    const ecrImage = ECR_IMAGE_URI.exec(props.imageUri)?.groups as
      | { account: string; region: string; repository: string }
      | undefined;
    if (!ecrImage) {
      Annotations.of(this).addWarningV2(
        'sandtrap:detonation-image-registry',
        `imageUri ${props.imageUri} is not a private ECR image: Fargate can't pull it from the isolated subnets (fine for emulators only).`,
      );
      return { image: ecs.ContainerImage.fromRegistry(props.imageUri), source: 'registry' };
    }
    const { account, region, repository: repositoryName } = ecrImage;
    const stackRegion = Stack.of(this).region;
    if (!Token.isUnresolved(stackRegion) && stackRegion !== region) {
      Annotations.of(this).addWarningV2(
        'sandtrap:detonation-image-region',
        `imageUri is in ${region}, but the VPC endpoints only reach ECR in ${stackRegion}.`,
      );
    }
    const repository = ecr.Repository.fromRepositoryAttributes(this, 'ImageRepository', {
      repositoryName,
      repositoryArn: `arn:${Aws.PARTITION}:ecr:${region}:${account}:repository/${repositoryName}`,
    });
    repository.grantPull(executionRole);
    return { image: ecs.ContainerImage.fromRegistry(props.imageUri), source: 'ecr', registryAccount: account };
  }

  /**
   * The only ways out of the VPC: the S3 gateway endpoint, and the interface endpoints the task
   * needs to start (ECR) and to log, each with a policy a sample's own credentials don't satisfy.
   */
  /**
   * Lets the task download samples of one more bucket: its objects join the S3 endpoint's
   * `ReadSamples` statement (still for presigned URLs of this account's principals only), and its
   * regional name the DNS firewall's allowed names.
   */
  addSampleBucket(bucket: s3.IBucket): void {
    if (this.readSamples) this.readSamples.addResources(bucket.arnForObjects('*'));
    else {
      this.readSamples = new iam.PolicyStatement({
        sid: 'ReadSamples',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects('*')],
        conditions: { StringEquals: { 'aws:PrincipalAccount': Stack.of(this).account } },
      });
      this.s3Endpoint.addToPolicy(this.readSamples);
    }
    this.allowedDomains.push(`${bucket.bucketName}.s3.${Aws.REGION}.${Aws.URL_SUFFIX}`);
  }

  private addEndpoints(props: DetonationClusterProps, fromEcr: boolean): void {
    const account = Stack.of(this).account;
    const s3Endpoint = this.vpc.addGatewayEndpoint('S3', {
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: [this.subnets],
    });
    this.s3Endpoint = s3Endpoint;
    for (const bucket of props.sampleBuckets ?? []) this.addSampleBucket(bucket);
    // Presigned URLs carry the signature of a principal of this account (the workflow's function).
    const ourAccount = { StringEquals: { 'aws:PrincipalAccount': account } };
    for (const [sid, action, resource] of [
      ['WriteReports', 's3:PutObject', props.reportsBucket.arnForObjects('reports/*')],
    ] as const) {
      s3Endpoint.addToPolicy(
        new iam.PolicyStatement({
          sid,
          principals: [new iam.AnyPrincipal()],
          actions: [action],
          resources: [resource],
          conditions: ourAccount,
        }),
      );
    }
    if (fromEcr) {
      // ECR serves image layers from this AWS-owned bucket through URLs ECR signs itself, so no
      // principal condition can apply; read-only on one AWS bucket gives a sample nothing to write to.
      s3Endpoint.addToPolicy(
        new iam.PolicyStatement({
          sid: 'PullImageLayers',
          principals: [new iam.AnyPrincipal()],
          actions: ['s3:GetObject'],
          resources: [`arn:${Aws.PARTITION}:s3:::prod-${Aws.REGION}-starport-layer-bucket/*`],
        }),
      );
    }
    const rules = !props.emulatorCompatible;
    if (rules) {
      const s3PrefixListId = props.s3PrefixListId ?? this.lookUpS3PrefixList();
      this.securityGroup.addEgressRule(
        ec2.Peer.prefixList(s3PrefixListId),
        ec2.Port.tcp(443),
        'S3 through the gateway endpoint',
      );
    }

    const endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Sandtrap detonation VPC interface endpoints: HTTPS from the detonation task only',
      allowAllOutbound: false,
    });
    if (rules)
      this.securityGroup.connections.allowTo(endpointSecurityGroup, ec2.Port.tcp(443), 'VPC interface endpoints');
    const services: [string, ec2.InterfaceVpcEndpointAwsService][] = [
      ['Logs', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
    ];
    if (fromEcr)
      services.push(
        ['EcrApi', ec2.InterfaceVpcEndpointAwsService.ECR],
        ['EcrDocker', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER],
      );
    for (const [id, service] of services) {
      const endpoint = this.vpc.addInterfaceEndpoint(id, {
        service,
        subnets: this.subnets,
        privateDnsEnabled: true,
        securityGroups: [endpointSecurityGroup],
        // `open` would admit the whole VPC CIDR; the rule above admits the task only.
        open: false,
      });
      // Image pulls and log delivery use the execution role; credentials a sample brings belong to
      // another account, so it can't push layers or log events out through these endpoints.
      endpoint.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ThisAccountOnly',
          principals: [new iam.AnyPrincipal()],
          actions: ['*'],
          resources: ['*'],
          conditions: ourAccount,
        }),
      );
    }
  }

  /** ID of `com.amazonaws.<region>.s3`, which only the EC2 API knows (no CloudFormation attribute exposes it). */
  private lookUpS3PrefixList(): string {
    const call: cr.AwsSdkCall = {
      service: 'EC2',
      action: 'describePrefixLists',
      parameters: { Filters: [{ Name: 'prefix-list-name', Values: [ec2.GatewayVpcEndpointAwsService.S3.name] }] },
      physicalResourceId: cr.PhysicalResourceId.fromResponse('PrefixLists.0.PrefixListId'),
      outputPaths: ['PrefixLists.0.PrefixListId'],
    };
    const lookup = new cr.AwsCustomResource(this, 'S3PrefixList', {
      onCreate: call,
      onUpdate: call,
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
      // The SDK in the Lambda runtime has DescribePrefixLists; installing the latest would need npm at deploy time.
      installLatestAwsSdk: false,
    });
    return lookup.getResponseField('PrefixLists.0.PrefixListId');
  }

  /** The cdk-nag AwsSolutions findings this construct accepts, each on its resource with the reason. */
  private suppressNagFindings(stack: Stack, executionRole: iam.Role, emulatorCompatible: boolean): void {
    if (emulatorCompatible) {
      NagSuppressions.addResourceSuppressions(this.vpc, [
        {
          id: 'AwsSolutions-VPC7',
          reason:
            'emulatorCompatible: the emulator does not know AWS::EC2::FlowLog; the task has no egress at all there.',
        },
      ]);
    }
    NagSuppressions.addResourceSuppressions(
      executionRole,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'ecr:GetAuthorizationToken only accepts Resource "*" (service limitation); the layer actions are scoped to the image repository.',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
    const lookup = this.node.tryFindChild('S3PrefixList');
    if (!lookup) return;
    NagSuppressions.addResourceSuppressions(
      lookup,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'ec2:DescribePrefixLists has no resource-level permissions, so the prefix-list lookup can only be granted on Resource "*".',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
    const provider = stack.node.tryFindChild(`AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
    if (provider) {
      NagSuppressions.addResourceSuppressions(
        provider,
        [
          {
            id: 'AwsSolutions-IAM4',
            reason:
              "CDK's AwsCustomResource provider role uses AWSLambdaBasicExecutionRole (CloudWatch Logs writes only) for its own logging.",
            appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
          },
        ],
        true,
      );
    }
  }
}

/** ECS's spelling of a capability name of {@link DETONATION_TASK_SETTINGS}. */
function capability(name: CapabilityName): ecs.Capability {
  const value = ecs.Capability[name];
  if (!value) throw new Error(`DetonationCluster: unknown capability ${name}`);
  return value;
}

/**
 * The names the detonation VPC may resolve, besides each sample bucket's: the reports bucket of the
 * presigned upload (the SDK signs virtual-hosted URLs, `<bucket>.s3.<region>.amazonaws.com`), CloudWatch Logs for the log driver and,
 * when the image comes from ECR, what the image pull resolves (its API, its registry and the layer
 * bucket). Every one is in a zone AWS operates, so no query can reach a name server a sample's
 * authors run.
 */
function detonationDomains(props: DetonationClusterProps, registryAccount: string | undefined): string[] {
  const regional = (name: string) => `${name}.${Aws.REGION}.${Aws.URL_SUFFIX}`;
  const domains = [regional(`${props.reportsBucket.bucketName}.s3`), regional('logs')];
  if (registryAccount !== undefined)
    domains.push(
      regional('api.ecr'),
      regional(`${registryAccount}.dkr.ecr`),
      regional(`prod-${Aws.REGION}-starport-layer-bucket.s3`),
    );
  return domains;
}

/**
 * The selection of an app's VPC to run the task in, refused unless every subnet it selects is one of
 * the VPC's isolated subnets: a subnet with a route to an internet or NAT gateway would give a sample
 * the internet, whatever the security group says about the endpoints.
 */
function isolatedSelection(vpc: ec2.IVpc, selection: ec2.SubnetSelection | undefined, maxAzs: number | undefined) {
  if (maxAzs !== undefined) throw new Error('DetonationCluster: maxAzs sizes the VPC Sandtrap makes; give it or a vpc');
  const chosen = selection ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  const selected = vpc.selectSubnets(chosen).subnets;
  if (selected.length === 0)
    throw new Error(`DetonationCluster: the vpc ${vpc.node.path} has no isolated subnet to run the detonation in`);
  const isolated = new Set(vpc.isolatedSubnets.map((subnet) => subnet.subnetId));
  const open = selected.filter((subnet) => !isolated.has(subnet.subnetId));
  if (open.length > 0)
    throw new Error(
      `DetonationCluster: the detonation runs in isolated subnets only (no route to an internet or NAT gateway); ${open.map((subnet) => subnet.node.path).join(', ')} of ${vpc.node.path} is not one`,
    );
  return chosen;
}
