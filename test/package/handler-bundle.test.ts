import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildHandlerBundle } from '../../lib/functions';
import { handlerEntry } from '../../lib/steps';

const work = mkdtempSync(join(tmpdir(), 'sandtrap-handler-bundle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a handler bundle', () => {
  it('is the same bytes wherever it is built, so its asset hash follows its code and not cdk.out', () => {
    // CDK bundles into a directory of the app's cdk.out: another app, or another checkout, puts it elsewhere.
    const near = join(work, 'near');
    const far = join(work, 'a', 'b', 'c', 'far');
    mkdirSync(far, { recursive: true });
    buildHandlerBundle(handlerEntry('TriageFn'), near, { bundleAwsSdk: false });
    buildHandlerBundle(handlerEntry('TriageFn'), far, { bundleAwsSdk: false });
    for (const file of ['index.mjs', 'index.mjs.map']) {
      expect(readFileSync(join(far, file)).equals(readFileSync(join(near, file))), file).toBe(true);
    }
    const { sources } = JSON.parse(readFileSync(join(near, 'index.mjs.map'), 'utf8')) as { sources: string[] };
    expect(sources).toContain('sandtrap/lambdas/handlers/triage.ts');
    expect(
      sources.every((s) => s.startsWith('sandtrap/lambdas/') || s.startsWith('node_modules/')),
      sources.join(),
    ).toBe(true);
  });
});
