import { readFileSync } from 'node:fs';
import { systemClock } from '../lambdas/core/contracts/clock';
import { parseSettings, type VendorConfig } from '../lambdas/core/config/runtime-config';
import { VendorIdSchema, VENDOR_IDS, type VendorId } from '../lambdas/core/contracts/pipeline';
import { resolveSecret } from '../lambdas/core/runtime/secrets';
import type { NormalisedScore } from '../lambdas/core/connector/connector';
import { closeHttpPools } from '../lambdas/vendors/http';
import { CONNECTORS } from '../lambdas/vendors/registry';
import type { SandtrapConfigInput } from '../lib/config';

/** One line of `sandtrap vendors`. */
export interface VendorListing {
  id: VendorId;
  name: string;
  capabilities: readonly string[];
  available: boolean;
  configured: boolean;
  baseUrl?: string;
}

function configuredVendors(config: SandtrapConfigInput): VendorConfig[] {
  return parseSettings(config.settings ?? {}).vendors;
}

/** Every vendor id Sandtrap knows, whether it ships a connector, and whether this configuration enables it. */
export function listVendors(config: SandtrapConfigInput): VendorListing[] {
  const configured = configuredVendors(config);
  return VENDOR_IDS.map((id) => {
    const info = CONNECTORS[id];
    const vendor = configured.find((v) => v.id === id);
    return {
      id,
      name: info?.name ?? id,
      capabilities: info?.capabilities ?? [],
      available: info !== undefined,
      configured: vendor !== undefined,
      ...(vendor ? { baseUrl: vendor.baseUrl } : {}),
    };
  });
}

/** The outcome of `available()` on one configured vendor. */
export interface VendorCheck {
  id: VendorId;
  ok: boolean;
  detail: string;
  ms: number;
}

/** Runs `available()` on the configured vendors (or one of them); never throws for a vendor's failure. */
export async function checkVendors(
  config: SandtrapConfigInput,
  only?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<VendorCheck[]> {
  const vendors = configuredVendors(config).filter((v) => !only || v.id === only);
  if (only && vendors.length === 0)
    throw new Error(`vendor '${only}' is not configured (set SANDTRAP_${only.toUpperCase()}_URL)`);
  try {
    return await Promise.all(
      vendors.map(async (vendor) => {
        const started = Date.now();
        try {
          const info = CONNECTORS[vendor.id];
          if (!info) return { id: vendor.id, ok: false, detail: 'no connector shipped for this vendor', ms: 0 };
          const connector = info.create({
            config: vendor,
            credentials: await resolveSecret(vendor.secret, env),
            clock: systemClock,
          });
          const ok = await connector.available();
          return { id: vendor.id, ok, detail: ok ? 'available' : 'not available', ms: Date.now() - started };
        } catch (error) {
          return {
            id: vendor.id,
            ok: false,
            detail: `${(error as Error).name}: ${(error as Error).message}`,
            ms: Date.now() - started,
          };
        }
      }),
    );
  } finally {
    await closeHttpPools();
  }
}

/** Re-scores a stored native report (JSON, or XML text for WildFire/FireEye) with a vendor's connector. */
export function scoreReport(vendor: string, file: string): NormalisedScore & { vendor: VendorId } {
  const id = VendorIdSchema.parse(vendor);
  const info = CONNECTORS[id];
  if (!info) throw new Error(`no connector shipped for vendor '${id}'`);
  const text = readFileSync(file, 'utf8');
  let report: unknown = text;
  if (/^\s*[{[]/.test(text)) {
    try {
      report = JSON.parse(text);
    } catch (error) {
      throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
    }
  }
  // Scoring is pure: the connector needs no endpoint or credential for it.
  const connector = info.create({
    config: parseSettings({ vendors: [{ id, baseUrl: 'http://127.0.0.1/' }] }).vendors[0] as VendorConfig,
    credentials: undefined,
    clock: systemClock,
  });
  return { vendor: id, ...connector.score(report) };
}
