import * as z from 'zod';
import {
  executionTimeoutSeconds,
  parseSettings,
  RuntimeSettingsSchema,
  type RuntimeSettings,
} from '../lambdas/core/config/runtime-config';
import { FaultInjectionSchema } from '../lambdas/core/runtime/fault-injection';
import { SweepSettingsSchema } from '../lambdas/core/sweep/sweep-config';
import { VendorIdSchema } from '../lambdas/core/contracts/pipeline';

/**
 * The scheduled sweep that re-drives uploads left without a terminal record (a lost event, an
 * execution that died): how often it runs, plus the settings its function reads.
 */
export const SweepScheduleSchema = SweepSettingsSchema.safeExtend({
  /** Minutes between two runs. */
  rateMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(15),
});

/** The most prefixes one source may name: each is an event pattern filter and an IAM resource. */
export const MAX_SOURCE_PREFIXES = 10;

/** A bucket the app already has, attached by name from the configuration file. */
export const ImportedSourceSchema = z
  .object({
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name'),
    prefixes: z.array(z.string().min(1).max(1024)).max(MAX_SOURCE_PREFIXES).optional(),
    kmsKeyArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'a KMS key ARN')
      .optional(),
    confidential: z.boolean().optional(),
    vendors: z.array(VendorIdSchema).optional(),
    eventBridge: z.enum(['enable', 'enabled-by-owner']).optional(),
    readBlockingAppliedByOwner: z.boolean().optional(),
  })
  .strict();

/**
 * A VPC the account's network team made for the detonation, named by its attributes (as
 * `ec2.Vpc.fromVpcAttributes` takes them): its isolated subnets, one per zone or a multiple of the
 * zones, each with its route table, which the S3 gateway endpoint's policy goes on.
 */
export const DetonationNetworkSchema = z
  .object({
    vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'a VPC id (vpc-…)'),
    availabilityZones: z
      .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, 'an availability zone name (eu-west-1a)'))
      .min(1)
      .max(6),
    isolatedSubnetIds: z
      .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id (subnet-…)'))
      .min(1)
      .max(16),
    isolatedSubnetRouteTableIds: z
      .array(z.string().regex(/^rtb-[0-9a-f]{8,17}$/, 'a route table id (rtb-…)'))
      .min(1)
      .max(16),
  })
  .strict()
  .superRefine((network, ctx) => {
    if (network.isolatedSubnetRouteTableIds.length !== network.isolatedSubnetIds.length)
      ctx.addIssue({
        code: 'custom',
        path: ['isolatedSubnetRouteTableIds'],
        message: 'one route table per isolated subnet, in the same order',
      });
    if (network.isolatedSubnetIds.length % network.availabilityZones.length !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['isolatedSubnetIds'],
        message: `as many subnets in each of the ${network.availabilityZones.length} zones (a multiple of the zones, in their order)`,
      });
  });

