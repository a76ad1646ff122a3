import type { Clock } from '../core/clock';
import type { VendorConfig } from '../core/config';
import type { VendorId } from '../core/schemas';
import { CapeConnector } from './cape';
import type { ConnectorInfo, SandboxConnector } from './connector';

/** Every connector Sandtrap ships, by vendor id. */
export const CONNECTORS: Partial<Record<VendorId, ConnectorInfo>> = {
  cape: {
    id: 'cape',
    name: 'CAPEv2 (REST API v2)',
    capabilities: ['delete', 'poll-hint'],
    create: (config, key, clock) => new CapeConnector(config, key, clock),
  },
};

/** Builds the connector for a configured vendor; a clear error for one Sandtrap does not ship yet. */
export function createConnector(config: VendorConfig, apiKey: string | undefined, clock: Clock): SandboxConnector {
  const info = CONNECTORS[config.id];
  if (!info) throw new Error(`no connector for vendor '${config.id}' (available: ${Object.keys(CONNECTORS).join(', ')})`);
  return info.create(config, apiKey, clock);
}
