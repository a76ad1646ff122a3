import { systemClock, type Clock } from './clock';
import { createClients, type AwsClients } from './clients';
import type { RuntimeConfig } from './config';
import type { HandlerDeps, Log } from './deps';
import type { VendorId } from './schemas';
import { resolveSecret } from './secrets';
import { VerdictStore } from './store';
import type { SandboxConnector } from '../vendors/connector';
import { createConnector } from '../vendors/registry';
import { setRequestGate } from '../vendors/http';
import { SharedRateLimiter } from './rate-limiter';

/** Builds handler dependencies from a configuration; connectors are created once and reused. */
export function createDeps(
  config: RuntimeConfig,
  options: { clients?: AwsClients; clock?: Clock; log: Log; env?: NodeJS.ProcessEnv },
): HandlerDeps {
  const clients = options.clients ?? createClients();
  const clock = options.clock ?? systemClock;
  const connectors = new Map<VendorId, Promise<SandboxConnector>>();
  const limiter = new SharedRateLimiter(clients.ddb, config.tableName, clock);
  for (const vendor of config.vendors) {
    const perMinute = vendor.requestsPerMinute;
    setRequestGate(vendor.id, vendor.baseUrl, perMinute ? () => limiter.take(vendor.id, { name: 'request', limit: perMinute, windowSeconds: 60 }) : undefined);
  }
  return {
    limiter,
    config,
    clients,
    clock,
    log: options.log,
    store: new VerdictStore(clients.ddb, config.tableName),
    connector(vendor) {
      let connector = connectors.get(vendor);
      if (!connector) {
        const vendorConfig = config.vendors.find((v) => v.id === vendor);
        if (!vendorConfig) return Promise.reject(new Error(`vendor '${vendor}' is not configured`));
        connector = resolveSecret(vendorConfig.secret, options.env).then((key) => createConnector(vendorConfig, key, clock));
        connector.catch(() => connectors.delete(vendor));
        connectors.set(vendor, connector);
      }
      return connector;
    },
  };
}
