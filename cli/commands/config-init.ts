import { writeFileSync } from 'node:fs';
import * as z from 'zod';
import { VENDOR_IDS, VendorIdSchema } from '../../lambdas/core/contracts/pipeline';
import { renderConfigTemplate } from '../config-template';
import { type CliIo, command } from '../io';

/** `sandtrap config init [--vendors a,b] [--output file] [--force]`. */
export const ConfigInitOptionsSchema = z.object({
  vendors: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const ids = (value ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
      for (const id of ids)
        if (!VendorIdSchema.safeParse(id).success) {
          ctx.addIssue({
            code: 'custom',
            message: `--vendors: unknown vendor ${JSON.stringify(id)} (one of ${VENDOR_IDS.join(', ')})`,
          });
          return z.NEVER;
        }
      return [...new Set(ids)] as z.infer<typeof VendorIdSchema>[];
    }),
  output: z.string().min(1).default('sandtrap.config.jsonc'),
  force: z.boolean().optional(),
});
export type ConfigInitOptions = z.input<typeof ConfigInitOptionsSchema>;

/**
 * `sandtrap config init`: writes a commented configuration file with every key and its default
 * (`-` prints it). An existing file is kept unless `--force`: it may hold a team's settings.
 */
export const configInit = command(
  (input: ConfigInitOptions) => ConfigInitOptionsSchema.parse(input),
  async (options, io: Pick<CliIo, 'stdout' | 'stderr'>) => {
    const text = renderConfigTemplate(options.vendors);
    if (options.output === '-') {
      io.stdout.write(text);
      return 0;
    }
    try {
      writeFileSync(options.output, text, { flag: options.force ? 'w' : 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST')
        throw new Error(`${options.output} exists: pass --force to overwrite it`);
      throw error;
    }
    io.stdout.write(`wrote ${options.output}: use it with SANDTRAP_CONFIG_FILE=${options.output}\n`);
    return 0;
  },
);
