import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventJsonSchemas } from '../../../../lambdas/core/contracts/events';
import { VERDICT_SCHEMA_VERSION } from '../../../../lambdas/core/contracts/pipeline';

describe('committed event JSON Schemas', () => {
  it.each(Object.entries(eventJsonSchemas()))(
    '%s matches the zod schema it is generated from (npm run schema)',
    (name, schema) => {
      const committed = JSON.parse(
        readFileSync(join(import.meta.dirname, '..', '..', '..', '..', 'schemas', name), 'utf8'),
      );
      expect(committed).toEqual(schema);
    },
  );

  it('requires the fields consumers act on', () => {
    const verdict = eventJsonSchemas()['sample-verdict.schema.json'] as { required: string[] };
    expect(verdict.required).toEqual(
      expect.arrayContaining([
        'sha256',
        'bucket',
        'key',
        'versionId',
        'size',
        'fileType',
        'verdict',
        'score',
        'engines',
        'cached',
        'analyzedAt',
        'durationMs',
        'schemaVersion',
        'threats',
      ]),
    );
  });

  it('has a consumer changelog entry for the current Sample Verdict version', () => {
    const changelog = readFileSync(
      join(import.meta.dirname, '..', '..', '..', '..', 'schemas', 'CHANGELOG.md'),
      'utf8',
    );
    expect(changelog).toContain(`## Sample Verdict, version ${VERDICT_SCHEMA_VERSION}`);
    const verdict = eventJsonSchemas()['sample-verdict.schema.json'] as {
      properties: { schemaVersion: { const: number } };
    };
    expect(verdict.properties.schemaVersion.const).toBe(VERDICT_SCHEMA_VERSION);
  });
});
