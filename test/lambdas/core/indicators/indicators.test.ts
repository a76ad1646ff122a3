import { describe, expect, it } from 'vitest';
import {
  csvCell,
  extractIocs,
  IOC_LIMITS,
  normaliseIoc,
  stixPattern,
  toIocCsv,
  toStixBundle,
  uuidv5,
} from '../../../../lambdas/core/indicators';
import { bounded } from '../../../fixtures/reports/detonation';
import {
  benignTriageOnly,
  detonatedDropper,
  hostileSample,
  multiVendorMalicious,
  staticOnly,
} from '../../../fixtures/reports/documents';

describe('indicators of a verdict', () => {
  it('gathers hashes, vendor hosts, detonation traffic, strings and written files, once each', () => {
    const { document, detonation } = detonatedDropper();
    const iocs = extractIocs(document, detonation);
    const of = (type: string) => iocs.items.filter((i) => i.type === type).map((i) => i.value);
    expect(of('sha256')).toEqual([document.sha256]);
    expect(of('md5')).toEqual([document.md5]);
    expect(of('domain')).toEqual(['pool.supportxmr.com', 'pastebin.com']);
    // Fake-network answers (198.18/15) and the blocked public resolver are not indicators; the literal C2 is.
    expect(of('ipv4')).toEqual(['185.225.74.9']);
    expect(of('url')).toContain('http://185.225.74.9/api/report?id=ab12');
    // Written files count; a file only read (id_rsa) or only deleted does not.
    expect(of('file-path')).toContain('/tmp/.X11-unix/.kswapd');
    expect(of('file-path')).not.toContain('/home/sandbox/.ssh/id_rsa');
    const pastebin = iocs.items.find((i) => i.value === 'pastebin.com');
    expect(pastebin?.sources).toEqual([
      'detonation:dns',
      'detonation:tls',
      'detonation:connection',
      'detonation:strings',
    ]);
    expect(iocs.truncated).toBe(false);
  });

  it("takes vendors' hosts and static findings' URLs and addresses, and leaves out reserved names", () => {
    const vendor = extractIocs(multiVendorMalicious().document);
    expect(vendor.items.filter((i) => i.sources[0] === 'vendor:falcon').map((i) => [i.type, i.value])).toEqual([
      ['domain', 'update-check.emotet-c2.net'],
      ['ipv4', '45.133.1.20'],
    ]);
    // c2.example.test is a reserved test name: nobody can block or meet it.
    expect(vendor.items.some((i) => i.value === 'c2.example.test')).toBe(false);
    const fromStatic = extractIocs(staticOnly().document);
    expect(fromStatic.items.map((i) => [i.type, i.value, i.sources[0]])).toEqual(
      expect.arrayContaining([
        ['sha256', expect.stringMatching(/^[0-9a-f]{64}$/), 'static:member'],
        ['domain', 'invoice-portal.example-billing.com', 'static'],
        ['ipv4', '91.215.85.17', 'static'],
        ['url', 'http://invoice-portal.example-billing.com/a/stage2.exe', 'static'],
      ]),
    );
  });

  it('validates every value for its type', () => {
    expect(normaliseIoc('domain', 'Evil.COM.')).toBe('evil.com');
    expect(normaliseIoc('domain', 'libc.so')).toBeNull();
    expect(normaliseIoc('domain', '1.2.3.4')).toBeNull();
    expect(normaliseIoc('domain', 'evil\u202e.com')).toBeNull();
    expect(normaliseIoc('ipv4', '10.0.0.1')).toBeNull();
    expect(normaliseIoc('ipv4', '999.1.1.1')).toBeNull();
    expect(normaliseIoc('ipv6', '[2001:db8::1]')).toBe('2001:db8::1');
    expect(normaliseIoc('ipv6', 'fe80::1')).toBeNull();
    expect(normaliseIoc('url', 'javascript:alert(1)')).toBeNull();
    expect(normaliseIoc('url', 'http://localhost/x')).toBeNull();
    expect(normaliseIoc('sha256', 'A'.repeat(64))).toBe('a'.repeat(64));
    expect(normaliseIoc('md5', 'xyz')).toBeNull();
    expect(normaliseIoc('file-path', 'relative/path')).toBeNull();
    expect(normaliseIoc('file-path', '/tmp//x')).toBe('/tmp/x');
    expect(normaliseIoc('file-path', `/${'a'.repeat(2000)}`)).toBeNull();
  });

  it('bounds what a sample that resolves thousands of names can put in', () => {
    const { document, detonation } = detonatedDropper();
    const names = Array.from({ length: 5000 }, (_, i) => ({
      time: 1,
      name: `n${i}.evil.com`,
      type: 'A',
      answer: null,
    }));
    const flooded = { ...detonation!, network: { ...detonation!.network, dnsQueries: bounded(names) } };
    const iocs = extractIocs(document, flooded);
    expect(iocs.items.filter((i) => i.type === 'domain')).toHaveLength(IOC_LIMITS.perType);
    expect(iocs.items.length).toBeLessThanOrEqual(IOC_LIMITS.total);
    expect(iocs.truncated).toBe(true);
    expect(iocs.count).toBeGreaterThan(5000);
  });
});

