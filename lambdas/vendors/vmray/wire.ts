import * as z from 'zod';

// VMRay's REST API on the wire: the envelope, the answers the connector reads, the summaries it scores.

/** VMRay's envelope: `{"result": "ok", "data": ...}`, or `{"result": "error", "error_msg": "..."}`. */
export const Envelope = z.object({
  result: z.string(),
  data: z.unknown().optional(),
  error_msg: z.string().optional(),
});

export const SubmitData = z.object({
  errors: z.array(z.object({ error_msg: z.string() })).default([]),
  submissions: z.array(z.object({ submission_id: z.number().int() })).default([]),
  samples: z.array(z.object({ sample_id: z.number().int() })).default([]),
});

export const Submission = z.object({
  submission_id: z.number().int(),
  submission_finished: z.boolean(),
  submission_has_errors: z.boolean().nullable().optional(),
});

export const Analysis = z.looseObject({
  analysis_id: z.number().int(),
  analysis_verdict: z.string().nullable().optional(),
  analysis_severity: z.string().nullable().optional(),
  analysis_vti_score: z.number().nullable().optional(),
});

/** An analysis as VMRay lists it (`/rest/analysis…`). */
export type VmrayAnalysis = z.infer<typeof Analysis>;

export const SummaryV2 = z.object({ analysis_metadata: z.looseObject({ verdict: z.string().nullable().optional() }) });
export const SummaryV1 = z.object({ vti: z.looseObject({ vti_score: z.number().nullable().optional() }) });
export const SampleRecord = z.looseObject({
  sample_verdict: z.string().nullable().optional(),
  sample_severity: z.string().nullable().optional(),
  sample_vti_score: z.number().nullable().optional(),
});
