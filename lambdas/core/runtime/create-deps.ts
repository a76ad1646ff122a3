import { systemClock, type Clock } from '../contracts/clock';
import { createClients, type AwsClients } from './clients';
import type { RuntimeConfig, VendorConfig } from '../config/runtime-config';
import type { HandlerDeps, Log } from './deps';
import type { VendorId } from '../contracts/pipeline';
import { resolveSecret } from './secrets';
import { VerdictStore } from '../store/verdict-store';
import type { SandboxConnector } from '../connector/connector';
import type { ConnectorContext } from '../connector/context';
import { type RequestGate, spendAdmittedRequest } from '../connector/request-gates';
import { RateLimitedError } from '../connector/errors';
import { SlotReservations } from '../store/slot-reservations';
import { TaskSlots } from '../store/task-slots';
import { requestLanes } from '../store/request-lanes';
import { VendorTimings } from '../store/vendor-timings';
import { eventBridgePublisher, type EventPublisher } from './events';
import { ENV } from '../config/runtime-config';

/** Builds a vendor's connector (the registry's `createConnector`); only vendor functions bundle it. */
export type ConnectorFactory = (context: ConnectorContext) => SandboxConnector;

/**
 * The gate every request to a vendor passes when the vendor has `requestsPerMinute`. A step that
 * reserved its requests' slots and waited for them spends those; any other request (an availability
 * check, a login the connector had to repeat) takes a unit of the current window of the follow-up
 * lane or is refused with the seconds to the next window.
 */
export function vendorRequestGate(
  vendor: VendorConfig,
  slots: SlotReservations,
  clock: Clock,
): RequestGate | undefined {
  const perMinute = vendor.requestsPerMinute;
  if (!perMinute) return undefined;
  const lane = requestLanes(perMinute)['follow-up'];
  return async () => {
    if (spendAdmittedRequest()) return undefined;
    const now = clock.now();
    if (await slots.reserve(vendor.id, lane, { notAfter: now })) return undefined;
    const windowMs = lane.windowSeconds * 1000;
    const nextWindow = (Math.floor(now / windowMs) + 1) * windowMs;
    throw new RateLimitedError(
      vendor.id,
      `our shared limit of ${perMinute} requests per minute is reached`,
      Math.max(1, Math.ceil((nextWindow - now) / 1000)),
    );
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
  options: {
    clients?: AwsClients;
    clock?: Clock;
    log: Log;
    env?: NodeJS.ProcessEnv;
    connectors?: ConnectorFactory;
    /** Where handlers publish; by default the bus the environment names, on its endpoint. */
    events?: EventPublisher;
  },
): HandlerDeps {
  const clients = options.clients ?? createClients();
  const clock = options.clock ?? systemClock;
  const connectors = new Map<VendorId, { credentials: string | undefined; connector: SandboxConnector }>();
  const slots = new SlotReservations(clients.ddb, config.tableName, clock, { shards: config.rateLimitShards });
  const env = options.env ?? process.env;
  const events =
    options.events ??
    eventBridgePublisher(env[ENV.eventBus], {
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
      endpoint: env.AWS_ENDPOINT_URL_EVENTBRIDGE ?? env.AWS_ENDPOINT_URL,
    });
  return {
    slots,
    events,
    vendorTimings: new VendorTimings(clients.ddb, config.tableName),
    taskSlots: new TaskSlots(clients.ddb, config.tableName, clock),
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
        gate: vendorRequestGate(vendorConfig, slots, clock),
      });
      connectors.set(vendor, { credentials, connector });
      return connector;
    },
  };
}
