import * as z from 'zod';

/** A static finding that the detonation of the same sample confirmed, and how. */
export const StaticConfirmationSchema = z.object({
  /** The finding's id and where it was found (null: the file itself). */
  findingId: z.string().max(480),
  path: z.string().max(4000).nullable(),
  /** What the run did that the finding predicted, in short sentences. */
  how: z.array(z.string().max(600)).min(1).max(3),
});
export type StaticConfirmation = z.infer<typeof StaticConfirmationSchema>;
