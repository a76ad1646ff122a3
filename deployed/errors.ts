/**
 * What can go wrong when the CLI drives a deployed stack, as errors whose message is one line a
 * user can act on. `main` prints `sandtrap: <message>` and exits 1; a stack trace or an SDK's
 * multi-line XML answer would bury the one thing to fix.
 */

/** Base of the deployed-stack errors: the message is a single line. */
export class DeployedStackError extends Error {
  constructor(message: string) {
    super(oneLine(message));
    this.name = new.target.name;
  }
}

/** Thrown when no credentials are found, or AWS refuses or has expired them. */
export class CredentialsError extends DeployedStackError {}

/** Thrown when CloudFormation has no stack of that name in the region. */
export class StackNotFoundError extends DeployedStackError {
  constructor(
    readonly stackName: string,
    region: string,
  ) {
    super(
      `stack ${stackName} not found in ${region} (deploy it with \`npx cdk deploy\`, or name it with --stack or SANDTRAP_STACK)`,
    );
  }
}

/** Thrown when the stack exists but lacks an output Sandtrap publishes (not a Sandtrap stack, or not deployed yet). */
export class NotASandtrapStackError extends DeployedStackError {
  constructor(
    readonly stackName: string,
    status: string | undefined,
    missing: string[],
  ) {
    super(
      `stack ${stackName} (${status ?? 'unknown status'}) has no output ${missing.join(', ')}: not a deployed Sandtrap stack`,
    );
  }
}

/** Thrown when AWS answers "access denied": the message names the call and what it was on. */
export class AccessDeniedError extends DeployedStackError {}

/** Thrown when the stack has no verdict (or verdict document) for a sha256. */
export class UnknownSampleError extends DeployedStackError {
  constructor(
    readonly sha256: string,
    where: string,
  ) {
    super(`no verdict for ${sha256} in ${where}`);
  }
}

/** Thrown when the endpoint cannot be reached at all (no network, wrong AWS_ENDPOINT_URL, emulator down). */
export class EndpointUnreachableError extends DeployedStackError {}

/** Thrown for any other failed AWS call, naming the call. */
export class AwsCallError extends DeployedStackError {}

/** One AWS call, as error messages name it. */
export interface AwsCall {
  /** `cloudformation:DescribeStacks`: the IAM action, so that an access-denied message says what to grant. */
  action: string;
  /** What the call was on: `stack Sandtrap`, `s3://bucket/key`. */
  target: string;
  region: string;
  /** A custom endpoint, when one is used. */
  endpoint?: string;
}

const CREDENTIALS_MISSING = ['CredentialsProviderError'];
const CREDENTIALS_EXPIRED = ['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'TokenRefreshRequired'];
const CREDENTIALS_REJECTED = [
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'InvalidSignatureException',
  'IncompleteSignature',
];
const ACCESS_DENIED = ['AccessDenied', 'AccessDeniedException', 'AuthorizationError', 'Forbidden', 'AllAccessDisabled'];
const UNREACHABLE = [
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
];

/** Collapses whitespace and line breaks: SDK messages sometimes carry a whole response body. */
export function oneLine(text: string, max = 400): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

interface SdkErrorLike {
  name?: string;
  code?: string;
  message?: string;
  errors?: unknown[];
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** The socket error code of a failed connection, wherever Node or the SDK put it. */
function networkCode(error: SdkErrorLike | undefined, depth = 0): string | undefined {
  if (!error || depth > 3) return undefined;
  if (error.code && UNREACHABLE.includes(error.code)) return error.code;
  for (const inner of [...(error.errors ?? []), error.cause]) {
    const code = networkCode(inner as SdkErrorLike | undefined, depth + 1);
    if (code) return code;
  }
  return undefined;
}

/** Turns an SDK error into the one-line error the user sees. Errors already explained pass through. */
export function explainAwsError(error: unknown, call: AwsCall): Error {
  if (error instanceof DeployedStackError) return error;
  const e = (error ?? {}) as SdkErrorLike;
  const name = e.name ?? 'Error';
  const message = oneLine(e.message ?? String(error), 200);
  const where = call.endpoint ? `${call.endpoint} (${call.region})` : `AWS ${call.region}`;
  if (CREDENTIALS_MISSING.includes(name) || /could not load credentials/i.test(message)) {
    return new CredentialsError(
      'no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)',
    );
  }
  if (CREDENTIALS_EXPIRED.includes(name))
    return new CredentialsError(`the AWS credentials have expired (${name}): refresh them and try again`);
  if (CREDENTIALS_REJECTED.includes(name))
    return new CredentialsError(`${where} rejected the AWS credentials (${name}): ${message}`);
  if (ACCESS_DENIED.includes(name) || (e.$metadata?.httpStatusCode === 403 && !CREDENTIALS_REJECTED.includes(name))) {
    return new AccessDeniedError(`access denied: ${call.action} on ${call.target}: ${message}`);
  }
  const code = networkCode(e);
  if (code) return new EndpointUnreachableError(`cannot reach ${where} for ${call.action} (${code})`);
  if (name === 'TimeoutError') return new EndpointUnreachableError(`${where} did not answer ${call.action} in time`);
  return new AwsCallError(`${call.action} on ${call.target} failed: ${name}: ${message}`);
}

/** Runs one AWS call, turning its failure into a one-line error that names the call. */
export async function awsCall<T>(call: AwsCall, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw explainAwsError(error, call);
  }
}
