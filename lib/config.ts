import * as z from 'zod';
import { parseSettings, RuntimeSettingsSchema, type RuntimeSettings } from '../lambdas/core/config';

/** Props of the whole pipeline, validated with zod at synth time. */
export const SandtrapConfigSchema = z
  .object({
    /** Only objects under this prefix are analysed; default: every object. */
    ingestPrefix: z.string().optional(),
    /** How many engines of one analysis run at once (the Map state's MaxConcurrency). */
    engineConcurrency: z.number().int().min(0).max(40).default(10),
    /** Days reports are kept in the reports bucket before they expire. */
    reportRetentionDays: z.number().int().positive().default(365),
    /** Days noncurrent versions of ingested objects are kept. */
    ingestNoncurrentDays: z.number().int().positive().default(30),
    /** Bundle the AWS SDK into the functions instead of using the runtime's copy. */
    bundleAwsSdk: z.boolean().default(false),
    /** Settings every function reads (cache TTL, engine deadline, polling, verdict policy, vendors). */
    /** Acting on verdicts beyond tags (which are always written). */
    actions: z
      .object({
        /**
         * Deny GetObject on ingested objects not tagged `sandtrap:verdict=benign`, for every principal
         * but the pipeline and these admin roles.
         */
        readBlocking: z.object({ enabled: z.boolean().default(false), adminRoleArns: z.array(z.string().startsWith('arn:')).default([]) }).strict().default({ enabled: false, adminRoleArns: [] }),
        /** Move malicious objects to a quarantine bucket (same key, metadata and tags kept). */
        quarantine: z.object({ enabled: z.boolean().default(false) }).strict().default({ enabled: false }),
      })
      .strict()
      .default({ readBlocking: { enabled: false, adminRoleArns: [] }, quarantine: { enabled: false } }),
    /** The Fargate detonation task. `imageUri`: a prebuilt image (no Docker build at deploy: air-gapped, CI, emulators). */
    detonationTask: z
      .object({
        imageUri: z.string().min(1).optional(),
        s3PrefixListId: z.string().regex(/^pl-[0-9a-f]+$/).optional(),
        cpu: z.number().int().positive().optional(),
        memoryLimitMiB: z.number().int().positive().optional(),
      })
      .strict()
      .default({}),
    settings: RuntimeSettingsSchema.default(RuntimeSettingsSchema.parse({})),
  })
  .strict();
export type SandtrapConfig = z.infer<typeof SandtrapConfigSchema>;
export type SandtrapConfigInput = z.input<typeof SandtrapConfigSchema>;

/** Validates pipeline props, naming every invalid field. */
export function parseSandtrapConfig(raw: unknown): SandtrapConfig {
  const parsed = SandtrapConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new Error(`invalid Sandtrap configuration: ${z.prettifyError(parsed.error)}`);
  return { ...parsed.data, settings: parseSettings(parsed.data.settings) };
}

export type { RuntimeSettings };
