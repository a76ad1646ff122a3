import * as z from 'zod';

/** A MITRE ATT&CK technique or sub-technique id (`T1055`, `T1027.002`), as vendors' findings name them. */
export const TechniqueIdSchema = z.string().regex(/^T\d{4}(\.\d{3})?$/, 'a MITRE ATT&CK technique id');

/**
 * Bounds of what one vendor's findings may hold. A vendor report describes what the sample did, so
 * the sample's author chooses much of it (mutex names, signature descriptions quoting strings, the
 * hosts contacted); the findings ride in Step Functions payloads (256 KiB for all engines together)
 * and DynamoDB items, so every count and every string is capped here, once, for all nine vendors.
 */
export const FINDINGS_LIMITS = {
  families: 5,
  familyChars: 100,
  signatures: 10,
  signatureNameChars: 120,
  descriptionChars: 160,
  attack: 20,
  hosts: 10,
  hostChars: 253,
  urlChars: 500,
} as const;

/**
 * A signature's severity on one scale for every vendor: `low`, `medium`, `high`, `critical`. Words
 * rather than a 0–100 number because no two vendors agree on a number (CAPE 1–3, Joe and Triage
 * 0–10, VMRay 1–5, FireEye MINR/MAJR/CRIT) and a band reads the same in an event, a report and a
 * terminal. Each connector says how its scale maps.
 */
export const SignatureSeveritySchema = z.enum(['low', 'medium', 'high', 'critical']);
export type SignatureSeverity = z.infer<typeof SignatureSeveritySchema>;

/** Severities strongest first, for ordering signatures. */
const SEVERITY_RANK: Record<SignatureSeverity, number> = { critical: 3, high: 2, medium: 1, low: 0 };

export const VendorSignatureSchema = z.object({
  name: z.string().min(1).max(FINDINGS_LIMITS.signatureNameChars),
  severity: SignatureSeveritySchema,
  description: z.string().max(FINDINGS_LIMITS.descriptionChars).optional(),
});
export type VendorSignature = z.infer<typeof VendorSignatureSchema>;

/** A domain name or an IPv4/IPv6 address, as vendors list contacted hosts. */
const HOST =
  /^(?:[A-Za-z0-9_][A-Za-z0-9_-]{0,62}(?:\.[A-Za-z0-9_][A-Za-z0-9_-]{0,62})*\.?|\d{1,3}(?:\.\d{1,3}){3}|\[?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}\]?)$/;

/**
 * What a vendor concluded about a sample, read from its native report: malware families, its top
 * signatures (strongest first), ATT&CK technique ids, the hosts the sample contacted, and a link to
 * the vendor's own page for the analysis. `reportUrl` is built from the configured base URL and the
 * vendor's item id, never from the report, which the sample can influence.
 */
export const VendorFindingsSchema = z.object({
  families: z.array(z.string().min(1).max(FINDINGS_LIMITS.familyChars)).max(FINDINGS_LIMITS.families),
  signatures: z.array(VendorSignatureSchema).max(FINDINGS_LIMITS.signatures),
  attack: z.array(TechniqueIdSchema).max(FINDINGS_LIMITS.attack),
  hosts: z
    .array(z.string().min(1).max(FINDINGS_LIMITS.hostChars).regex(HOST, 'a host name or IP address'))
    .max(FINDINGS_LIMITS.hosts),
  reportUrl: z
    .url({ protocol: /^https$/ })
    .max(FINDINGS_LIMITS.urlChars)
    .optional(),
});
export type VendorFindings = z.infer<typeof VendorFindingsSchema>;

/** Findings as a connector reads them from a report, before bounding: anything may be missing or too long. */
export interface RawFindings {
  families?: readonly unknown[];
  signatures?: readonly { name?: unknown; severity?: SignatureSeverity | undefined; description?: unknown }[];
  attack?: readonly unknown[];
  hosts?: readonly unknown[];
}

/** No findings at all. */
export const NO_FINDINGS: VendorFindings = { families: [], signatures: [], attack: [], hosts: [] };

/** How many raw entries are looked at, at most, before bounding: a hostile report may list millions. */
const SCAN_LIMIT = 2_000;

