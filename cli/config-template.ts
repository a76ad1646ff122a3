import type * as z from 'zod';
import { VendorConfigSchema } from '../lambdas/core/config/runtime-config';
import type { VendorId } from '../lambdas/core/contracts/pipeline';
import { SandtrapConfigSchema } from '../lib/config';

/**
 * `sandtrap config init`: a commented configuration file (JSON with comments, which `cdk deploy`
 * and the CLI read through `SANDTRAP_CONFIG_FILE`) naming every key with its default. The keys and
 * the defaults come from the configuration schema itself; only the comments are written here, and
 * a test checks that every key of the schema has one, so a new setting cannot go undocumented.
 */

/** What each key is for, by its dotted path. `example` is shown (commented out) for keys without a default. */
export const CONFIG_COMMENTS: Record<string, { text: string; example?: unknown }> = {
  ingestPrefix: { text: 'Only objects under this prefix are analysed; absent: every object.', example: 'uploads/' },
  sources: {
    text: 'Buckets the account already has, analysed beside the ingest bucket: [{"bucket", "prefixes"?, "kmsKeyArn"?, "confidential"?, "vendors"?, "eventBridge"?, "readBlockingAppliedByOwner"?}].',
  },
  busName: {
    text: 'The verdict event bus; give each deployment in one account and region its own. Absent: "sandtrap".',
    example: 'sandtrap-staging',
  },
  engineConcurrency: { text: 'Engines of one analysis that run at once (the Map state).' },
  reportRetentionDays: { text: 'Days reports stay in the reports bucket.' },
  ingestNoncurrentDays: {
    text: 'Days overwritten uploads are kept (noncurrent versions); at least sweep.lookbackDays.',
  },
  bundleAwsSdk: { text: "Bundle the AWS SDK into the functions instead of using the Lambda runtime's copy." },
  actions: {
    text: 'Acting on verdicts beyond the sandtrap:verdict and sandtrap:score tags, which are always written.',
  },
  'actions.readBlocking': {
    text: 'Deny reading objects until they are tagged benign, to everyone but the pipeline and the admin roles.',
  },
  'actions.readBlocking.enabled': { text: 'Turn read-blocking on.' },
  'actions.readBlocking.adminRoleArns': {
    text: 'Roles that may read any object and change the verdict tags (analysts who run `sandtrap release`).',
  },
  'actions.readBlocking.unknown': { text: '"block" or "allow": whether objects no engine could judge open.' },
  'actions.quarantine': { text: 'Move malicious objects to a quarantine bucket (same key, tags kept).' },
  'actions.quarantine.enabled': { text: 'Turn quarantine on.' },
  detonationTask: { text: 'The Fargate task that detonates Linux samples.' },
  'detonationTask.capacity': { text: '"on-demand" or "spot" (x86_64 only; a failed Spot run runs again on demand).' },
  'detonationTask.imageUri': {
    text: 'A prebuilt detonation image (ECR URI); absent: built from container/ at deploy.',
    example: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/sandtrap-detonation:1',
  },
  'detonationTask.s3PrefixListId': {
    text: "The region's S3 gateway prefix list, which the task's security group allows; absent: looked up.",
    example: 'pl-6da54004',
  },
  'detonationTask.cpu': { text: "The task's CPU units (1024 = 1 vCPU); absent: 2048.", example: 1024 },
  'detonationTask.memoryLimitMiB': { text: "The task's memory; absent: 4096.", example: 2048 },
  'detonationTask.emulatorCompatible': {
    text: 'No VPC flow log or security-group rules, for CloudFormation emulators; never on AWS.',
    example: false,
  },
  'detonationTask.vpc': {
    text: "The account's own VPC for the task, dedicated to it, by its attributes; absent: Sandtrap makes one. Its subnets must be isolated (no route to an internet or NAT gateway).",
    example: {
      vpcId: 'vpc-0a1b2c3d4e5f60718',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      isolatedSubnetIds: ['subnet-0aaa1111bbbb2222c', 'subnet-0ddd3333eeee4444f'],
      isolatedSubnetRouteTableIds: ['rtb-0aaa1111bbbb2222c', 'rtb-0ddd3333eeee4444f'],
    },
  },
  'detonationTask.vpc.vpcId': { text: 'The VPC id.' },
  'detonationTask.vpc.availabilityZones': { text: 'Its zones, in the order of the subnets.' },
  'detonationTask.vpc.isolatedSubnetIds': { text: 'The isolated subnets the task runs in, zone by zone.' },
  'detonationTask.vpc.isolatedSubnetRouteTableIds': {
    text: "Each subnet's route table, in the same order (the S3 gateway endpoint goes on them).",
  },
  staticEngine: { text: "The static engine's Python Lambda." },
  'staticEngine.emulatorPython': {
    text: "Build its wheels for this machine's Python instead of Lambda's (emulators only; never AWS).",
    example: '3.11',
  },
  alarms: { text: 'Who hears the alarms.' },
  'alarms.emails': { text: 'Addresses subscribed to the alarm topic.' },
  settings: { text: 'What every function reads.' },
  'settings.cacheTtlSeconds': { text: 'A verdict younger than this is reused for the same bytes.' },
  'settings.engineDeadlineSeconds': { text: 'An engine without a report by then ends with "timeout".' },
  'settings.rateLimitShards': { text: "Shards of the vendors' shared rate counters (spread DynamoDB writes)." },
  'settings.peerWaitSeconds': { text: 'How long an upload of bytes under analysis waits for that analysis.' },
  'settings.maxObjectBytes': { text: 'Largest object analysed; a larger one ends "Sample Analysis Failed".' },
  'settings.reportLinkExpirySeconds': { text: "How long the event's presigned report link stays valid." },
  'settings.poll': { text: 'How long to wait between polls of a vendor.' },
  'settings.poll.scheduleSeconds': { text: 'Backoff when the vendor gives no hint: the last entry repeats.' },
  'settings.poll.elapsedFraction': {
    text: 'After the first look, without a vendor hint, wait at least this fraction of the time taken so far (0: off).',
  },
  'settings.poll.useVendorHints': { text: "Follow the vendor's own estimate when it gives one." },
  'settings.poll.minWaitSeconds': { text: 'Shortest wait between two polls.' },
  'settings.poll.maxWaitSeconds': { text: 'Longest wait between two polls.' },
  'settings.policy': { text: 'How engine scores become a verdict.' },
  'settings.policy.method': { text: '"max" (the highest score decides) or "mean".' },
  'settings.policy.suspiciousAt': { text: 'Scores from here are suspicious.' },
  'settings.policy.maliciousAt': { text: 'Scores from here are malicious.' },
  'settings.vendors': { text: 'The vendor sandboxes files are submitted to (`sandtrap config init --vendors ...`).' },
  'settings.detonation': { text: 'Our own Linux detonation.' },
  'settings.detonation.enabled': { text: 'Detonate the file types below.' },
  'settings.detonation.fileTypes': { text: 'File types (as triage names them) that are detonated.' },
  'settings.detonation.maxFileBytes': { text: 'Largest file detonated.' },
  'settings.detonation.maxConcurrentTasks': {
    text: 'Detonation tasks at once; absent: the vCPU quota over the task vCPUs.',
    example: 3,
  },
  'settings.detonation.fargateVcpuQuota': { text: "The account's Fargate vCPU quota that detonations may use." },
  'settings.detonation.taskVcpu': { text: 'vCPUs of one detonation task.' },
  'settings.detonation.agent': {
    text: "The agent's settings: memory_limit, cpu_limit, timeout, idle_timeout, disk_limit, allowed_ports, ... (README).",
  },
  'settings.static': { text: 'The static engine (YARA-X and structural analysers), run for every file.' },
  'settings.static.enabled': { text: 'Run the static engine.' },
  'settings.static.maxFileBytes': { text: 'Largest file analysed statically.' },
  'settings.static.rulePacks': { text: 'Extra YARA rule packs read from S3.' },
  'settings.static.rulePacks.bucket': {
    text: 'The bucket holding the rule packs; absent: none.',
    example: 'my-yara-rules',
  },
  'settings.static.rulePacks.prefix': { text: 'Key prefix of the rule packs.' },
  'settings.static.rulePacks.refreshSeconds': { text: 'How often a warm function looks for new packs.' },
  'settings.sources': {
    text: 'Disclosure rules: [{"bucket"?, "prefix", "confidential", "vendors"?}]; a confidential source reaches no vendor unless "vendors" names it.',
  },
  sweep: { text: 'The sweep that re-drives uploads left without a verdict (a lost event, an execution that died).' },
  'sweep.deadlineMinutes': { text: 'An upload without any record this long after it was written is re-driven.' },
  'sweep.lookbackDays': { text: 'Uploads older than this are not looked at.' },
  'sweep.maxRedrivesPerRun': { text: 'Executions one run starts at most.' },
  'sweep.maxAttempts': { text: 'Re-drives of one upload at most.' },
  'sweep.rateMinutes': { text: 'Minutes between two runs.' },
};

