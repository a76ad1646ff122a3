import type { Clock } from '../contracts/clock';
import type { RuntimeConfig } from '../config/runtime-config';
import type { AwsClients } from './clients';
import type { VendorId } from '../contracts/pipeline';
import type { VerdictStore } from '../store/verdict-store';
import type { SlotReservations } from '../store/slot-reservations';
import type { TaskSlots } from '../store/task-slots';
import type { SandboxConnector } from '../connector/connector';
import type { EventPublisher } from './events';
import type { VendorTimings } from '../store/vendor-timings';

/** The logging surface handlers use (Powertools Logger in Lambda, a quiet logger locally). */
export interface Log {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** Everything a handler needs, injected so that Lambdas, the local runtime and tests share one code path. */
export interface HandlerDeps {
  config: RuntimeConfig;
  clients: AwsClients;
  store: VerdictStore;
  clock: Clock;
  log: Log;
  /** Slots of the vendors' shared rates (requests, submissions), reserved ahead by every execution. */
  slots: SlotReservations;
  /** Turns of the detonation task slots (concurrent Fargate tasks), reserved ahead by every execution. */
  taskSlots: TaskSlots;
  /** How long each vendor's analyses take, learnt: where the first status request is aimed. */
  vendorTimings: VendorTimings;
  /** Sandtrap's bus, for the events a handler fans out (the verdicts served to joined uploads). */
  events: EventPublisher;
  /** The connector of a configured vendor, credentials resolved. */
  connector(vendor: VendorId): Promise<SandboxConnector>;
}
