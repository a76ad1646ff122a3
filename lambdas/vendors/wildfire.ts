import { createHash } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import * as z from 'zod';
import type { ConnectorContext, ItemStatus, NativeReport, NormalisedScore, SampleSource } from './kit';
import {
  BadResponseError,
  bandedScore,
  BaseConnector,
  errorMapping,
  type HttpRequest,
  itemStatus,
  QuotaExceededError,
  registryEntry,
  statusIs,
  TransientError,
} from './kit';
import { hostsOf, type RawFindings, severityFrom } from './kit';

/** WildFire verdict codes (`get/verdict`), as the public API documents them. */
const WILDFIRE_VERDICTS: Readonly<Record<number, string>> = {
  0: 'benign',
  1: 'malware',
  2: 'grayware',
  4: 'phishing',
  5: 'c2',
  [-100]: 'pending',
  [-101]: 'error',
  [-102]: 'unknown',
  [-103]: 'invalid hash',
};

/** Final verdicts on Sandtrap's 0–100 scale: grayware suspicious, phishing malicious; every other code has no score. */
const VERDICT_SCORES: Readonly<Record<number, number>> = { 0: 0, 2: 45, 4: 85, 1: 100, 5: 100 };

/** The report's `file_info/malware` word, for reports scored without a verdict code at hand. */
const MALWARE_WORD_SCORES: Readonly<Record<string, number>> = { no: 0, grayware: 45, phishing: 85, yes: 100 };

const Sha256 = z.string().regex(/^[0-9a-fA-F]{64}$/);
const Code = z
  .string()
  .regex(/^-?\d+$/)
  .transform(Number);

const UploadResponse = z.object({
  wildfire: z.object({
    'upload-file-info': z.object({
      sha256: Sha256,
      md5: z.string().optional(),
      filetype: z.string().optional(),
      size: z.string().optional(),
    }),
  }),
});

const VerdictResponse = z.object({
  wildfire: z.object({ 'get-verdict-info': z.object({ sha256: z.string().optional(), verdict: Code }) }),
});

const ReportDocument = z.object({
  wildfire: z.object({ file_info: z.object({ malware: z.string() }) }),
});

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true });