describe('the CSV export', () => {
  it('prefixes cells a spreadsheet would run as a formula, and quotes separators', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) expect(csvCell(`${start}cmd|' /C calc'!A0`)).toMatch(/^"?'/);
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('-x\ny')).toBe(`"'-x\ny"`);
    expect(csvCell('/tmp/x')).toBe('/tmp/x');
  });

  it('writes type,value,source rows, a hostile path guarded and quoted', () => {
    const { document, detonation } = hostileSample();
    const csv = toIocCsv(extractIocs(document, detonation));
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('type,value,source');
    expect(lines[1]).toBe(`sha256,${document.sha256},sample`);
    expect(csv.endsWith('\r\n')).toBe(true);
    const injected = toIocCsv({
      items: [{ type: 'file-path', value: '/x', sources: ['=HYPERLINK("http://e")'] }],
      count: 1,
      truncated: false,
    });
    expect(injected).toContain(`file-path,/x,"'=HYPERLINK(""http://e"")"`);
  });
});

describe('the STIX bundle', () => {
  it('gives the same ids, and the same bytes, for the same verdict', () => {
    const a = detonatedDropper();
    const b = detonatedDropper();
    const one = JSON.stringify(toStixBundle(a.document, extractIocs(a.document, a.detonation)));
    const two = JSON.stringify(toStixBundle(b.document, extractIocs(b.document, b.detonation)));
    expect(one).toBe(two);
  });

  it('uses RFC 4122 version 5 UUIDs', () => {
    // The RFC's own example namespace (DNS) and a known value.
    expect(uuidv5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('names the families the engines found and links each indicator to them', () => {
    const { document } = multiVendorMalicious();
    const bundle = toStixBundle(document, extractIocs(document));
    const malware = bundle.objects.filter((o) => o.type === 'malware');
    expect(malware.map((m) => m.name)).toContain('Emotet');
    expect(malware.every((m) => m.is_family === true)).toBe(true);
    const indicators = bundle.objects.filter((o) => o.type === 'indicator');
    const relationships = bundle.objects.filter((o) => o.type === 'relationship');
    expect(relationships).toHaveLength(indicators.length * malware.length);
    expect(relationships.every((r) => r.relationship_type === 'indicates')).toBe(true);
    expect(bundle.objects.filter((o) => o.type === 'identity')).toHaveLength(1);
    expect(bundle.objects.filter((o) => o.type === 'file')).toHaveLength(1);
  });

  it('makes no malware and no relationship for a benign verdict', () => {
    const { document } = benignTriageOnly();
    const bundle = toStixBundle(document, extractIocs(document));
    expect(bundle.objects.map((o) => o.type)).toEqual(['identity', 'file', 'indicator', 'indicator', 'indicator']);
    expect(bundle.objects[2]?.indicator_types).toEqual(['unknown']);
  });

  it('escapes quotes and backslashes in patterns', () => {
    expect(stixPattern({ type: 'file-path', value: "/tmp/it's\\x", sources: [] })).toBe(
      "[file:name = 'it\\'s\\\\x' AND file:parent_directory_ref.path = '/tmp']",
    );
    expect(stixPattern({ type: 'domain', value: 'evil.com', sources: [] })).toBe("[domain-name:value = 'evil.com']");
  });
});
