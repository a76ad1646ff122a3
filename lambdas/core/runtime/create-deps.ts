import { systemClock, type Clock } from '../contracts/clock';
import { createClients, type AwsClients } from './clients';
import type { RuntimeConfig, VendorConfig } from '../config/runtime-config';
import type { HandlerDeps, Log } from './deps';
import type { VendorId } from '../contracts/pipeline';
import { resolveSecret } from './secrets';
import { VerdictStore } from '../store/verdict-store';
import type { SandboxConnector } from '../connector/connector';
import type { ConnectorContext } from '../connector/context';
import { currentRequestPriority, type RequestGate } from '../connector/request-gates';
import { reservedForReports, SharedRateLimiter } from '../store/rate-limiter';

/** Builds a vendor's connector (the registry's `createConnector`); only vendor functions bundle it. */
export type ConnectorFactory = (context: ConnectorContext) => SandboxConnector;

/**
 * The gate every request to a vendor passes: the vendor's shared per-minute limit, or none when it
 * has no `requestsPerMinute`. Its state lives in the limiter, so every gate over one limiter agrees.
 */
export function vendorRequestGate(
  vendor: VendorConfig,
  limiter: SharedRateLimiter,
  clock: Clock,
): RequestGate | undefined {
  const perMinute = vendor.requestsPerMinute;
  if (!perMinute) return undefined;
  const limit = { name: 'request', limit: perMinute, windowSeconds: 60 };
  const reserved = reservedForReports(limit.limit);
  return async () => {
    // The request should reach the vendor in the window it was admitted in: if time moved on to
    // the next window while the limiter decided, the slot of the old window is spent and one of the
    // new window is taken. (The local virtual clock stands still while a handler runs.)
    for (;;) {
      // Ready reports may take the slots kept back from submissions and polls (no starvation in a burst).
      const window = await limiter.take(vendor.id, limit, currentRequestPriority() === 'report' ? 0 : reserved);
      if (Math.floor(clock.now() / (limit.windowSeconds * 1000)) === window) return undefined;
    }
  };
}

/**
 * Builds handler dependencies from a configuration. A vendor's connector is reused while its
 * credential stays the same: each request for it reads the credential again (Secrets Manager's value
 * is cached for five minutes), so a rotated key reaches a warm Lambda within that time instead of
 * never.
 */
export function createDeps(
  config: RuntimeConfig,
  options: { clients?: AwsClients; clock?: Clock; log: Log; env?: NodeJS.ProcessEnv; connectors?: ConnectorFactory },
): HandlerDeps {
  const clients = options.clients ?? createClients();
  const clock = options.clock ?? systemClock;
  const connectors = new Map<VendorId, { credentials: string | undefined; connector: SandboxConnector }>();
  const limiter = new SharedRateLimiter(clients.ddb, config.tableName, clock);
  return {
    limiter,
    config,
    clients,
    clock,
    log: options.log,
    store: new VerdictStore(clients.ddb, config.tableName),
    async connector(vendor) {
      const vendorConfig = config.vendors.find((v) => v.id === vendor);
      if (!vendorConfig) throw new Error(`vendor '${vendor}' is not configured`);
      const create = options.connectors;
      if (!create) throw new Error('this function was built without vendor connectors');
      const credentials = await resolveSecret(vendorConfig.secret, options.env);
      const cached = connectors.get(vendor);
      if (cached && cached.credentials === credentials) return cached.connector;
      const connector = create({
        config: vendorConfig,
        credentials,
        clock,
        gate: vendorRequestGate(vendorConfig, limiter, clock),
      });
      connectors.set(vendor, { credentials, connector });
      return connector;
    },
  };
}
