import { FUNCTION_IDS, type FunctionId } from '../lib/steps';

/** A CloudFormation template, as far as the local runtime reads it. */
export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
  Outputs?: Record<string, { Value: unknown }>;
}

/** Account, region and names that stand in for AWS locally. */
export const LOCAL_ENV = { region: 'us-east-1', account: '000000000000', partition: 'aws' } as const;

/** What the local runtime needs from the synthesized template: the very definition CDK wrote. */
export interface LocalPlan {
  /** The Standard workflow: every engine, waits included. */
  stateMachineName: string;
  definition: Record<string, unknown>;
  /** The Express front every upload starts. */
  front: { stateMachineName: string; definition: Record<string, unknown> };
  functions: Record<FunctionId, { name: string; environment: Record<string, string> }>;
  buckets: { ingest: string; reports: string; all: string[] };
  tables: LocalTable[];
  bus: string;
}

/** A global secondary index as the local runtime creates it. */
export interface LocalIndex {
  name: string;
  partitionKey: string;
  sortKey?: string;
  /** `INCLUDE`'s attributes; absent for `ALL` and `KEYS_ONLY`. */
  projection: { type: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; attributes?: string[] };
}

/** A table as the local runtime creates it. */
export interface LocalTable {
  name: string;
  partitionKey: string;
  sortKey?: string;
  indexes?: LocalIndex[];
}

function constructPath(resource: CfnTemplate['Resources'][string]): string | undefined {
  const path = resource.Metadata?.['aws:cdk:path'];
  return typeof path === 'string' ? path : undefined;
}

/** A deterministic local name for a resource, from its construct path (stable across logical-id hash changes). */
function localName(logicalId: string, resource: CfnTemplate['Resources'][string]): string {
  const props = resource.Properties ?? {};
  const explicit = props.BucketName ?? props.TableName ?? props.Name ?? props.FunctionName ?? props.StateMachineName;
  if (typeof explicit === 'string') return explicit;
  const path = constructPath(resource);
  if (resource.Type === 'AWS::Lambda::Function') {
    const fn = FUNCTION_IDS.find((id) => (path ?? logicalId).includes(id));
    if (fn) return fn;
  }
  const segments = path
    ? path
        .split('/')
        .slice(1)
        .filter((s) => s !== 'Resource' && s !== 'Default')
    : [logicalId.replace(/[0-9A-F]{8}$/, '')];
  const joined = segments.join('-');
  return resource.Type === 'AWS::S3::Bucket'
    ? joined
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, 63)
    : joined;
}

function arnOf(type: string, name: string): string {
  const { region, account } = LOCAL_ENV;
  switch (type) {
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${region}:${account}:function:${name}`;
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${name}`;
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${region}:${account}:table/${name}`;
    case 'AWS::Events::EventBus':
      return `arn:aws:events:${region}:${account}:event-bus/${name}`;
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${region}:${account}:stateMachine:${name}`;
    case 'AWS::ECS::Cluster':
      return `arn:aws:ecs:${region}:${account}:cluster/${name}`;
    case 'AWS::ECS::TaskDefinition':
      return `arn:aws:ecs:${region}:${account}:task-definition/${name}:1`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${region}:${account}:${name}`;
    case 'AWS::SecretsManager::Secret':
      return `arn:aws:secretsmanager:${region}:${account}:secret:${name}`;
    default:
      return `arn:aws:local:${region}:${account}:${type.split('::').pop()?.toLowerCase()}/${name}`;
  }
}

/**
 * Resolves CloudFormation intrinsics (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`,
 * `Fn::Split`) against local names, so that the synthesized definition runs as written.
 */
export class IntrinsicResolver {
  constructor(private readonly template: CfnTemplate) {}

  private resource(logicalId: string) {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`template has no resource ${logicalId}`);
    return resource;
  }

  ref(logicalId: string): string {
    switch (logicalId) {
      case 'AWS::Partition':
        return LOCAL_ENV.partition;
      case 'AWS::Region':
        return LOCAL_ENV.region;
      case 'AWS::AccountId':
        return LOCAL_ENV.account;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return 'Sandtrap';
      case 'AWS::NoValue':
        return '';
    }
    const resource = this.resource(logicalId);
    const name = localName(logicalId, resource);
    // Ref of a state machine, secret or queue is its ARN/URL; of most others, its name.
    if (resource.Type === 'AWS::StepFunctions::StateMachine' || resource.Type === 'AWS::SecretsManager::Secret')
      return arnOf(resource.Type, name);
    return name;
  }

  getAtt(logicalId: string, attribute: string): string {
    const resource = this.resource(logicalId);
    const name = localName(logicalId, resource);
    if (attribute === 'Arn') return arnOf(resource.Type, name);
    if (attribute === 'Name' || attribute === 'TableName') return name;
    return `${name}.${attribute}`;
  }

  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [fn, arg] = entries[0] as [string, unknown];
      switch (fn) {
        case 'Ref':
          return this.ref(arg as string);
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
          return this.getAtt(id as string, attr as string);
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown[]];
          return (this.resolve(parts) as unknown[]).map(String).join(separator);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [number | string, unknown];
          return (this.resolve(list) as unknown[])[Number(index)];
        }
        case 'Fn::Split': {
          const [separator, source] = arg as [string, unknown];
          return String(this.resolve(source)).split(separator);
        }
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [arg as string, {}];
          return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
            if (name in vars) return String(this.resolve(vars[name]));
            const [id, attr] = name.split('.');
            return attr ? this.getAtt(id as string, attr) : this.ref(id as string);
          });
        }
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }
}