/** Props of the whole pipeline, validated with zod at synth time. */
export const SandtrapConfigSchema = z
  .object({
    /** Only objects under this prefix are analysed; default: every object. */
    ingestPrefix: z.string().optional(),
    /**
     * Buckets the app already has, attached as sources beside the ingest bucket Sandtrap creates
     * (same account; a bucket of another account forwards its events itself: `eventBridge:
     * 'enabled-by-owner'`). Each: its name, the prefixes analysed, the KMS key of an SSE-KMS bucket,
     * its disclosure rule (`confidential`, `vendors`).
     */
    sources: z.array(ImportedSourceSchema).max(50).default([]),
    /** Name of the verdict event bus; give each deployment in one account and region its own. Default `sandtrap`. */
    busName: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,256}$/, 'an EventBridge bus name (letters, digits, . _ -)')
      .optional(),
    /** How many engines of one analysis run at once (the Map state's MaxConcurrency). */
    engineConcurrency: z.number().int().min(0).max(40).default(10),
    /** Days reports are kept in the reports bucket before they expire. */
    reportRetentionDays: z.number().int().positive().default(365),
    /**
     * Days noncurrent versions of ingested objects are kept (the ingest bucket's noncurrent-version
     * expiry): an overwritten upload stays analysable this long, and must stay for the sweep's lookback.
     */
    ingestNoncurrentDays: z
      .number()
      .int()
      .positive()
      .max(10 * 365)
      .default(30),
    /** Bundle the AWS SDK into the functions instead of using the runtime's copy. */
    bundleAwsSdk: z.boolean().default(false),
    /** Settings every function reads (cache TTL, engine deadline, polling, verdict policy, vendors). */
    /** Acting on verdicts beyond tags (which are always written). */
    actions: z
      .object({
        /**
         * Deny GetObject on ingested objects not tagged `sandtrap:verdict=benign`, for every principal
         * but the pipeline and these admin roles; and deny everyone else changing the objects' tags.
         * `unknown: 'allow'` opens objects no engine could judge too (default: they stay blocked).
         */
        readBlocking: z
          .object({
            enabled: z.boolean().default(false),
            adminRoleArns: z.array(z.string().startsWith('arn:')).default([]),
            unknown: z.enum(['block', 'allow']).default('block'),
          })
          .strict()
          .default({ enabled: false, adminRoleArns: [], unknown: 'block' }),
        /** Move malicious objects to a quarantine bucket (same key, metadata and tags kept). */
        quarantine: z
          .object({ enabled: z.boolean().default(false) })
          .strict()
          .default({ enabled: false }),
      })
      .strict()
      .default({
        readBlocking: { enabled: false, adminRoleArns: [], unknown: 'block' },
        quarantine: { enabled: false },
      }),
    /** The Fargate detonation task. `imageUri`: a prebuilt image (no Docker build at deploy: air-gapped, CI, emulators). */
    detonationTask: z
      .object({
        /**
         * `spot` starts the task on Fargate Spot (up to 70% off, x86_64 only) and runs it again
         * on-demand when the Spot run fails: interrupted, or no Spot capacity (see `DetonationClusterProps`).
         */
        capacity: z.enum(['on-demand', 'spot']).default('on-demand'),
        imageUri: z.string().min(1).optional(),
        s3PrefixListId: z
          .string()
          .regex(/^pl-[0-9a-f]+$/)
          .optional(),
        cpu: z.number().int().positive().optional(),
        memoryLimitMiB: z.number().int().positive().optional(),
        /** No VPC flow log and no security-group rules, for CloudFormation emulators (see `DetonationClusterProps`). */
        emulatorCompatible: z.boolean().optional(),
        /**
         * The account's own VPC for the task, by its attributes, instead of one Sandtrap makes: what
         * the construct's `detonationVpc` takes, for a deployment from the configuration file.
         */
        vpc: DetonationNetworkSchema.optional(),
      })
      .strict()
      .default({ capacity: 'on-demand' }),
    /**
     * The static engine's Lambda. `emulatorPython`: build its wheels for this machine's architecture
     * and this Python (`3.11`) instead of Lambda's arm64 Python 3.12, for emulators that run Python
     * functions on the host's interpreter (MiniStack); never for AWS.
     */
    staticEngine: z
      .object({
        emulatorPython: z
          .string()
          .regex(/^3\.\d{1,2}$/, 'a Python version as major.minor')
          .optional(),
      })
      .strict()
      .default({}),
    /** Who hears the alarms: email addresses subscribed to the alarm topic (SNS). */
    alarms: z
      .object({ emails: z.array(z.email()).max(20).default([]) })
      .strict()
      .default({ emails: [] }),
    settings: RuntimeSettingsSchema.default(RuntimeSettingsSchema.parse({})),
    /** Test stacks only: crashes and DynamoDB throttling for the uploads a test names by key (see `lambdas/core/runtime/fault-injection.ts`). */
    faultInjection: FaultInjectionSchema.optional(),
    /** The re-drive sweep: `{rateMinutes, deadlineMinutes, lookbackDays, maxRedrivesPerRun, maxAttempts}`. */
    sweep: SweepScheduleSchema.default(SweepScheduleSchema.parse({})),
  })
  .strict()
  .superRefine((config, ctx) => {
    // A claim goes stale after the state machine's timeout; the sweep must still look that far back.
    const timeoutSeconds = executionTimeoutSeconds(config.settings);
    if (config.sweep.lookbackDays * 24 * 3600 <= timeoutSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['sweep', 'lookbackDays'],
        message: `must reach further back than an execution can run (${timeoutSeconds} s)`,
      });
    }
    // A version the sweep re-drives must still exist when its execution reads it.
    if (config.ingestNoncurrentDays < config.sweep.lookbackDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['ingestNoncurrentDays'],
        message: `must keep overwritten uploads at least as long as the sweep looks back (sweep.lookbackDays: ${config.sweep.lookbackDays})`,
      });
    }
  });
export type SandtrapConfig = z.infer<typeof SandtrapConfigSchema>;
export type SandtrapConfigInput = z.input<typeof SandtrapConfigSchema>;

/** Validates pipeline props, naming every invalid field. */
export function parseSandtrapConfig(raw: unknown): SandtrapConfig {
  const parsed = SandtrapConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new Error(`invalid Sandtrap configuration: ${z.prettifyError(parsed.error)}`);
  return { ...parsed.data, settings: parseSettings(parsed.data.settings) };
}

export type { RuntimeSettings };
