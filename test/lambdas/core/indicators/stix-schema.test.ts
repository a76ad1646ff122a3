import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { extractIocs, toStixBundle } from '../../../../lambdas/core/indicators';
import {
  benignTriageOnly,
  detonatedDropper,
  hostileSample,
  multiVendorMalicious,
  oneSecondDetonation,
  staticOnly,
} from '../../../fixtures/reports/documents';

/**
 * The STIX export against OASIS's STIX 2.1 JSON schemas (test/fixtures/stix2.1-schemas, see its
 * README): every bundle the report fixtures give validates as a bundle, and each object also
 * against its own type's schema, so a bundle cannot pass as the schema's "custom object" branch.
 */

const ROOT = join(import.meta.dirname, '../../../fixtures/stix2.1-schemas/schemas');

function schemas(): Array<Record<string, unknown>> {
  return readdirSync(ROOT).flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(ROOT, dir, f), 'utf8')) as Record<string, unknown>),
  );
}

// The OASIS patterns are written for ECMAScript's non-Unicode mode (`\-` outside a class), so
// Ajv's default `u` flag would refuse them; `strict` off because they use annotations Ajv does not know.
const ajv = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false });
// The schemas' `format`s (date-time, uri, ...) are checked, not skipped.
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
for (const schema of schemas()) ajv.addSchema(schema);
const BASE = 'http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas';
const TYPE_SCHEMA: Record<string, string> = {
  identity: 'sdos/identity.json',
  indicator: 'sdos/indicator.json',
  malware: 'sdos/malware.json',
  relationship: 'sros/relationship.json',
  file: 'observables/file.json',
};

const FIXTURES = {
  benignTriageOnly,
  multiVendorMalicious,
  detonatedDropper,
  hostileSample,
  staticOnly,
  oneSecondDetonation,
};

describe('the STIX 2.1 export', () => {
  it.each(Object.entries(FIXTURES))('validates against the STIX 2.1 JSON schema (%s)', (_, build) => {
    const { document, detonation } = build();
    const bundle = toStixBundle(document, extractIocs(document, detonation));
    const validBundle = ajv.getSchema(`${BASE}/common/bundle.json`);
    expect(validBundle).toBeDefined();
    expect(validBundle?.(JSON.parse(JSON.stringify(bundle))), JSON.stringify(validBundle?.errors?.slice(0, 3))).toBe(
      true,
    );
    for (const object of bundle.objects) {
      const path = TYPE_SCHEMA[object.type];
      expect(path, `no schema for ${object.type}`).toBeDefined();
      const valid = ajv.getSchema(`${BASE}/${path}`);
      expect(valid?.(object), `${object.id}: ${JSON.stringify(valid?.errors?.slice(0, 3))}`).toBe(true);
    }
  });

  it('rejects what the schema forbids, so the test above can fail', () => {
    const validBundle = ajv.getSchema(`${BASE}/common/bundle.json`);
    const { document, detonation } = detonatedDropper();
    const bundle = toStixBundle(document, extractIocs(document, detonation));
    const broken = structuredClone(bundle);
    const indicator = broken.objects.find((o) => o.type === 'indicator') as Record<string, unknown>;
    delete indicator.pattern;
    indicator.valid_from = 'yesterday';
    expect(validBundle?.(broken)).toBe(false);
    expect(validBundle?.({ ...bundle, id: 'bundle--not-a-uuid' })).toBe(false);
  });
});
