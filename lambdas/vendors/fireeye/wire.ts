import * as z from 'zod';
import { AuthError } from '../../core/connector/errors';

// FireEye / Trellix WSAPI on the wire: credentials, the two path layouts, the documents the connector reads.

/** Username and password of a WSAPI account (API Analyst or API Monitor role). */
export interface Credentials {
  username: string;
  password: string;
}

const CredentialsJson = z.object({ username: z.string().min(1), password: z.string() });

/** Reads `{"username": "...", "password": "..."}` or `username:password` (split at the first colon). */
export function parseCredentials(apiKey: string | undefined): Credentials {
  if (!apiKey) throw new AuthError('fireeye', 'no credentials configured');
  if (apiKey.trimStart().startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(apiKey);
    } catch {
      throw new AuthError('fireeye', 'credentials are not valid JSON');
    }
    const parsed = CredentialsJson.safeParse(value);
    if (!parsed.success) throw new AuthError('fireeye', 'credentials JSON needs a username and a password');
    return parsed.data;
  }
  const colon = apiKey.indexOf(':');
  if (colon <= 0)
    throw new AuthError('fireeye', 'credentials must be {"username","password"} JSON or username:password');
  return { username: apiKey.slice(0, colon), password: apiKey.slice(colon + 1) };
}

/**
 * Which WSAPI the base URL points at. `classic` is `/wsapis/v1.1.0|v1.2.0|v2.0.0/` (AX, CM); `mvx` is
 * Trellix's `/wsapis/mvx/v2.0.0/`, whose login and logout live under `/wsapis/common/<version>/`.
 */
export type Family = 'classic' | 'mvx';

export interface ApiLayout {
  family: Family;
  /** Prefix of API paths relative to the configured base URL: empty unless the base is the bare appliance. */
  prefix: string;
  /** Login and logout, relative to the configured base URL. */
  authPath: string;
}

/**
 * Works out the API family from the base URL; a bare appliance URL gets sandboxapi's `/wsapis/v1.2.0/`.
 * The base URL itself stays as configured, because request gates (rate limits) are keyed by it.
 */
export function layoutOf(baseUrl: string): ApiLayout {
  const { pathname } = new URL(baseUrl);
  const path = pathname.endsWith('/') ? pathname : `${pathname}/`;
  const mvx = path.match(/\/wsapis\/mvx\/(v[\d.]+)\/$/);
  if (mvx) return { family: 'mvx', prefix: '', authPath: `../../common/${mvx[1]}/auth/` };
  if (/\/wsapis\/v[\d.]+\/$/.test(path)) return { family: 'classic', prefix: '', authPath: 'auth/' };
  return { family: 'classic', prefix: 'wsapis/v1.2.0/', authPath: 'wsapis/v1.2.0/auth/' };
}

/** The error document older appliances send, sometimes inside an HTTP 200 (code AUTH004 for an expired token). */
export const FireEyeApis = z.object({
  fireeyeapis: z.object({
    httpStatus: z.number().int(),
    message: z.string().optional(),
    description: z.string().optional(),
  }),
});

export const SubmissionId = z.union([z.string().min(1), z.number().int()]).transform(String);
/**
 * One submitted sample. Trellix does not say whether the answer carries the submission key `ID`, the
 * `uuid` the MVX result API is keyed by, or both (unverified): any of the three shapes is read.
 */
export const SubmitEntry = z
  .object({ ID: SubmissionId.optional(), uuid: SubmissionId.optional() })
  .refine((entry) => entry.ID !== undefined || entry.uuid !== undefined, 'neither ID nor uuid');
export const SubmitResponse = z.union([SubmitEntry, z.array(SubmitEntry).min(1)]);

export const ClassicStatus = z.object({ submissionStatus: z.string() });

export const MvxResult = z.object({ status: z.string(), verdict: z.string().optional() });

export const Alert = z.object({
  id: z.union([z.number(), z.string()]).optional(),
  severity: z.string().optional(),
  malicious: z.string().optional(),
});
export const ClassicResults = z.object({
  alertsCount: z.number().optional(),
  // A single alert arrives as an object on some versions (XML-to-JSON heritage).
  alert: z.union([z.array(Alert), Alert]).optional(),
});

/** One alert of classic results. */
export type Alert = z.infer<typeof Alert>;
