import type { Clock } from '../contracts/clock';
import type { VendorConfig } from '../config/runtime-config';
import type { RequestGate } from './request-gates';

/**
 * Everything a connector is built from. The runtime that knows the vendor's rate limit hands the
 * gate in, so that two pipelines in one process (tests, the CLI) never share a limit by accident.
 */
export interface ConnectorContext {
  /** The vendor's entry of the pipeline configuration. */
  config: VendorConfig;
  /** The resolved secret; its format (key, token, `username:password`) is the connector's to document. */
  credentials: string | undefined;
  /** Time as the pipeline sees it (a virtual clock in tests). */
  clock: Clock;
  /** Called before every request to the vendor (the shared rate limit); none: requests go straight out. */
  gate?: RequestGate;
}
