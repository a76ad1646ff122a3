import * as z from 'zod';
import {
  AuthError,
  BadResponseError,
  errorMapping,
  type HttpRequest,
  type HttpResponse,
  jsonOrUndefined,
  type NativeReport,
  peekBody,
  RateLimitedError,
  REPORT_CONTENT_TYPES,
  type ReportFormat,
  statusIs,
  TransientError,
  UNSUPPORTED,
  type VendorError,
  type VendorHttpClient,
} from '../kit';
import { type ApiLayout, FireEyeApis, parseCredentials } from './wire';

/**
 * The appliance refused our session token (HTTP 401, or `fireeyeapis.httpStatus: 401` inside a 200):
 * it expired after 15 idle minutes or was logged out. Never leaves the connector: it is answered by
 * one fresh login, and becomes an `AuthError` if the fresh token is refused too.
 */
export class TokenRefused extends AuthError {}

/**
 * The WSAPI session: a login with HTTP Basic credentials yields the `X-FeApi-Token` every call
 * carries. The token lives as long as the client (one per warm Lambda) and expires after 15 idle
 * minutes; a refused token, as HTTP 401 or as `fireeyeapis.httpStatus: 401` inside a 200, triggers
 * exactly one fresh login and one retry (sandboxapi retried recursively without a cap).
 */
export class FireeyeClient {
  /** The current session; a promise so that concurrent calls share one login. */
  private session?: Promise<string>;

  constructor(
    private readonly http: VendorHttpClient,
    private readonly layout: ApiLayout,
    private readonly credentials: string | undefined,
  ) {}

  /** Logs in afresh with the configured credentials, logging out of any session held first. */
  async authenticate(): Promise<void> {
    await this.logout();
    await this.startSession();
  }

  /** Ends the session with POST `auth/logout` (sandboxapi sent GET); the appliance allows only 100 open sessions. */
  async logout(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.session = undefined;
    const token = await session.catch(() => undefined);
    if (!token) return;
    // 204 ends the session; 304 or 401 mean the appliance no longer knew the token: ended either way.
    try {
      const response = await this.http.send({
        method: 'POST',
        path: `${this.layout.authPath}logout`,
        headers: { 'x-feapi-token': token },
      });
      await response.body.dump();
    } catch (error) {
      if (!(error instanceof TokenRefused)) throw error;
    }
  }

  token(): Promise<string> {
    return this.session ?? this.startSession();
  }

  private startSession(): Promise<string> {
    const session = this.login();
    // A failed login is not kept: the next call tries again.
    session.catch(() => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    return session;
  }

  private async login(): Promise<string> {
    const { username, password } = parseCredentials(this.credentials);
    const basic = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
    let response: HttpResponse;
    try {
      response = await this.http.send({
        method: 'POST',
        path: `${this.layout.authPath}login`,
        headers: { authorization: `Basic ${basic}` },
      });
    } catch (error) {
      if (error instanceof TokenRefused) throw new AuthError('fireeye', `login refused for user ${username}`);
      throw error;
    }
    await response.body.dump();
    const token = response.headers['x-feapi-token'];
    if (!token)
      throw new BadResponseError('fireeye', `login answered HTTP ${response.status} without an X-FeApi-Token header`);
    return token;
  }

  /** Runs a request with the session token; a refused token gets one fresh login and one retry. */
  private async withToken<T>(run: (token: string) => Promise<T>): Promise<T> {
    const token = await this.token();
    try {
      return await run(token);
    } catch (error) {
      if (!(error instanceof TokenRefused)) throw error;
      // Only the caller that saw this token fail replaces it; concurrent callers reuse the new login.
      if (this.session && (await this.session.catch(() => undefined)) === token) this.session = undefined;
    }
    const fresh = await this.token();
    try {
      return await run(fresh);
    } catch (error) {
      if (error instanceof TokenRefused) {
        this.session = undefined;
        throw new AuthError('fireeye', 'a freshly issued session token was refused too');
      }
      throw error;
    }
  }

  /** Sends an authenticated request and validates its JSON, reading errors hidden in HTTP 200 bodies. */
  json<T extends z.ZodType>(request: HttpRequest | (() => Promise<HttpRequest>), schema: T): Promise<z.infer<T>> {
    return this.withToken(async (token) => {
      const req = typeof request === 'function' ? await request() : request;
      const { text } = await this.http.text(withTokenHeader({ ...req, path: this.layout.prefix + req.path }, token));
      const value = this.http.parse(text, z.unknown(), req.path);
      const envelope = FireEyeApis.safeParse(value);
      if (envelope.success) throw errorOf(envelope.data.fireeyeapis.httpStatus, text);
      return this.http.parse(text, schema, req.path);
    });
  }

  /** Streams an authenticated download, after checking that a small body is not an error document. */
  stream(req: HttpRequest, format: ReportFormat): Promise<NativeReport> {
    return this.withToken(async (token) => {
      const response = await this.http.send(withTokenHeader({ ...req, path: this.layout.prefix + req.path }, token));
      const { head, ended, stream } = await peekBody(response.body, 64 * 1024);
      if (ended) {
        const envelope = FireEyeApis.safeParse(jsonOrUndefined(head));
        if (envelope.success) throw errorOf(envelope.data.fireeyeapis.httpStatus, head);
        if (/<httpStatus>\s*401\s*<\/httpStatus>/.test(head)) throw errorOf(401, head);
      }
      return { body: stream, contentType: REPORT_CONTENT_TYPES[format], extension: format };
    });
  }
}

function withTokenHeader(req: HttpRequest, token: string): HttpRequest {
  return { ...req, headers: { ...req.headers, 'x-feapi-token': token } };
}

/** Error text the appliance puts in `fireeyeapis.description` / `message`, or the raw body. */
function errorDetail(body: string): string {
  const envelope = FireEyeApis.safeParse(jsonOrUndefined(body));
  const text = envelope.success
    ? [envelope.data.fireeyeapis.message, envelope.data.fireeyeapis.description].filter(Boolean).join(': ')
    : body;
  return text.slice(0, 200).replace(/\s+/g, ' ').trim();
}

/** The typed error for a status found inside a `fireeyeapis` body, where the client's defaults do not reach. */
function errorOf(status: number, body: string): VendorError {
  const specific = statusError(status, body);
  if (specific) return specific;
  const message = `HTTP ${status} in the body: ${errorDetail(body)}`;
  if (status === 403) return new AuthError('fireeye', message);
  // No Retry-After header comes with a status inside a body: a minute is the threshold's own window.
  if (status === 429) return new RateLimitedError('fireeye', message, 60);
  if (status >= 500) return new TransientError('fireeye', message);
  return new BadResponseError('fireeye', message);
}

/** The statuses whose meaning is one of the common typed errors, read with the appliance's error text. */
const statusMeanings = errorMapping('fireeye', errorDetail, [
  ['not-found', statusIs(404), 'not found'],
  ['too-large', statusIs(413), 'request entity too large'],
  // WSAPI thresholds are set per minute and per day; only the daily one is a quota.
  ['quota', (status, detail) => status === 429 && /per day|daily|day threshold/i.test(detail)],
  ['unsupported', (status, detail) => status === 400 && UNSUPPORTED.test(detail)],
]);

/** FireEye's meaning of statuses; the client's defaults cover 403, 429 (with Retry-After) and 5xx. */
export function statusError(status: number, body: string): VendorError | undefined {
  if (status === 401) return new TokenRefused('fireeye', `token refused: ${errorDetail(body)}`);
  return statusMeanings(status, body);
}
