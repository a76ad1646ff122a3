import type { VendorId } from '../lambdas/core/contracts/pipeline';

/**
 * What each emulator's malicious report concludes, as the pipeline should carry it through: the
 * family, two signature names (as the connector reads them), ATT&CK ids and contacted hosts. Each
 * emulator writes these into its report in that vendor's own shape; the pipeline tests compare the
 * verdict document and the event against this table.
 *
 * - WildFire names no family and lists no ATT&CK ids (its XML report has neither).
 * - FireEye / Trellix classic results carry no ATT&CK ids.
 * - Triage: the connector stores the sample summary, which lists per-task tags (`family:…`) and, as
 *   Triage's `TaskSummary` documents, `ttp`; it carries no signatures.
 */
export interface EmulatedFindings {
  family?: string;
  signatures: readonly string[];
  attack: readonly string[];
  hosts: readonly string[];
}

export const EMULATED_FINDINGS: Record<VendorId, EmulatedFindings> = {
  cape: {
    family: 'AgentTesla',
    signatures: ['infostealer_mail', 'persistence_autorun'],
    attack: ['T1114', 'T1547.001'],
    hosts: ['mail.example-c2.test', '198.51.100.7'],
  },
  cuckoo: {
    family: 'Emotet',
    signatures: ['emotet_behavior', 'persistence_autorun'],
    attack: ['T1060', 'T1055'],
    hosts: ['emotet-c2.example.test', '198.51.100.8'],
  },
  falcon: {
    family: 'Formbook',
    signatures: ['Reads the cached credentials of web browsers', 'Injects code into a remote process'],
    attack: ['T1555.003', 'T1055'],
    hosts: ['formbook-c2.example.test', '198.51.100.9'],
  },
  joe: {
    family: 'Remcos',
    signatures: ['Yara detected Remcos RAT', 'Creates an autostart registry key'],
    attack: ['T1547.001', 'T1056.001'],
    hosts: ['remcos-c2.example.test', '198.51.100.10'],
  },
  fireeye: {
    family: 'Trojan.Emotet',
    signatures: ['MALWARE_OBJECT', 'MALWARE_CALLBACK'],
    attack: [],
    hosts: ['198.51.100.11'],
  },
  opswat: {
    family: 'emotet',
    signatures: ['The executable is using a known installer framework', 'Found API reference to process injection'],
    attack: ['T1027.002', 'T1055'],
    hosts: ['opswat-c2.example.test'],
  },
  triage: {
    family: 'nemty',
    signatures: [],
    attack: ['T1490', 'T1053'],
    hosts: [],
  },
  vmray: {
    family: 'AsyncRAT',
    signatures: ['Installs system startup script or application', 'Injects into another process'],
    attack: ['T1547.001', 'T1055'],
    hosts: ['asyncrat-c2.example.test', '198.51.100.12'],
  },
  wildfire: {
    signatures: ['Created or modified a file in the Windows system folder', 'Connected to a non-standard HTTP port'],
    attack: [],
    hosts: ['wildfire-c2.example.test', '198.51.100.13'],
  },
};