/** Keys of a vendor entry. */
export const VENDOR_COMMENTS: Record<string, { text: string; example?: unknown }> = {
  id: { text: 'Which connector.' },
  baseUrl: { text: "The vendor's API root." },
  secret: {
    text: 'The API key: {"arn": "<Secrets Manager ARN>"} deployed, {"env": "VAR"} locally, or {"anonymous": true}.',
  },
  reportPageUrl: {
    text: "The vendor's web page of one analysis, {id} standing for its id (https only); absent: derived where known.",
    example: 'https://sandbox.example.org/analysis/{id}/',
  },
  options: { text: 'Vendor options (environment id, profile, package...): see the README of the connector.' },
  maxFileBytes: { text: 'Largest sample the vendor accepts; absent: no limit of ours.', example: 104857600 },
  fileTypes: { text: 'File types the vendor gets; absent: all.', example: ['pe', 'office', 'pdf'] },
  timeZone: { text: 'IANA zone of the naive timestamps the vendor writes (Cuckoo, CAPE).' },
  analysisTimeoutSeconds: { text: 'How long the vendor runs the sample, where it takes the option.' },
  requestTimeoutMs: { text: 'Timeout of each request (connect, headers, body).' },
  verifyTls: { text: 'TLS verification; turn off only for an appliance with a private CA.' },
  proxyUrl: { text: "HTTP(S) proxy for this vendor's requests.", example: 'http://proxy.internal:3128' },
  requestsPerMinute: { text: 'Requests a minute across every execution; absent: unlimited.', example: 30 },
  submissionsPerDay: { text: 'Submissions a UTC day across every execution; absent: unlimited.', example: 500 },
  whenDailyQuotaSpent: { text: '"wait" for a later day\'s slot, or "end" the engine with quota_exceeded.' },
  maxQueueSeconds: { text: 'The longest a sample waits for its submission slot.' },
};