function findByType(template: CfnTemplate, type: string) {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

function findByPath(template: CfnTemplate, type: string, pathPart: string): string {
  const found = findByType(template, type).find(([id, r]) => {
    const path = constructPath(r);
    return path ? path.includes(`/${pathPart}/`) : id.includes(pathPart);
  });
  if (!found) throw new Error(`template has no ${type} at */${pathPart}*`);
  return localName(found[0], found[1]);
}

/** Reads everything the local runtime needs out of a synthesized Sandtrap template. */
export function localPlanOf(template: CfnTemplate): LocalPlan {
  const resolver = new IntrinsicResolver(template);
  const machines = findByType(template, 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 2) throw new Error(`expected two state machines in the template, found ${machines.length}`);
  // The front's construct is `FrontStateMachine`; the Standard workflow's is `StateMachine`.
  const isFront = ([id, r]: (typeof machines)[number]) => (constructPath(r) ?? id).includes('FrontStateMachine');
  const machineAt = (front: boolean) => {
    const found = machines.find((m) => isFront(m) === front);
    if (!found) throw new Error(`template has no ${front ? 'front' : 'Standard'} state machine`);
    const [machineId, machine] = found;
    const props = machine.Properties ?? {};
    const substitutions = (resolver.resolve(props.DefinitionSubstitutions ?? {}) ?? {}) as Record<string, unknown>;
    const definitionText = String(resolver.resolve(props.DefinitionString)).replace(
      /\$\{([^}]+)\}/g,
      (whole, name: string) => (name in substitutions ? String(substitutions[name]) : whole),
    );
    return {
      stateMachineName: localName(machineId, machine),
      definition: JSON.parse(definitionText) as Record<string, unknown>,
    };
  };
  const standard = machineAt(false);
  const front = machineAt(true);

  const functions = {} as LocalPlan['functions'];
  for (const [id, resource] of findByType(template, 'AWS::Lambda::Function')) {
    const name = localName(id, resource);
    if (!FUNCTION_IDS.includes(name as FunctionId)) continue;
    const variables = ((resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables ?? {}) as Record<string, unknown>;
    const environment = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(resolver.resolve(v))]));
    functions[name as FunctionId] = { name, environment };
  }
  const missing = FUNCTION_IDS.filter((id) => !(id in functions));
  if (missing.length) throw new Error(`template lacks functions ${missing.join(', ')}`);

  const tables = findByType(template, 'AWS::DynamoDB::Table').map(([id, resource]) => {
    type KeySchema = { AttributeName: string; KeyType: string }[];
    const schema = (resource.Properties?.KeySchema ?? []) as KeySchema;
    const indexes = (
      (resource.Properties?.GlobalSecondaryIndexes ?? []) as {
        IndexName: string;
        KeySchema: KeySchema;
        Projection?: { ProjectionType?: LocalIndex['projection']['type']; NonKeyAttributes?: string[] };
      }[]
    ).map(
      (index): LocalIndex => ({
        name: index.IndexName,
        partitionKey: index.KeySchema.find((k) => k.KeyType === 'HASH')?.AttributeName ?? 'pk',
        sortKey: index.KeySchema.find((k) => k.KeyType === 'RANGE')?.AttributeName,
        projection: {
          type: index.Projection?.ProjectionType ?? 'ALL',
          ...(index.Projection?.NonKeyAttributes ? { attributes: index.Projection.NonKeyAttributes } : {}),
        },
      }),
    );
    return {
      name: localName(id, resource),
      partitionKey: schema.find((k) => k.KeyType === 'HASH')?.AttributeName ?? 'pk',
      sortKey: schema.find((k) => k.KeyType === 'RANGE')?.AttributeName,
      ...(indexes.length ? { indexes } : {}),
    };
  });
  const bucketNames = findByType(template, 'AWS::S3::Bucket').map(([id, r]) => localName(id, r));
  return {
    ...standard,
    front,
    functions,
    buckets: {
      ingest: findByPath(template, 'AWS::S3::Bucket', 'Ingest'),
      reports: findByPath(template, 'AWS::S3::Bucket', 'Reports'),
      all: bucketNames,
    },
    tables,
    bus: findByPath(template, 'AWS::Events::EventBus', 'VerdictBus'),
  };
}