/**
 * One line of text a vendor wrote, as findings keep it: control characters (terminal escapes, new
 * lines) become spaces, runs of space one, and the result is cut to `max` characters; `undefined`
 * when nothing printable is left or the value is not a string.
 */
export function findingText(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  // Only the head is ever kept: a megabyte name is not cleaned whole.
  const text = value
    .slice(0, max * 4)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, max)
    .trim();
  return text || undefined;
}

/** Distinct values, case-insensitively, first spelling kept, at most `max`. */
function distinct(values: Iterable<string>, max: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const value of values) {
    const key = value.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(value);
    if (out.length >= max) break;
  }
  return out;
}

/** The strings among the first {@link SCAN_LIMIT} entries, cleaned and cut to `chars`. */
function texts(values: readonly unknown[] | undefined, chars: number): string[] {
  return (values ?? []).slice(0, SCAN_LIMIT).flatMap((v) => findingText(v, chars) ?? []);
}

/**
 * Bounded, valid findings from whatever a connector read: strings cleaned and cut, duplicates
 * dropped, signatures ordered strongest first (report order within a severity) and cut to the top
 * {@link FINDINGS_LIMITS.signatures}, ATT&CK ids that are not technique ids and hosts that are not
 * host names or addresses dropped. Never throws: a report the connector scored is not refused for
 * odd findings.
 */
export function boundedFindings(raw: RawFindings, reportUrl?: string): VendorFindings {
  const families = distinct(texts(raw.families, FINDINGS_LIMITS.familyChars), FINDINGS_LIMITS.families);
  const signatures: VendorSignature[] = [];
  const seenSignatures = new Set<string>();
  for (const signature of (raw.signatures ?? []).slice(0, SCAN_LIMIT)) {
    const name = findingText(signature?.name, FINDINGS_LIMITS.signatureNameChars);
    const severity = SignatureSeveritySchema.safeParse(signature?.severity);
    if (!name || !severity.success || seenSignatures.has(name.toLowerCase())) continue;
    seenSignatures.add(name.toLowerCase());
    const description = findingText(signature.description, FINDINGS_LIMITS.descriptionChars);
    signatures.push({ name, severity: severity.data, ...(description && description !== name ? { description } : {}) });
  }
  // A stable sort: within a severity the vendor's own order (usually its ranking) stands.
  signatures.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
  const attack = distinct(
    texts(raw.attack, 16)
      .map((id) => id.toUpperCase())
      .filter((id) => TechniqueIdSchema.safeParse(id).success),
    FINDINGS_LIMITS.attack,
  );
  const hosts = distinct(
    texts(raw.hosts, FINDINGS_LIMITS.hostChars).filter((host) => HOST.test(host)),
    FINDINGS_LIMITS.hosts,
  );
  const url = reportUrl && VendorFindingsSchema.shape.reportUrl.safeParse(reportUrl).success ? reportUrl : undefined;
  return VendorFindingsSchema.parse({
    families,
    signatures: signatures.slice(0, FINDINGS_LIMITS.signatures),
    attack,
    hosts,
    ...(url ? { reportUrl: url } : {}),
  });
}

/**
 * A severity from a vendor's number: `medium` from `bands[0]`, `high` from `bands[1]`, `critical`
 * from `bands[2]`, `low` below; `undefined` when it is not a number (or a numeric string).
 */
export function severityFrom(value: unknown, bands: readonly [number, number, number]): SignatureSeverity | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) return undefined;
  if (n >= bands[2]) return 'critical';
  if (n >= bands[1]) return 'high';
  if (n >= bands[0]) return 'medium';
  return 'low';
}

/**
 * The link to the vendor's page for one analysis: `template` (configured, so trusted) with `{id}`
 * replaced by the URL-encoded item id; `undefined` unless the result is an https URL.
 */
export function reportPageUrl(template: string | undefined, itemId: string): string | undefined {
  if (!template || !itemId) return undefined;
  const url = template.replaceAll('{id}', encodeURIComponent(itemId));
  return VendorFindingsSchema.shape.reportUrl.safeParse(url).success ? url : undefined;
}