/** Where each vendor's API lives: the public clouds' own roots, example hosts for self-hosted products. */
export const VENDOR_EXAMPLES: Record<
  VendorId,
  { baseUrl: string; options?: Record<string, string | number | boolean> }
> = {
  cape: { baseUrl: 'https://cape.example.org/apiv2/' },
  cuckoo: { baseUrl: 'http://cuckoo.example.org:8090/' },
  falcon: { baseUrl: 'https://www.hybrid-analysis.com/api/v2/', options: { environmentId: 100 } },
  fireeye: { baseUrl: 'https://fireeye.example.org/wsapis/v2.0.0/' },
  joe: { baseUrl: 'https://jbxcloud.joesecurity.org/api/', options: { acceptTac: true } },
  vmray: { baseUrl: 'https://cloud.vmray.com/rest/' },
  wildfire: { baseUrl: 'https://wildfire.paloaltonetworks.com/publicapi/' },
  triage: { baseUrl: 'https://tria.ge/api/v0/' },
  opswat: { baseUrl: 'https://www.filescan.io/api/' },
};

/** Keys that are never written: test stacks only. */
const OMITTED = new Set(['faultInjection']);

type AnySchema = z.ZodType & { _zod: { def: Record<string, unknown> & { type: string } } };

/** The schema under `.default()`, `.optional()` and pipes: what the key holds. */
function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  for (;;) {
    const def = s._zod.def;
    if (def.type === 'default' || def.type === 'optional' || def.type === 'prefault' || def.type === 'nullable')
      s = def.innerType as AnySchema;
    else if (def.type === 'pipe') s = def.in as AnySchema;
    else return s;
  }
}

function shapeOf(schema: AnySchema): Record<string, AnySchema> | undefined {
  const inner = unwrap(schema);
  return inner._zod.def.type === 'object' ? (inner._zod.def.shape as Record<string, AnySchema>) : undefined;
}

