import * as z from 'zod';
import { BehaviorKeySchema, SeveritySchema } from './behavior-keys';
import { StaticConfirmationSchema } from './static-confirmation';

/**
 * The static engine's report (`reports/<sha256>/static.json`), written by the Python engine
 * (static/sandtrap_static) and read back by Finalize for the verdict document and the HTML report.
 * It crosses a language boundary and is derived from a hostile file, so it is validated here with
 * the same bounds the engine promises (static/sandtrap_static/report.py): a report that breaks them
 * is not shown.
 */

const text = (max: number) => z.string().max(max * 4);

export const StaticFindingSchema = z.object({
  id: text(120),
  /** One of the detonation engine's behaviour keys, so static and dynamic findings line up. */
  category: BehaviorKeySchema,
  severity: SeveritySchema,
  title: text(300),
  evidence: z.array(text(300)).max(10),
  attack: z.array(z.string().regex(/^T\d{4}(\.\d{3})?$/)).max(20),
  /** Where inside the file: an archive member or embedded object; null for the file itself. */
  path: text(1000).nullable(),
});
export type StaticFinding = z.infer<typeof StaticFindingSchema>;

export const StaticYaraMatchSchema = z.object({
  rule: text(200),
  namespace: text(200),
  tags: z.array(text(100)).max(50),
  strings: z
    .array(
      z.object({
        identifier: text(100),
        offset: z.number().int().nonnegative(),
        length: z.number().int().nonnegative(),
      }),
    )
    .max(20),
  path: text(1000).nullable(),
});
export type StaticYaraMatch = z.infer<typeof StaticYaraMatchSchema>;

export const StaticReportSchema = z.object({
  schema: z.literal(1),
  fileType: z.object({ type: text(40), mime: text(100) }),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  score: z.number().int().min(0).max(100).optional(),
  findings: z.array(StaticFindingSchema).max(200),
  yara: z.array(StaticYaraMatchSchema).max(200),
  members: z
    .array(
      z.object({
        path: text(1000),
        fileType: text(40),
        size: z.number().int().nonnegative(),
        sha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/)
          .nullable()
          .optional(),
      }),
    )
    .max(200),
  encrypted: z.boolean(),
  errors: z.array(text(500)).max(60),
});
export type StaticReport = z.infer<typeof StaticReportSchema>;

/**
 * What the verdict document keeps of the static report (everything but the echo of the sample), and
 * when the sample was also detonated, which findings the run confirmed.
 */
export const StaticSummarySchema = StaticReportSchema.pick({
  fileType: true,
  findings: true,
  yara: true,
  members: true,
  encrypted: true,
  errors: true,
}).extend({ confirmed: z.array(StaticConfirmationSchema).max(200).optional() });
export type StaticSummary = z.infer<typeof StaticSummarySchema>;
