export { topRanked } from './verdicts';
export type { VmrayAnalysis } from './wire';
export { VmrayConnector, vmrayConnectorInfo } from './connector';
