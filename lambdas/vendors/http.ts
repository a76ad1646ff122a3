import { Readable } from 'node:stream';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import type { VendorId } from '../core/contracts/pipeline';
import type { ConnectorContext } from '../core/connector/context';
import type { RequestGate } from '../core/connector/request-gates';
import {
  AuthError,
  BadResponseError,
  ItemNotFoundError,
  RateLimitedError,
  TransientError,
  type VendorError,
} from '../core/connector/errors';

/** Connection settings of one vendor's HTTP client. */
export interface HttpClientOptions {
  vendor: VendorId;
  baseUrl: string;
  /** Applies to connecting, to waiting for headers, and to each gap between body chunks. */
  timeoutMs: number;
  verifyTls?: boolean;
  proxyUrl?: string;
  headers?: Record<string, string>;
  /** Called before every request (the shared rate limit of this vendor endpoint). */
  gate?: RequestGate;
  /** Vendor-specific meaning of HTTP statuses (WildFire's 419 quota, say); checked before the defaults. */
  statusError?: (status: number, body: string, headers: Record<string, string>) => VendorError | undefined;
}

/** A vendor's HTTP client from its connector context (base URL, request timeout, TLS verification, proxy, request gate), with its own headers and status meanings. */
export function httpClientFor(
  context: ConnectorContext,
  options: Pick<HttpClientOptions, 'headers' | 'statusError'> = {},
): VendorHttpClient {
  const { config } = context;
  return new VendorHttpClient({
    vendor: config.id,
    baseUrl: config.baseUrl,
    timeoutMs: config.requestTimeoutMs,
    verifyTls: config.verifyTls,
    proxyUrl: config.proxyUrl,
    gate: context.gate,
    ...options,
  });
}

/** One request. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT';
  path: string;
  query?: Record<string, string | number | readonly string[] | undefined>;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable;
  contentLength?: number;
}

/** A response whose status has been checked; the body is still a stream. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Dispatcher.ResponseData['body'];
}

// Dispatchers (connection pools) live as long as the Lambda container, so warm invocations reuse sockets.
const dispatchers = new Map<string, Dispatcher>();

function dispatcherFor(options: HttpClientOptions): Dispatcher {
  const key = `${options.proxyUrl ?? ''}|${options.verifyTls !== false}|${options.timeoutMs}`;
  let dispatcher = dispatchers.get(key);
  if (!dispatcher) {
    const connect = { timeout: options.timeoutMs, rejectUnauthorized: options.verifyTls !== false };
    dispatcher = options.proxyUrl
      ? new ProxyAgent({ uri: options.proxyUrl, requestTls: connect, proxyTls: connect })
      : new Agent({ connect, keepAliveTimeout: 30_000 });
    dispatchers.set(key, dispatcher);
  }
  return dispatcher;
}

/** Closes every pooled connection (tests and the CLI; Lambdas keep them). */
export async function closeHttpPools(): Promise<void> {
  const all = [...dispatchers.values()];
  dispatchers.clear();
  await Promise.all(all.map((d) => d.close().catch(() => undefined)));
}

/** Parses `Retry-After` (seconds or an HTTP date) into seconds, with a fallback. */
export function retryAfterSeconds(value: string | undefined, now = Date.now(), fallback = 60): number {
  if (!value) return fallback;
  if (/^\d+$/.test(value.trim())) return Math.max(1, Number(value.trim()));
  const at = Date.parse(value);
  return Number.isNaN(at) ? fallback : Math.max(1, Math.ceil((at - now) / 1000));
}

