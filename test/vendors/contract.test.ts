import { afterAll } from 'vitest';
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
import { describeConnectorContract } from './contract';

afterAll(() => closeHttpPools());

/** Every failure a vendor can report on submit, where its emulator answers each fault. */
const EVERY_SUBMIT_FAULT = [
  ['bad-key', 'AuthError'],
  ['rate-limited', 'RateLimitedError'],
  ['quota', 'QuotaExceededError'],
  ['server-error', 'TransientError'],
  ['malformed', 'BadResponseError'],
  ['truncated', 'TransientError'],
  ['oversize', 'SampleTooLargeError'],
  ['unsupported', 'UnsupportedFileError'],
] as const;

describeConnectorContract({
  id: 'cuckoo',
  info: cuckooConnectorInfo,
  connector: CuckooConnector,
  capabilities: ['delete', 'queue-size', 'html-report', 'token-auth', 'poll-hint'],
  // Cuckoo accepts any upload: an unsupported file shows only once the analysis starts.
  submitFaults: EVERY_SUBMIT_FAULT.filter(([fault]) => fault !== 'unsupported'),
  statusItemId: '1',
  retryAfterSeconds: 42,
  failedAnalysis: { state: 'failed_analysis', reason: 'The analysis hit a critical error, aborting' },
});

describeConnectorContract({
  id: 'cape',
  info: capeConnectorInfo,
  connector: CapeConnector,
  capabilities: ['delete', 'poll-hint'],
  submitFaults: EVERY_SUBMIT_FAULT,
  statusItemId: '1',
  retryAfterSeconds: 42,
  failedAnalysis: { state: 'failed_analysis' },
});

describeConnectorContract({
  id: 'falcon',
  info: falconConnectorInfo,
  connector: FalconConnector,
  capabilities: ['queue-size', 'pdf-report', 'environments'],
  submitFaults: EVERY_SUBMIT_FAULT,
  statusItemId: '5f1a2b3c4d5e6f7a8b9c0d1e',
  retryAfterSeconds: 60,
  failedAnalysis: {
    state: 'ERROR',
    reason: 'ANALYSIS_ERROR: SANDBOX: The sample could not be executed in the selected environment',
  },
});

describeConnectorContract({
  id: 'fireeye',
  info: fireeyeConnectorInfo,
  connector: FireeyeConnector,
  capabilities: ['token-auth', 'pdf-report', 'xml-report'],
  submitFaults: EVERY_SUBMIT_FAULT,
  statusItemId: '1',
  retryAfterSeconds: 60,
  failedAnalysis: { state: 'Submission failed' },
});

describeConnectorContract({
  id: 'joe',
  info: joeConnectorInfo,
  connector: JoeConnector,
  capabilities: ['delete', 'pdf-report', 'xml-report', 'webid-resolution'],
  submitFaults: EVERY_SUBMIT_FAULT,
  statusItemId: '100001',
  retryAfterSeconds: 30,
  failedAnalysis: { state: 'error', reason: 'Unable to run' },
  options: { acceptTac: true },
});

describeConnectorContract({
  id: 'vmray',
  info: vmrayConnectorInfo,
  connector: VmrayConnector,
  capabilities: ['top-analysis'],
  submitFaults: EVERY_SUBMIT_FAULT,
  statusItemId: '1:2',
  retryAfterSeconds: 17,
  failedAnalysis: { state: 'finished', reason: 'submission finished with errors and no analysis' },
});

describeConnectorContract({
  id: 'wildfire',
  info: wildfireConnectorInfo,
  connector: WildfireConnector,
  capabilities: ['pdf-report', 'xml-report'],
  submitFaults: EVERY_SUBMIT_FAULT,
  statusItemId: 'a'.repeat(64),
  retryAfterSeconds: 30,
  failedAnalysis: { state: 'error', reason: 'WildFire verdict -101 (error)' },
});

describeConnectorContract({
  id: 'triage',
  info: triageConnectorInfo,
  connector: TriageConnector,
  capabilities: ['delete'],
  submitFaults: EVERY_SUBMIT_FAULT,
  statusItemId: '261122-aaaaaaaaaa',
  retryAfterSeconds: 20,
  failedAnalysis: { state: 'failed', reason: 'Triage sample failed (tasks behavioral1, behavioral2)' },
});

describeConnectorContract({
  id: 'opswat',
  info: opswatConnectorInfo,
  connector: OpswatConnector,
  capabilities: ['poll-hint'],
  submitFaults: EVERY_SUBMIT_FAULT,
  statusItemId: '0'.repeat(24),
  retryAfterSeconds: 15,
  failedAnalysis: { state: 'failed' },
});
