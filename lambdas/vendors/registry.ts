import type { VendorId } from '../core/contracts/pipeline';
import { capeConnectorInfo } from './cape';
import type { ConnectorInfo, SandboxConnector } from '../core/connector/connector';
import type { ConnectorContext } from '../core/connector/context';
import { cuckooConnectorInfo } from './cuckoo';
import { falconConnectorInfo } from './falcon';
import { fireeyeConnectorInfo } from './fireeye';
import { joeConnectorInfo } from './joe';
import { opswatConnectorInfo } from './opswat';
import { triageConnectorInfo } from './triage';
import { vmrayConnectorInfo } from './vmray';
import { wildfireConnectorInfo } from './wildfire';

/** Every connector Sandtrap ships, by vendor id (the compiler checks that none is missing). */
export const CONNECTORS: Record<VendorId, ConnectorInfo> = {
  cuckoo: cuckooConnectorInfo,
  cape: capeConnectorInfo,
  falcon: falconConnectorInfo,
  fireeye: fireeyeConnectorInfo,
  joe: joeConnectorInfo,
  vmray: vmrayConnectorInfo,
  wildfire: wildfireConnectorInfo,
  triage: triageConnectorInfo,
  opswat: opswatConnectorInfo,
};

/** Builds the connector for a configured vendor. */
export function createConnector(context: ConnectorContext): SandboxConnector {
  return CONNECTORS[context.config.id].create(context);
}