function flattenHeaders(headers: Dispatcher.ResponseData['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return flat;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * A vendor's HTTP client on undici: a timeout on every request, pooled connections, optional proxy
 * and TLS verification, and HTTP failures turned into the typed errors the state machine acts on.
 * It never retries by itself: retries belong to the state machine.
 */
export class VendorHttpClient {
  private readonly base: URL;

  constructor(private readonly options: HttpClientOptions) {
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  }

  /** The URL a path resolves to (paths are relative to the base URL). */
  url(path: string, query?: HttpRequest['query']): URL {
    const url = new URL(path.replace(/^\/+/, ''), this.base);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
    }
    return url;
  }

  /** Sends a request and checks its status; the caller reads the body. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const { vendor, timeoutMs } = this.options;
    const admitted = await this.options.gate?.();
    let response: Dispatcher.ResponseData;
    try {
      response = await request(this.url(req.path, req.query), {
        method: req.method,
        headers: {
          'user-agent': 'sandtrap',
          ...this.options.headers,
          ...req.headers,
          ...(req.contentLength !== undefined ? { 'content-length': String(req.contentLength) } : {}),
        },
        body: req.body,
        dispatcher: dispatcherFor(this.options),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (NETWORK_CODES.has(code) || (error as Error).name === 'AbortError') {
        throw new TransientError(vendor, `${req.method} ${req.path}: ${code || (error as Error).message}`);
      }
      throw error;
    } finally {
      admitted?.();
    }
    const headers = flattenHeaders(response.headers);
    if (response.statusCode >= 400) {
      const text = await readText(response.body, 64 * 1024).catch(() => '');
      throw this.errorFor(response.statusCode, headers, text, req);
    }
    return { status: response.statusCode, headers, body: response.body };
  }

  /** Sends a request, reads the whole (small) body as text. */
  async text(
    req: HttpRequest,
    maxBytes = 16 * 1024 * 1024,
  ): Promise<{ status: number; headers: Record<string, string>; text: string }> {
    const response = await this.send(req);
    try {
      return { status: response.status, headers: response.headers, text: await readText(response.body, maxBytes) };
    } catch (error) {
      throw this.bodyError(req, error);
    }
  }

  /** Sends a request and validates its JSON body with a zod schema. */
  async json<T extends z.ZodType>(req: HttpRequest, schema: T): Promise<z.infer<T>> {
    const { text } = await this.text(req);
    return this.parse(text, schema, req.path);
  }

  /** Validates a value the vendor sent (an envelope's `data`, say), or throws `BadResponseError` naming what was wrong. */
  validate<T extends z.ZodType>(value: unknown, schema: T, what: string): z.infer<T> {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw new BadResponseError(
      this.options.vendor,
      `${what}: unexpected data at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }

  /** Parses JSON text against a schema, or throws `BadResponseError` naming what was wrong. */
  parse<T extends z.ZodType>(text: string, schema: T, what: string): z.infer<T> {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new BadResponseError(this.options.vendor, `${what}: not JSON (${text.slice(0, 80).replace(/\s+/g, ' ')})`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BadResponseError(
        this.options.vendor,
        `${what}: unexpected shape at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      );
    }
    return parsed.data;
  }

  private bodyError(req: HttpRequest, error: unknown): Error {
    const code = (error as { code?: string }).code ?? '';
    if (NETWORK_CODES.has(code))
      return new TransientError(this.options.vendor, `${req.method} ${req.path}: body ${code}`);
    return error as Error;
  }

  private errorFor(status: number, headers: Record<string, string>, text: string, req: HttpRequest): VendorError {
    const { vendor } = this.options;
    const specific = this.options.statusError?.(status, text, headers);
    if (specific) return specific;
    const where = `${req.method} ${req.path} → HTTP ${status}`;
    const detail = text.slice(0, 200).replace(/\s+/g, ' ').trim();
    if (status === 401 || status === 403) return new AuthError(vendor, `${where}: credentials refused`);
    if (status === 429)
      return new RateLimitedError(vendor, `${where}: ${detail}`, retryAfterSeconds(headers['retry-after']));
    if (status >= 500 || status === 408) return new TransientError(vendor, `${where}: ${detail}`);
    // An unknown item (or a wrong base URL) will not appear by retrying.
    if (status === 404) return new ItemNotFoundError(vendor, `${where}: ${detail}`);
    return new BadResponseError(vendor, `${where}: ${detail}`);
  }
}

/** Reads a body to text, refusing more than `maxBytes`. */
export async function readText(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += chunk.length;
    if (length > maxBytes) throw new Error(`response larger than ${maxBytes} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads up to `limit` bytes of a body (to tell an error envelope from a report) without buffering the
 * rest; returns them, whether the body ended, and a stream of the whole body.
 */
export async function peekBody(
  body: HttpResponse['body'],
  limit: number,
): Promise<{ head: string; ended: boolean; stream: Readable }> {
  const iterator = body[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < limit) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    chunks.push(Buffer.from(next.value));
    length += next.value.length;
  }
  async function* whole() {
    yield* chunks;
    if (ended) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield Buffer.from(next.value);
  }
  return { head: Buffer.concat(chunks).toString('utf8'), ended, stream: Readable.from(whole()) };
}

/** JSON text as a value, or undefined when it is not JSON (a peeked report head, an error page). */
export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
