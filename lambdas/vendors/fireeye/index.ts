export { FireeyeConnector, fireeyeConnectorInfo } from './connector';
