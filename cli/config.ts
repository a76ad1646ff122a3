import * as z from 'zod';
import { VENDOR_IDS } from '../lambdas/core/contracts/pipeline';
import { parseSandtrapConfig, type SandtrapConfigInput } from '../lib/config';
import { readConfigFile } from '../lib/config-file';

/**
 * The pipeline configuration for local runs: a JSON file named by `SANDTRAP_CONFIG_FILE` (the same
 * shape `cdk deploy` takes), plus vendors enabled by environment variables:
 * `SANDTRAP_<VENDOR>_URL` (required), `SANDTRAP_<VENDOR>_API_KEY` (read at run time, never logged;
 * without it the vendor is called anonymously),
 * `SANDTRAP_<VENDOR>_OPTIONS` (JSON object of vendor options).
 */
export function localConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SandtrapConfigInput {
  let config: SandtrapConfigInput = {};
  if (env.SANDTRAP_CONFIG_FILE) {
    try {
      config = readConfigFile(env.SANDTRAP_CONFIG_FILE) as SandtrapConfigInput;
    } catch (error) {
      throw new Error(`SANDTRAP_CONFIG_FILE ${env.SANDTRAP_CONFIG_FILE}: ${(error as Error).message}`);
    }
  }
  const vendors = [...(config.settings?.vendors ?? [])];
  for (const id of VENDOR_IDS) {
    const prefix = `SANDTRAP_${id.toUpperCase()}_`;
    const baseUrl = env[`${prefix}URL`];
    if (!baseUrl) continue;
    let options: Record<string, string | number | boolean> = {};
    if (env[`${prefix}OPTIONS`]) {
      const parsed = z
        .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
        .safeParse(safeJson(env[`${prefix}OPTIONS`] ?? ''));
      if (!parsed.success) throw new Error(`${prefix}OPTIONS must be a JSON object of strings, numbers and booleans`);
      options = parsed.data;
    }
    const index = vendors.findIndex((v) => v.id === id);
    const secret = env[`${prefix}API_KEY`] ? { env: `${prefix}API_KEY` } : { anonymous: true as const };
    const vendor = { id, baseUrl, options, secret };
    if (index >= 0) vendors[index] = { ...vendors[index], ...vendor };
    else vendors.push(vendor);
  }
  const result = { ...config, settings: { ...config.settings, vendors } };
  parseSandtrapConfig(result); // fail early, with every problem named
  return result;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
