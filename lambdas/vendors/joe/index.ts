export { JoeConnector, joeConnectorInfo } from './connector';
