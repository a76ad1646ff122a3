import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DETONATION_FILE_TYPES, parseSettings } from '../../../../lambdas/core/config/runtime-config';
import { VENDOR_IDS, type Sample } from '../../../../lambdas/core/contracts/pipeline';
import { routeEngines } from '../../../../lambdas/core/triage/routing';
import { sampleOf } from '../support';

const url = (id: string) => `https://${id}.example.org/api/`;

/** Settings as Lambdas read them (defaults applied), with these vendors and detonation options. */
function settings(
  vendors: Record<string, unknown>[] = [],
  detonation: Record<string, unknown> = {},
  statics: Record<string, unknown> = {},
) {
  return parseSettings({
    vendors: vendors.map((v) => ({ baseUrl: url(String(v.id)), ...v })),
    detonation,
    static: statics,
  });
}

const sample = (fileType: string, size = 1000): Sample => ({ ...sampleOf('x'), fileType, size });

describe('routeEngines: which engines analyse a sample', () => {
  it('sends every file to the static engine first, and every Linux type it detonates to detonation, with no vendor configured', () => {
    const config = settings();
    for (const type of DETONATION_FILE_TYPES)
      expect(routeEngines(sample(type), config)).toEqual(['static', 'detonation']);
    for (const type of ['pe', 'pdf', 'ole', 'text', 'binary', 'script-powershell'])
      expect(routeEngines(sample(type), config)).toEqual(['static']);
  });

  it('lists the static engine first, the vendors in configuration order, detonation last', () => {
    const config = settings([{ id: 'joe' }, { id: 'cape' }, { id: 'vmray' }]);
    expect(routeEngines(sample('elf'), config)).toEqual(['static', 'joe', 'cape', 'vmray', 'detonation']);
    expect(routeEngines(sample('pe'), config)).toEqual(['static', 'joe', 'cape', 'vmray']);
  });

  it('gives an empty object to the static engine alone: nothing to submit or run', () => {
    const config = settings([{ id: 'cape' }]);
    expect(routeEngines(sample('empty', 0), config)).toEqual(['static']);
    expect(routeEngines(sample('empty', 0), settings([{ id: 'cape' }], {}, { enabled: false }))).toEqual([]);
  });

  it('skips the static engine when it is off or the file is over its limit (exactly the limit goes)', () => {
    expect(routeEngines(sample('pe'), settings([{ id: 'cape' }], {}, { enabled: false }))).toEqual(['cape']);
    const small = settings([], {}, { maxFileBytes: 4096 });
    expect(routeEngines(sample('pdf', 4096), small)).toEqual(['static']);
    expect(routeEngines(sample('pdf', 4097), small)).toEqual([]);
  });

  it('skips a vendor whose size limit the sample exceeds; a sample of exactly the limit goes', () => {
    const config = settings([{ id: 'cape', maxFileBytes: 5000 }, { id: 'joe' }]);
    expect(routeEngines(sample('pe', 5000), config)).toEqual(['static', 'cape', 'joe']);
    expect(routeEngines(sample('pe', 5001), config)).toEqual(['static', 'joe']);
  });

  it('skips a vendor that does not take the type; an empty or absent type list takes every type', () => {
    const config = settings([{ id: 'cape', fileTypes: ['pe', 'pdf'] }, { id: 'joe', fileTypes: [] }, { id: 'vmray' }]);
    expect(routeEngines(sample('pdf'), config)).toEqual(['static', 'cape', 'joe', 'vmray']);
    expect(routeEngines(sample('zip'), config)).toEqual(['static', 'joe', 'vmray', 'detonation']);
  });

  it('detonates nothing when detonation is off, and only its own types and sizes when on', () => {
    expect(routeEngines(sample('elf'), settings([{ id: 'cape' }], { enabled: false }))).toEqual(['static', 'cape']);
    const narrow = settings([], { fileTypes: ['script-sh'], maxFileBytes: 2048 });
    expect(routeEngines(sample('elf'), narrow)).toEqual(['static']);
    expect(routeEngines(sample('script-sh', 2048), narrow)).toEqual(['static', 'detonation']);
    expect(routeEngines(sample('script-sh', 2049), narrow)).toEqual(['static']);
  });

  it('routes to no engine at all when nothing applies (the verdict is then unknown, never benign)', () => {
    expect(
      routeEngines(
        sample('pe', 10),
        settings([{ id: 'cape', maxFileBytes: 5 }], { enabled: false }, { enabled: false }),
      ),
    ).toEqual([]);
  });

  it('never routes to a vendor over its limits, nor drops one within them (property)', () => {
    const vendor = fc.record({
      id: fc.constantFrom(...VENDOR_IDS),
      maxFileBytes: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }),
      fileTypes: fc.option(fc.subarray(['pe', 'elf', 'pdf', 'zip']), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(vendor, { selector: (v) => v.id, maxLength: VENDOR_IDS.length }),
        fc.constantFrom('pe', 'elf', 'pdf', 'zip', 'text'),
        fc.integer({ min: 1, max: 12_000 }),
        (vendors, fileType, size) => {
          const config = settings(
            vendors.map((v) => Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined))),
          );
          const routed = routeEngines(sample(fileType, size), config).filter(
            (e) => e !== 'detonation' && e !== 'static',
          );
          const fits = vendors.filter(
            (v) =>
              (v.maxFileBytes === undefined || size <= v.maxFileBytes) &&
              (!v.fileTypes?.length || v.fileTypes.includes(fileType)),
          );
          expect(routed).toEqual(fits.map((v) => v.id));
        },
      ),
    );
  });

  it('refuses vendor limits that do not make sense before any routing happens', () => {
    expect(() => settings([{ id: 'cape', maxFileBytes: 0 }])).toThrow(/maxFileBytes/);
    expect(() => settings([{ id: 'cape', maxFileBytes: 1.5 }])).toThrow(/maxFileBytes/);
    expect(() => settings([{ id: 'sandbox9000' }])).toThrow(/id/);
    expect(() => settings([], { maxFileBytes: -1 })).toThrow(/maxFileBytes/);
  });
});
