import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretSource } from '../config/runtime-config';

/** How long a secret read from Secrets Manager is reused by a warm Lambda, in seconds. */
const SECRET_CACHE_SECONDS = 300;

/**
 * Resolves a vendor credential: from Secrets Manager (cached for five minutes) when deployed, or from
 * an environment variable locally. The value is returned to the connector and never logged.
 */
export async function resolveSecret(
  source: SecretSource | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  if (!source || 'anonymous' in source) return undefined;
  if ('env' in source) {
    const value = env[source.env];
    if (!value) throw new Error(`environment variable ${source.env} is not set (vendor credential)`);
    return value;
  }
  const value = await getSecret<string>(source.arn, { maxAge: SECRET_CACHE_SECONDS });
  if (typeof value !== 'string' || value.length === 0) throw new Error(`secret ${source.arn} has no string value`);
  return value;
}
