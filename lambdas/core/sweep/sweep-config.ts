import * as z from 'zod';
import { ConfigError, jsonFromEnv } from '../config/runtime-config';

/**
 * How the re-drive sweep chooses and bounds its work. The CDK configuration's `sweep` carries the
 * same fields (plus its schedule), validated at synth time; the function validates them again.
 */
export const SweepSettingsSchema = z
  .object({
    /** An upload without any record this long after it was written lost its event: it is re-driven. */
    deadlineMinutes: z
      .number()
      .int()
      .positive()
      .max(7 * 24 * 60)
      .default(60),
    /** Uploads written longer ago than this are not looked at any more. */
    lookbackDays: z.number().int().positive().max(365).default(7),
    /** Re-drives started by one run at most, so that a run ends well within its timeout; the next run goes on. */
    maxRedrivesPerRun: z.number().int().positive().max(1000).default(100),
    /** Re-drives of one upload at most: an upload whose executions keep dying is left to an operator. */
    maxAttempts: z.number().int().positive().max(20).default(3),
  })
  .strict()
  .refine((s) => s.lookbackDays * 24 * 60 > s.deadlineMinutes, {
    message: 'lookbackDays must reach further back than deadlineMinutes',
    path: ['lookbackDays'],
  });
export type SweepSettings = z.infer<typeof SweepSettingsSchema>;
export type SweepSettingsInput = z.input<typeof SweepSettingsSchema>;

/** Parses the sweep's settings (from CDK props) and fails with a readable message. */
export function parseSweepSettings(raw: unknown, where = 'sweep settings'): SweepSettings {
  const parsed = SweepSettingsSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(where, parsed.error);
  return parsed.data;
}

/** Everything the sweep function needs beyond the pipeline's runtime configuration. */
export const SweepConfigSchema = SweepSettingsSchema.safeExtend({
  /** The ingest bucket Sandtrap made, whose inventory the sweep reads; absent when it made none. */
  ingestBucket: z.string().min(3).max(63).optional(),
  /**
   * Every source bucket and the prefixes analysed in it (`['']`: all): unfinished uploads of these
   * are re-driven. Absent: the ingest bucket under `ingestPrefix`.
   */
  sources: z
    .array(z.object({ bucket: z.string().min(3).max(63), prefixes: z.array(z.string().max(1024)).min(1).max(10) }))
    .max(100)
    .optional(),
  /** Only keys under this prefix are analysed, so only they are swept. */
  ingestPrefix: z.string().min(1).optional(),
  stateMachineArn: z.string().regex(/^arn:[a-z-]+:states:[^:]*:[^:]*:stateMachine:.+$/, 'a state machine ARN'),
  /** The bucket the ingest bucket's S3 Inventory is delivered to; without it lost events are not looked for. */
  inventoryBucket: z.string().min(3).max(63).optional(),
  /** Where the inventory's delivery folders are: `<destination prefix>/<source bucket>/<config id>/`. */
  inventoryPrefix: z.string().min(1).endsWith('/').optional(),
});
export type SweepConfig = z.infer<typeof SweepConfigSchema>;

/** Names of the environment variables the stack sets on the sweep function. */
export const SWEEP_ENV = {
  ingestBucket: 'SANDTRAP_INGEST_BUCKET',
  ingestPrefix: 'SANDTRAP_INGEST_PREFIX',
  sources: 'SANDTRAP_SWEEP_SOURCES',
  stateMachineArn: 'SANDTRAP_STATE_MACHINE_ARN',
  inventoryBucket: 'SANDTRAP_INVENTORY_BUCKET',
  inventoryPrefix: 'SANDTRAP_INVENTORY_PREFIX',
  settings: 'SANDTRAP_SWEEP',
} as const;

/** Reads the sweep's configuration from its function's environment, naming every invalid field. */
export function loadSweepConfig(env: Record<string, string | undefined> = process.env): SweepConfig {
  const settings = jsonFromEnv(env, SWEEP_ENV.settings) ?? {};
  const parsed = SweepConfigSchema.safeParse({
    ...(settings as object),
    ...(env[SWEEP_ENV.ingestBucket] ? { ingestBucket: env[SWEEP_ENV.ingestBucket] } : {}),
    ...(env[SWEEP_ENV.sources] ? { sources: jsonFromEnv(env, SWEEP_ENV.sources) } : {}),
    ...(env[SWEEP_ENV.ingestPrefix] ? { ingestPrefix: env[SWEEP_ENV.ingestPrefix] } : {}),
    stateMachineArn: env[SWEEP_ENV.stateMachineArn],
    ...(env[SWEEP_ENV.inventoryBucket] ? { inventoryBucket: env[SWEEP_ENV.inventoryBucket] } : {}),
    ...(env[SWEEP_ENV.inventoryPrefix] ? { inventoryPrefix: env[SWEEP_ENV.inventoryPrefix] } : {}),
  });
  if (!parsed.success)
    throw new ConfigError(`sweep configuration (${Object.values(SWEEP_ENV).join(', ')})`, parsed.error);
  return parsed.data;
}
