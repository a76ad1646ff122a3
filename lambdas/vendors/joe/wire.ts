import * as z from 'zod';

// Joe Sandbox API v2 on the wire: the envelope, the answers the connector reads, the report's score.

export const JoeErrorItem = z.object({ code: z.number().int(), message: z.string().optional() });

/** Joe's envelope: `{"data": ...}` on success, `{"errors": [{code, message}]}` on failure. */
export const Envelope = z.object({ data: z.unknown().optional(), errors: z.array(JoeErrorItem).optional() });

export const Webid = z.union([z.string(), z.number()]).transform(String);

export const Online = z.object({ online: z.boolean() });

export const NewSubmission = z.object({ submission_id: Webid });

export const SubmissionInfo = z.object({
  submission_id: Webid,
  status: z.string(),
  most_relevant_analysis: z
    .object({ webid: Webid, detection: z.string().optional(), score: z.number().nullable().optional() })
    .nullable()
    .optional(),
  analyses: z
    .array(
      z.object({
        webid: Webid,
        runs: z
          .array(
            z.object({
              system: z.string().optional(),
              detection: z.string().nullable().optional(),
              error: z.string().nullable().optional(),
            }),
          )
          .optional(),
      }),
    )
    .optional(),
});

export const Strategy = z.looseObject({
  '@name': z.string().optional(),
  detection: z.string().optional(),
  score: z.number().nullable().optional(),
  minScore: z.number().optional(),
  maxScore: z.number().optional(),
  malicious: z.boolean().optional(),
  suspicious: z.boolean().optional(),
  clean: z.boolean().optional(),
  unknown: z.boolean().optional(),
});

/** The parts of a `jsonfixed` report the score reads. Joe's XML-derived JSON makes a lone strategy an object. */
export const JoeReport = z.object({
  analysis: z.object({
    signaturedetections: z
      .object({ strategy: z.union([z.array(Strategy), Strategy]) })
      .nullable()
      .optional(),
  }),
});

/** One detection strategy of a report (`empiric` is the one scored). */
export type Strategy = z.infer<typeof Strategy>;

/** A submission as `submission/info` describes it. */
export type SubmissionInfo = z.infer<typeof SubmissionInfo>;