/** Parses WildFire XML and validates the object it becomes, or throws `BadResponseError`. */
function parseXml<T extends z.ZodType>(text: string, schema: T, what: string): z.infer<T> {
  if (XMLValidator.validate(text) !== true) {
    throw new BadResponseError('wildfire', `${what}: not well-formed XML (${text.slice(0, 80).replace(/\s+/g, ' ')})`);
  }
  const parsed = schema.safeParse(parser.parse(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadResponseError(
      'wildfire',
      `${what}: unexpected XML at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  return parsed.data;
}

/** WildFire resets daily quotas at 00:00 UTC (the KB; the docs say 23:59), so that is when retrying helps. */
function nextUtcMidnight(now: number): string {
  const day = new Date(now);
  return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1)).toISOString();
}

/** The score of a verdict code, `unknown` for pending and error codes. */
function scoreOfCode(code: number): NormalisedScore {
  const native = { value: code, scale: 'WildFire verdict code' };
  return bandedScore(VERDICT_SCORES[code] ?? null, native);
}

/** A hash WildFire can always answer for: the empty file's. `available()` asks for its verdict. */
const EMPTY_SHA256 = createHash('sha256').digest('hex');

/**
 * Palo Alto Networks WildFire through its public API (`/publicapi`): every call is a form POST carrying
 * the key in the `apikey` field, every answer is XML, and the item id is the sample's SHA-256.
 *
 * Unlike sandboxapi, the connector holds no state between calls: `score()` derives the score from the
 * verdict or report passed in, never from the verdict the last `status()` saw.
 *
 * Credentials: the WildFire API key as the portal shows it (a 64-character hex string). Prisma Access and
 * Prisma Cloud Compute keys also need `options.agent` (`prismaaccessapi` or `pcc`).
 */
export class WildfireConnector extends BaseConnector<'wildfire'> {
  constructor(context: ConnectorContext) {
    super('wildfire', context, {
      statusError: (status, body) => statusError(status, body, context.clock.now()),
      keyRequired: '',
    });
  }

  /** Asks for the empty file's verdict: the cheapest call that proves the key works (it counts as one query). */
  protected async probe(): Promise<undefined> {
    await this.verdict(EMPTY_SHA256);
  }

  protected async upload(sample: SampleSource): Promise<string> {
    const { text } = await this.http.text(await this.uploadRequest('submit/file', this.credentialFields(), sample));
    return parseXml(text, UploadResponse, 'submit/file').wildfire['upload-file-info'].sha256.toLowerCase();
  }

  /** PAN advises waiting at least five minutes after an upload before asking for its verdict. */
  override initialWaitSeconds(): number {
    return 300;
  }

  async status(itemId: string): Promise<ItemStatus> {
    const code = await this.verdict(itemId);
    const state = WILDFIRE_VERDICTS[code] ?? `verdict ${code}`;
    if (code >= 0) return itemStatus.ready(state);
    if (code === -100) return itemStatus.inProgress(state);
    return itemStatus.failedAnalysis(state, `WildFire verdict ${code} (${state})`);
  }

  /** The verdict code WildFire holds for a hash: −100 while the analysis runs. */
  async verdict(sha256: string): Promise<number> {
    const { text } = await this.http.text(this.form('get/verdict', { hash: sha256 }));
    return parseXml(text, VerdictResponse, 'get/verdict').wildfire['get-verdict-info'].verdict;
  }

  /** The XML analysis report; `score()` reads its `file_info/malware` field. */
  report(itemId: string): Promise<NativeReport> {
    return this.download(this.form('get/report', { hash: itemId, format: 'xml' }), 'xml');
  }

  /** The same report rendered as PDF, for people. */
  pdfReport(itemId: string): Promise<NativeReport> {
    return this.download(this.form('get/report', { hash: itemId, format: 'pdf' }), 'pdf');
  }
  /** No default link: WildFire's portal pages are not addressed by a public sample URL (configure `reportPageUrl`). */
  protected readFindings(report: unknown): RawFindings {
    return wildfireFindings(report);
  }

  /**
   * Scores what the caller holds: a verdict code (number), the XML of `get/verdict`, or the XML report.
   * Verdicts map benign 0, grayware 45, phishing 85, malware and C2 100; pending and
   * error codes are `unknown`. A report carries no code, only `malware` yes / no / grayware / phishing.
   */
  score(report: unknown): NormalisedScore {
    if (typeof report === 'number') return scoreOfCode(report);
    if (typeof report !== 'string') throw new BadResponseError('wildfire', 'report is not WildFire XML');
    if (report.includes('<get-verdict-info>'))
      return scoreOfCode(parseXml(report, VerdictResponse, 'verdict').wildfire['get-verdict-info'].verdict);
    const word = parseXml(report, ReportDocument, 'report').wildfire.file_info.malware.toLowerCase();
    const native = { value: word, scale: 'WildFire report malware (no/grayware/phishing/yes)' };
    return bandedScore(MALWARE_WORD_SCORES[word] ?? null, native);
  }

  private credentialFields(): { name: string; value: string }[] {
    const agent = this.config.options.agent;
    return [
      { name: 'apikey', value: this.key() },
      ...(agent !== undefined ? [{ name: 'agent', value: String(agent) }] : []),
    ];
  }

  private form(path: string, fields: Record<string, string>): HttpRequest {
    const body = new URLSearchParams([
      ...this.credentialFields().map((f): [string, string] => [f.name, f.value]),
      ...Object.entries(fields),
    ]);
    return {
      method: 'POST',
      path,
      body: body.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    };
  }
}

/** The `error-message` of a WildFire error body, else the status. */
function messageOf(body: string, status: number): string {
  return body.match(/<error-message>\s*'?([^<']*)'?\s*<\/error-message>/)?.[1]?.trim() || `HTTP ${status}`;
}

/** WildFire's status codes whose error is the message alone. */
const messageErrors = errorMapping('wildfire', messageOf, [
  ['too-large', statusIs(413)],
  ['unsupported', statusIs(418, 422)],
]);

/** WildFire's own status codes (the defaults cover 401/403, 429 and 5xx). */
function statusError(status: number, body: string, now: number) {
  if (status === 419) return new QuotaExceededError('wildfire', messageOf(body, status), nextUtcMidnight(now));
  // The report of a finished verdict is written a little later: worth asking again.
  if (status === 404) return new TransientError('wildfire', `report not found (yet): ${messageOf(body, status)}`);
  return messageErrors(status, body);
}

/** The WildFire connector as the registry lists it. */
export const wildfireConnectorInfo = registryEntry(
  'wildfire',
  'Palo Alto Networks WildFire (public API)',
  ['pdf-report', 'xml-report'],
  WildfireConnector,
);

/** WildFire report XML with its attributes (the score parser drops them), a lone child as an object. */
const findingsParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  parseTagValue: false,
  trimValues: true,
  processEntities: false,
});

const List = z
  .unknown()
  .transform((v) => (Array.isArray(v) ? v : v === undefined || v === null || v === '' ? [] : [v]));

/** The parts of one `<report>` (one per platform) findings come from. */
const PlatformReport = z
  .object({
    summary: z.object({ entry: List.optional() }).loose().optional().catch(undefined),
    network: z
      .object({ dns: List.optional(), TCP: List.optional(), UDP: List.optional(), url: List.optional() })
      .loose()
      .optional()
      .catch(undefined),
  })
  .loose();

/**
 * What a WildFire XML report concluded. WildFire names no family: neither its verdict (a code) nor
 * its report (`malware` yes/no/grayware/phishing) carries one, and its report lists no ATT&CK ids. What
 * it does carry: per platform, `summary/entry` (a behaviour: its text the name, its `details` the
 * description, `score` 0.0–1.0: from 0.3 medium, from 0.6 high, from 0.9 critical; as in the
 * captured report test/fixtures/vendors/wildfire_report_pdf.xml) and `network` (`dns@query`,
 * `TCP@ip`, `UDP@ip`, `url@host`).
 */
export function wildfireFindings(report: unknown): RawFindings {
  if (typeof report !== 'string' || XMLValidator.validate(report) !== true) return {};
  const root = z
    .object({ wildfire: z.object({ task_info: z.object({ report: List.optional() }).loose() }).loose() })
    .safeParse(findingsParser.parse(report));
  if (!root.success) return {};
  const reports = (root.data.wildfire.task_info.report ?? []).flatMap((r) => {
    const parsed = PlatformReport.safeParse(r);
    return parsed.success ? [parsed.data] : [];
  });
  const text = (entry: unknown) =>
    typeof entry === 'string' ? entry : (entry as { '#text'?: unknown } | null)?.['#text'];
  return {
    signatures: reports.flatMap((r) =>
      (r.summary?.entry ?? []).map((entry) => ({
        name: text(entry),
        severity: severityFrom((entry as { '@score'?: unknown } | null)?.['@score'] ?? 0, [0.3, 0.6, 0.9]),
        description: (entry as { '@details'?: unknown } | null)?.['@details'],
      })),
    ),
    hosts: reports.flatMap((r) =>
      hostsOf([r.network?.dns, '@query'], [r.network?.url, '@host'], [r.network?.TCP, '@ip'], [r.network?.UDP, '@ip']),
    ),
  };
}
