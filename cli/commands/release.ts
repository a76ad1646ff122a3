import * as z from 'zod';
import { releaseContent, releaseServices, ReleaseTargetSchema } from '../../deployed/release';
import type { CliIo } from '../io';
import { StackOptionsSchema, stackCommand } from '../stack-options';
import { escapeTerminal } from '../terminal-escape';

/** `sandtrap release <sha256|s3-uri> --reason <text>`: what to release and why. */
export const ReleaseOptionsSchema = StackOptionsSchema.extend({
  target: ReleaseTargetSchema,
  reason: z
    .string({ error: '--reason is required: say why the file is released' })
    .trim()
    .min(1, { error: '--reason is required: say why the file is released' })
    .max(1000, { error: '--reason is at most 1,000 characters' }),
  json: z.boolean().optional(),
});
export type ReleaseOptions = z.input<typeof ReleaseOptionsSchema>;

/**
 * `sandtrap release`: an analyst's override of a verdict, on a deployed stack. Prints the
 * `Sample Verdict Overridden` detail it published (`--json`), or one line per re-tagged object.
 */
export const release = stackCommand(
  (input: ReleaseOptions) => ReleaseOptionsSchema.parse(input),
  async (options, { clients, stack }, io: Pick<CliIo, 'stdout' | 'stderr' | 'connect'>) => {
    const services = releaseServices(clients, stack);
    try {
      const detail = await releaseContent(clients, stack, services, { target: options.target, reason: options.reason });
      if (options.json) {
        io.stdout.write(`${JSON.stringify(detail)}\n`);
      } else {
        io.stdout.write(
          `released ${detail.sha256} (was ${detail.previousVerdict ?? 'not analysed'}) by ${escapeTerminal(detail.by)}\n`,
        );
        for (const object of detail.objects)
          io.stdout.write(`  s3://${escapeTerminal(`${object.bucket}/${object.key}`)}  ${object.tagging.status}\n`);
        if (detail.moreObjects > 0) io.stdout.write(`  and ${detail.moreObjects} more objects\n`);
      }
      // An object that kept its old tags (its owner's fill S3's ten, or the tag call was denied) stays blocked.
      const untagged = detail.objects.filter((o) => o.tagging.status === 'untagged');
      if (untagged.length > 0) {
        io.stderr.write(
          `sandtrap: ${untagged.length} object(s) could not be re-tagged (${[...new Set(untagged.map((o) => o.tagging.reason))].join(', ')}); read-blocking keeps them closed\n`,
        );
        return 2;
      }
      return 0;
    } finally {
      services.close();
    }
  },
);
