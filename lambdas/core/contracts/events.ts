import * as z from 'zod';
import {
  SampleAnalysisFailedDetailSchema,
  SampleVerdictChangedDetailSchema,
  SampleVerdictDetailSchema,
  SampleVerdictOverriddenDetailSchema,
  VerdictDocumentSchema,
} from './pipeline';

/** The JSON Schemas committed under `schemas/` for consumers that do not use zod, by file name. */
export function eventJsonSchemas(): Record<string, unknown> {
  const schema = (title: string, description: string, type: z.ZodType) => ({
    ...z.toJSONSchema(type, { target: 'draft-2020-12', io: 'output' }),
    title,
    description,
  });
  return {
    'sample-verdict.schema.json': schema(
      'Sample Verdict',
      'Detail of the `Sample Verdict` event (source `sandtrap`, bus `sandtrap`).',
      SampleVerdictDetailSchema,
    ),
    'sample-analysis-failed.schema.json': schema(
      'Sample Analysis Failed',
      'Detail of the `Sample Analysis Failed` event (source `sandtrap`, bus `sandtrap`).',
      SampleAnalysisFailedDetailSchema,
    ),
    'sample-verdict-changed.schema.json': schema(
      'Sample Verdict Changed',
      'Detail of the `Sample Verdict Changed` event (source `sandtrap`, bus `sandtrap`): a new analysis disagrees with the stored verdict.',
      SampleVerdictChangedDetailSchema,
    ),
    'sample-verdict-overridden.schema.json': schema(
      'Sample Verdict Overridden',
      'Detail of the `Sample Verdict Overridden` event (source `sandtrap`, bus `sandtrap`): an analyst released a content hash (`sandtrap release`).',
      SampleVerdictOverriddenDetailSchema,
    ),
    'verdict-document.schema.json': schema(
      'Verdict document',
      'What `sandtrap analyze --json` prints and reports/<sha256>/verdict.json holds.',
      VerdictDocumentSchema,
    ),
  };
}
