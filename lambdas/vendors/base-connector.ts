import type { z } from 'zod';
import type { Clock } from '../core/contracts/clock';
import type { VendorConfig } from '../core/config/runtime-config';
import type { VendorId } from '../core/contracts/pipeline';
import { boundedFindings, type RawFindings, reportPageUrl, type VendorFindings } from '../core/contracts/findings';
import type {
  ConnectorCapability,
  ConnectorInfo,
  ItemStatus,
  NativeReport,
  NormalisedScore,
  SampleSource,
  SandboxConnector,
  RequestCosts,
} from '../core/connector/connector';
import type { ConnectorContext } from '../core/connector/context';
import { AuthError, BadResponseError, SampleTooLargeError } from '../core/connector/errors';
import { type HttpClientOptions, type HttpRequest, httpClientFor, type VendorHttpClient } from './http';
import { type FormField, multipartBody } from './multipart';

/** How a connector talks to its vendor: the headers every request carries and what HTTP statuses mean there. */
export interface WireOptions extends Pick<HttpClientOptions, 'headers' | 'statusError'> {
  /**
   * The headers that carry the configured secret (`authorization: Bearer …`, say), added to `headers`
   * only when a secret is configured: without one the request goes out anonymously.
   */
  credentialHeaders?: (secret: string) => Record<string, string>;
  /**
   * Set when the vendor refuses anonymous use: every request then fails with an `AuthError` naming
   * this reason before anything is sent, rather than with whatever the vendor answers to no key.
   */
  keyRequired?: string;
}

/** How the sample's file part of an upload is named. */
export interface UploadFilePart {
  /** The form field. @default 'file' */
  field?: string;
  /** The file name the part carries. @default the sample's */
  fileName?: string;
}

/** The formats vendors deliver reports in, by file extension, with the content type each is stored under. */
export const REPORT_CONTENT_TYPES = {
  json: 'application/json',
  xml: 'application/xml',
  pdf: 'application/pdf',
  html: 'text/html',
} as const;
export type ReportFormat = keyof typeof REPORT_CONTENT_TYPES;

/** The statuses a connector's `status()` answers with, one builder for each way a poll can end or go on. */
export const itemStatus = {
  /** The report is ready to fetch. */
  ready(state: string): ItemStatus {
    return { done: true, failed: false, state };
  },

  /** The analysis is still in the works; `pollAfterSeconds` when the vendor (or its task times) gives an estimate. */
  inProgress(state: string, pollAfterSeconds?: number): ItemStatus {
    return { done: false, failed: false, state, ...(pollAfterSeconds !== undefined ? { pollAfterSeconds } : {}) };
  },

  /** The vendor ended the analysis without a report, for `reason`. */
  failedAnalysis(state: string, reason: string): ItemStatus {
    return { done: false, failed: true, state, reason };
  },
};

/** A connector's registry entry: what it is called, what it can do beyond the interface, and its class. */
export function registryEntry<Id extends VendorId>(
  id: Id,
  name: string,
  capabilities: readonly ConnectorCapability[],
  connector: new (context: ConnectorContext) => SandboxConnector,
): ConnectorInfo {
  return { id, name, capabilities, create: (context) => new connector(context) };
}

/**
 * What every connector does the same way, once: the configured size limit, the availability probe
 * (a refused key is an `AuthError`, anything else "not available"), the streamed multipart upload,
 * the wait before the first poll, and "no delete". A connector supplies only its wire hooks:
 * `probe`, `upload`, `status`, `report`, `score`, and `delete` where the vendor offers one.
 */
export abstract class BaseConnector<Id extends VendorId = VendorId> implements SandboxConnector {
  readonly requestCosts: RequestCosts = {};
  protected readonly config: VendorConfig;
  protected readonly clock: Clock;
  private readonly credentials: string | undefined;
  private readonly client: VendorHttpClient;
  private readonly keyRequired: string | undefined;

  constructor(
    readonly id: Id,
    context: ConnectorContext,
    wire: WireOptions = {},
  ) {
    this.config = context.config;
    this.clock = context.clock;
    this.credentials = context.credentials;
    this.keyRequired = wire.keyRequired;
    const secret = context.credentials;
    const credentialHeaders = secret && wire.credentialHeaders ? wire.credentialHeaders(secret) : {};
    this.client = httpClientFor(context, {
      headers: { ...wire.headers, ...credentialHeaders },
      statusError: wire.statusError,
    });
  }

  /** True when the probe succeeds; a refused key is an `AuthError`, not "unavailable". */
  async available(): Promise<boolean> {
    try {
      return (await this.probe()) !== false;
    } catch (error) {
      if (error instanceof AuthError) throw error;
      return false;
    }
  }

  /** Refuses a sample over the configured size before anything is sent, then uploads it. */
  async submit(sample: SampleSource): Promise<string> {
    if (this.keyRequired !== undefined) this.key();
    const maxBytes = this.config.maxFileBytes;
    if (maxBytes !== undefined && sample.size > maxBytes) {
      throw new SampleTooLargeError(this.id, `${sample.size} bytes is over the configured ${maxBytes}`);
    }
    return this.upload(sample);
  }

