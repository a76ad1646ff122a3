import * as z from 'zod';
import { documentFromRecord, readVerdictRecord, Sha256ArgSchema } from '../../deployed/verdicts';
import { formatVerdicts } from '../format';
import type { CliIo } from '../io';
import { StackOptionsSchema, stackCommand } from '../stack-options';

/** `sandtrap status <sha256>`: the sample and how to print it. */
export const StatusOptionsSchema = StackOptionsSchema.extend({
  sha256: Sha256ArgSchema,
  json: z.boolean().optional(),
});
export type StatusOptions = z.input<typeof StatusOptionsSchema>;

/**
 * `sandtrap status`: the stored verdict of a sha256 (the stack's DynamoDB table), as the same
 * table `analyze` prints, or with `--json` as the verdict document.
 */
export const status = stackCommand(
  (input: StatusOptions) => StatusOptionsSchema.parse(input),
  async (options, { clients, stack }, io: Pick<CliIo, 'stdout' | 'stderr' | 'connect'>) => {
    const document = documentFromRecord(await readVerdictRecord(clients, stack, options.sha256));
    io.stdout.write(
      formatVerdicts([{ file: `s3://${document.bucket}/${document.key}`, ok: true, document }], options.json ?? false),
    );
    return 0;
  },
);
