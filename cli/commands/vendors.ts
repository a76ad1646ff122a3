import * as z from 'zod';
import { systemClock } from '../../lambdas/core/contracts/clock';
import { parseSettings, type VendorConfig } from '../../lambdas/core/config/runtime-config';
import { VENDOR_IDS, type VendorId } from '../../lambdas/core/contracts/pipeline';
import { resolveSecret } from '../../lambdas/core/runtime/secrets';
import { closeHttpPools } from '../../lambdas/vendors/http';
import { CONNECTORS } from '../../lambdas/vendors/registry';
import type { SandtrapConfigInput } from '../../lib/config';
import { localConfigFromEnv } from '../config';
import { type CliIo, command } from '../io';
import { escapeTerminal, jsonForTerminal } from '../terminal-escape';

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

/** `sandtrap vendors`: how to print the listing. */
export const VendorsOptionsSchema = z.object({ json: z.boolean().optional() });
export type VendorsOptions = z.input<typeof VendorsOptionsSchema>;

/** `sandtrap vendors`: every vendor id, its status here, name and capabilities (a table, or JSON). */
export const vendors = command(
  (input: VendorsOptions) => VendorsOptionsSchema.parse(input),
  async (options, io: Pick<CliIo, 'stdout' | 'stderr' | 'env'>) => {
    const listing = listVendors(localConfigFromEnv(io.env));
    if (options.json) {
      io.stdout.write(`${jsonForTerminal(listing)}\n`);
      return 0;
    }
    const rows = listing.map((v) =>
      escapeTerminal(
        `${v.id.padEnd(9)} ${(v.configured ? 'configured' : v.available ? '-' : 'no connector').padEnd(12)} ${v.name.padEnd(40)} ${v.capabilities.join(', ')}`,
      ),
    );
    io.stdout.write(`${'ID'.padEnd(9)} ${'STATUS'.padEnd(12)} ${'NAME'.padEnd(40)} CAPABILITIES\n${rows.join('\n')}\n`);
    return 0;
  },
);

/** `sandtrap vendors check [id]`: which vendor to check (all configured ones without it), and how to print. */
export const VendorsCheckOptionsSchema = z.object({ id: z.string().optional(), json: z.boolean().optional() });
export type VendorsCheckOptions = z.input<typeof VendorsCheckOptionsSchema>;

/**
 * `sandtrap vendors check`: runs each configured vendor's availability check (or one vendor's) and
 * prints the outcomes. Exits 1 when no vendor is configured, 2 when a check fails.
 */
export const vendorsCheck = command(
  (input: VendorsCheckOptions) => VendorsCheckOptionsSchema.parse(input),
  async (options, io: Pick<CliIo, 'stdout' | 'stderr' | 'env'>) => {
    const checks = await checkVendors(localConfigFromEnv(io.env), options.id, io.env);
    if (checks.length === 0) throw new Error('no vendor is configured (set SANDTRAP_<VENDOR>_URL)');
    if (options.json) io.stdout.write(`${jsonForTerminal(checks)}\n`);
    else
      io.stdout.write(
        `${checks.map((c) => escapeTerminal(`${c.id.padEnd(9)} ${c.ok ? 'ok  ' : 'FAIL'} ${c.detail} (${c.ms} ms)`)).join('\n')}\n`,
      );
    return checks.some((c) => !c.ok) ? 2 : 0;
  },
);