  /** The analysis time we asked for plus the vendor's processing time. */
  initialWaitSeconds(): number | undefined {
    return this.config.analysisTimeoutSeconds + this.processingSeconds();
  }

  /** Most vendors' APIs keep every sample; those that can delete override this. */
  async delete(_itemId?: string): Promise<boolean> {
    return false;
  }

  abstract status(itemId: string): Promise<ItemStatus>;
  abstract report(itemId: string): Promise<NativeReport>;
  abstract score(report: unknown): NormalisedScore;

  /**
   * What the vendor concluded, bounded, with the link to its page for `itemId`. Never throws: a
   * report that scored is not lost for findings the connector could not read.
   */
  findings(report: unknown, itemId: string): VendorFindings {
    let raw: RawFindings = {};
    try {
      raw = this.readFindings(report);
    } catch {
      // An odd report keeps its score; it just has nothing to add.
    }
    const template = this.config.reportPageUrl ?? this.defaultReportPage();
    return boundedFindings(raw, reportPageUrl(template, this.reportPageId(itemId)));
  }

  /** The id the vendor's pages address an analysis by: the item id, unless the connector's item id is composite. */
  protected reportPageId(itemId: string): string {
    return itemId;
  }

  /** The findings a parsed native report states, unbounded (the base class bounds them). Pure: no network. */
  protected abstract readFindings(report: unknown): RawFindings;

  /**
   * The vendor's page for an analysis, as a `{id}` template derived from `baseUrl`, where the vendor's
   * web layout is known; `undefined` (no link unless `reportPageUrl` is configured) otherwise.
   */
  protected defaultReportPage(): string | undefined {
    return undefined;
  }

  /** The cheapest call that proves the service answers and knows the key; `false` when it answers "not now". */
  protected abstract probe(): Promise<boolean | undefined>;

  /** Uploads a sample already known to be within the size limit; returns the vendor's item id. */
  protected abstract upload(sample: SampleSource): Promise<string>;

  /** Seconds the vendor needs after the run to write its report (`options.processingSeconds`, default 60). */
  protected processingSeconds(): number {
    return Number(this.config.options.processingSeconds ?? 60);
  }

  /** The vendor's HTTP client; an `AuthError` instead when the vendor needs a key and none is configured. */
  protected get http(): VendorHttpClient {
    if (this.keyRequired !== undefined) this.key();
    return this.client;
  }

  /** The configured key; an `AuthError` when there is none. */
  protected key(): string {
    if (!this.credentials)
      throw new AuthError(this.id, `no API key configured${this.keyRequired ? ` (${this.keyRequired})` : ''}`);
    return this.credentials;
  }

  /** The configured secret as it is, for vendors that also run without one. */
  protected get secret(): string | undefined {
    return this.credentials;
  }

  /** Options passed through to the vendor's submission form under their API names, in the order listed. */
  protected optionFields(
    names: readonly string[],
    format: (value: string | number | boolean) => string = String,
  ): FormField[] {
    return names.flatMap((name) => {
      const value = this.config.options[name];
      return value === undefined ? [] : [{ name, value: format(value) }];
    });
  }

  /** A POST of `fields` then the sample's bytes, streamed as `multipart/form-data` with its exact length. */
  protected async uploadRequest(
    path: string,
    fields: readonly FormField[],
    sample: SampleSource,
    file: UploadFilePart = {},
  ): Promise<HttpRequest> {
    const multipart = multipartBody(fields, {
      field: file.field ?? 'file',
      fileName: file.fileName ?? sample.fileName,
      contentType: 'application/octet-stream',
      size: sample.size,
      stream: await sample.open(),
    });
    return {
      method: 'POST',
      path,
      body: multipart.body,
      contentLength: multipart.contentLength,
      headers: { 'content-type': multipart.contentType },
    };
  }

  /** The analysis time we ask for, under the vendor's form field name. */
  protected analysisTimeField(name: string): FormField {
    return { name, value: String(this.config.analysisTimeoutSeconds) };
  }

  /** Streams a report download as the vendor sends it, labelled with its format's content type. */
  protected async download(req: HttpRequest, format: ReportFormat): Promise<NativeReport> {
    const response = await this.http.send(req);
    return { body: response.body, contentType: REPORT_CONTENT_TYPES[format], extension: format };
  }

  /** A report as `schema` reads it; a `BadResponseError` saying it is not `what` otherwise. */
  protected reportAs<T extends z.ZodType>(report: unknown, schema: T, what: string): z.infer<T> {
    const parsed = schema.safeParse(report);
    if (!parsed.success) throw new BadResponseError(this.id, `report is not ${what}`);
    return parsed.data;
  }

  /** True when `work` succeeds, false when it throws: for deletes, which never fail an analysis. */
  protected async succeeds(work: () => Promise<unknown>): Promise<boolean> {
    try {
      await work();
      return true;
    } catch {
      return false;
    }
  }
}