/** Every key path of the configuration schema (objects and leaves), in the schema's order. */
export function configKeyPaths(
  schema: AnySchema = SandtrapConfigSchema as unknown as AnySchema,
  prefix = '',
): string[] {
  const shape = shapeOf(schema);
  if (!shape) return [];
  return Object.entries(shape).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (!prefix && OMITTED.has(key)) return [];
    return [path, ...(path === 'settings.vendors' ? [] : configKeyPaths(child, path))];
  });
}

/** Every key of a vendor entry. */
export function vendorKeyPaths(): string[] {
  return Object.keys(shapeOf(VendorConfigSchema as unknown as AnySchema) ?? {});
}

function comment(text: string, indent: string): string {
  return `${indent}// ${text}\n`;
}

/** Renders an object of the schema with its parsed defaults, one key per line with its comment. */
function renderObject(
  schema: AnySchema,
  value: Record<string, unknown>,
  path: string,
  indent: string,
  comments: Record<string, { text: string; example?: unknown }>,
  vendorsJson: (indent: string) => string,
): string {
  const shape = shapeOf(schema) ?? {};
  const keys = Object.keys(shape).filter((key) => !(path === '' && OMITTED.has(key)));
  const lines: string[] = [];
  const written = keys.filter((key) => value[key] !== undefined || key === 'vendors');
  keys.forEach((key) => {
    const keyPath = path ? `${path}.${key}` : key;
    const note = comments[keyPath] ?? comments[key];
    let text = note ? comment(note.text, indent) : '';
    const last = written.at(-1) === key;
    const child = shape[key] as AnySchema;
    const childValue = value[key];
    if (keyPath === 'settings.vendors') {
      text += `${indent}${JSON.stringify(key)}: ${vendorsJson(indent)}${last ? '' : ','}\n`;
    } else if (childValue === undefined) {
      // No default: shown commented out, with an example, so the file stays valid as written.
      text += `${indent}// ${JSON.stringify(key)}: ${JSON.stringify(note?.example ?? null)},\n`;
    } else if (shapeOf(child) && childValue && typeof childValue === 'object' && !Array.isArray(childValue)) {
      text += `${indent}${JSON.stringify(key)}: {\n${renderObject(child, childValue as Record<string, unknown>, keyPath, `${indent}  `, comments, vendorsJson)}${indent}}${last ? '' : ','}\n`;
    } else {
      text += `${indent}${JSON.stringify(key)}: ${JSON.stringify(childValue)}${last ? '' : ','}\n`;
    }
    lines.push(text);
  });
  return lines.join('');
}

/**
 * The configuration file `config init` writes: every key with its default (or, without one,
 * commented out with an example), each under a comment; the vendors named get an entry each with
 * every vendor key, their credentials read from the environment (`SANDTRAP_<VENDOR>_API_KEY`) until
 * the entry names a Secrets Manager ARN.
 */
export function renderConfigTemplate(vendors: readonly VendorId[] = []): string {
  const defaults = SandtrapConfigSchema.parse({}) as unknown as Record<string, unknown>;
  const vendorSchema = VendorConfigSchema as unknown as AnySchema;
  const vendorsJson = (indent: string) => {
    if (vendors.length === 0) return '[]';
    const entries = vendors.map((id) => {
      const example = VENDOR_EXAMPLES[id];
      const entry = VendorConfigSchema.parse({
        id,
        baseUrl: example.baseUrl,
        secret: { env: `SANDTRAP_${id.toUpperCase()}_API_KEY` },
        options: example.options ?? {},
      }) as unknown as Record<string, unknown>;
      return `${indent}  {\n${renderObject(vendorSchema, entry, '', `${indent}    `, VENDOR_COMMENTS, () => '[]')}${indent}  }`;
    });
    return `[\n${entries.join(',\n')}\n${indent}]`;
  };
  return `// Sandtrap configuration (JSON with comments). Use it with SANDTRAP_CONFIG_FILE=<this file> for
// \`npx cdk deploy\` and for the local \`sandtrap analyze\`. Every key is shown with its default;
// keys without one are commented out with an example. Written by \`sandtrap config init\`.
{
${renderObject(SandtrapConfigSchema as unknown as AnySchema, defaults, '', '  ', CONFIG_COMMENTS, vendorsJson)}}
`;
}
