import { afterAll } from 'vitest';
import type { VendorId } from '../../lambdas/core/contracts/pipeline';
import { CapeConnector, capeConnectorInfo } from '../../lambdas/vendors/cape';
import { CuckooConnector, cuckooConnectorInfo } from '../../lambdas/vendors/cuckoo';
import { FalconConnector, falconConnectorInfo } from '../../lambdas/vendors/falcon';
import { FireeyeConnector, fireeyeConnectorInfo } from '../../lambdas/vendors/fireeye';
import { closeHttpPools } from '../../lambdas/vendors/http';
import { JoeConnector, joeConnectorInfo } from '../../lambdas/vendors/joe';
import { OpswatConnector, opswatConnectorInfo } from '../../lambdas/vendors/opswat';
import { TriageConnector, triageConnectorInfo } from '../../lambdas/vendors/triage';
import { VmrayConnector, vmrayConnectorInfo } from '../../lambdas/vendors/vmray';
import { WildfireConnector, wildfireConnectorInfo } from '../../lambdas/vendors/wildfire';
import { type ConnectorContractSpec, describeConnectorContract, EVERY_SUBMIT_FAULT } from './contract';

afterAll(() => closeHttpPools());

/** The reason of a failed Falcon analysis, its error type, origin and message joined. */
const FALCON_ERROR = 'ANALYSIS_ERROR: SANDBOX: The sample could not be executed in the selected environment';

/** Cuckoo and Triage take their token in a Bearer authorization header. */
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** What each connector is, and what its emulator answers where vendors differ. */
const CONNECTORS: { [Id in VendorId]: Omit<ConnectorContractSpec, 'id'> } = {
  cuckoo: {
    info: cuckooConnectorInfo,
    connector: CuckooConnector,
    capabilities: ['delete', 'queue-size', 'html-report', 'token-auth', 'poll-hint'],
    // Cuckoo accepts any upload: an unsupported file shows only once the analysis starts.
    submitFaults: EVERY_SUBMIT_FAULT.filter(([fault]) => fault !== 'unsupported'),
    statusItemId: '1',
    retryAfterSeconds: 42,
    failedAnalysis: { state: 'failed_analysis', reason: 'The analysis hit a critical error, aborting' },
    auth: { headers: bearer },
  },
  cape: {
    info: capeConnectorInfo,
    connector: CapeConnector,
    capabilities: ['delete', 'poll-hint'],
    statusItemId: '1',
    retryAfterSeconds: 42,
    failedAnalysis: { state: 'failed_analysis' },
  },
  falcon: {
    info: falconConnectorInfo,
    connector: FalconConnector,
    capabilities: ['queue-size', 'pdf-report', 'environments'],
    statusItemId: '5f1a2b3c4d5e6f7a8b9c0d1e',
    retryAfterSeconds: 60,
    failedAnalysis: { state: 'ERROR', reason: FALCON_ERROR },
    auth: { keyRequired: true },
  },
  fireeye: {
    info: fireeyeConnectorInfo,
    connector: FireeyeConnector,
    capabilities: ['token-auth', 'pdf-report', 'xml-report'],
    statusItemId: '1',
    retryAfterSeconds: 60,
    failedAnalysis: { state: 'Submission failed' },
    auth: { wrong: 'api-analyst:wrong', keyRequired: true },
  },
  joe: {
    info: joeConnectorInfo,
    connector: JoeConnector,
    capabilities: ['delete', 'pdf-report', 'xml-report', 'webid-resolution'],
    statusItemId: '100001',
    retryAfterSeconds: 30,
    failedAnalysis: { state: 'error', reason: 'Unable to run' },
    options: { acceptTac: true },
    auth: { refusal: 'error 4', keyRequired: true },
  },
  vmray: {
    info: vmrayConnectorInfo,
    connector: VmrayConnector,
    capabilities: ['top-analysis'],
    statusItemId: '1:2',
    retryAfterSeconds: 17,
    failedAnalysis: { state: 'finished', reason: 'submission finished with errors and no analysis' },
    auth: { refusal: 'HTTP 401', keyRequired: true },
  },
  wildfire: {
    info: wildfireConnectorInfo,
    connector: WildfireConnector,
    capabilities: ['pdf-report', 'xml-report'],
    statusItemId: 'a'.repeat(64),
    // Not asked: WildFire has no rate-limited answer (ABSENT_FAULTS).
    retryAfterSeconds: 30,
    failedAnalysis: { state: 'error', reason: 'WildFire verdict -101 (error)' },
    auth: { keyRequired: true },
  },
  triage: {
    info: triageConnectorInfo,
    connector: TriageConnector,
    capabilities: ['delete'],
    statusItemId: '261122-aaaaaaaaaa',
    retryAfterSeconds: 20,
    failedAnalysis: { state: 'failed', reason: 'Triage sample failed (tasks behavioral1, behavioral2)' },
    auth: { headers: bearer },
  },
  opswat: {
    info: opswatConnectorInfo,
    connector: OpswatConnector,
    capabilities: ['poll-hint'],
    statusItemId: '0'.repeat(24),
    retryAfterSeconds: 15,
    failedAnalysis: { state: 'failed' },
    auth: { headers: (key) => ({ 'x-api-key': key }) },
  },
};

for (const [id, spec] of Object.entries(CONNECTORS)) describeConnectorContract({ id: id as VendorId, ...spec });
