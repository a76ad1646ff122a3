import type { VendorId } from '../lambdas/core/contracts/pipeline';

/**
 * What each emulator's malicious report concludes, as the pipeline should carry it through: the
 * family, signature names (as the connector reads them), ATT&CK ids and contacted hosts. Each
 * emulator writes these into its report in that vendor's own shape; the pipeline tests compare the
 * verdict document and the event against this table.
 *
 * Where a report captured from the real product exists (test/fixtures/vendors and
 * test/fixtures/sandboxapi, origins in their READMEs), the emulator's malicious report has its shape
 * and the names below are that report's own:
 *
 * - VMRay: all of it, from the real summary_v2.json (EICAR; its threat names, VTI matches, keyed
 *   techniques and IOC hosts).
 * - WildFire: the two behaviours of the real report XML. WildFire names no family anywhere in its
 *   report (`malware` yes/no only) and lists no ATT&CK ids; the `network` hosts follow its docs.
 * - FireEye / Trellix: the family (the malware name of a real alert) and `MALWARE_OBJECT`;
 *   `MALWARE_CALLBACK` and its `cncServices` host follow Trellix's docs. No ATT&CK ids.
 * - Falcon: the family (`vx_family` of a real summary). That summary is of a static-only analysis and
 *   lists no signatures or ATT&CK ids, so those follow VxAPI's docs.
 * - CAPE: the two signatures of a real CAPE 2.4 report. That sample named no family, so the family,
 *   `ttps` and network hosts follow CAPEv2's code.
 * - OPSWAT: the family, two signal groups with their ATT&CK ids, and the IOC domain of the real
 *   malicious MetaDefender report.
 * - Triage: the family, signatures, ATT&CK ids and domains of the real nemty report_triage.json. The
 *   connector stores the sample's v1 `overview.json`, which the emulator writes in the shape of
 *   `types.OverviewReport` of Triage's own clients (no captured overview was found).
 * - Cuckoo: two signatures (`disables_security`, `persistence_autorun`, with their keyed `ttp`) of a
 *   real Cuckoo 2 report. Its signatures named no family, so the family signature (`emotet_behavior`,
 *   `families: ["Emotet"]`) and the network hosts follow Cuckoo's code.
 * - Joe: no captured report naming a family or signatures was found; its names follow Joe's docs.
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
    signatures: ['persistence_autorun', 'uses_windows_utilities'],
    attack: ['T1547.001', 'T1059'],
    hosts: ['mail.example-c2.test', '198.51.100.7'],
  },
  cuckoo: {
    family: 'Emotet',
    signatures: ['disables_security', 'persistence_autorun', 'emotet_behavior'],
    attack: ['T1089', 'T1060'],
    hosts: ['emotet-c2.example.test', '198.51.100.8'],
  },
  falcon: {
    family: 'Memery.A virus',
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
    family: 'Phish.LIVE.DTI.URL',
    signatures: ['MALWARE_OBJECT', 'MALWARE_CALLBACK'],
    attack: [],
    hosts: ['198.51.100.11'],
  },
  opswat: {
    family: 'emotet',
    signatures: ['The executable is using a known installer framework', 'PE takes commandline arguments'],
    attack: ['T1027.002', 'T1059'],
    hosts: ['FedRetireSoftware.com'],
  },
  triage: {
    family: 'nemty',
    signatures: ['Nemty', 'Deletes shadow copies'],
    attack: ['T1490', 'T1053'],
    hosts: ['www.myexternalip.com', 'api.db-ip.com'],
  },
  vmray: {
    family: 'EICAR',
    signatures: ['Malicious content matched by YARA rules', 'Known malicious file'],
    attack: ['T1016', 'T1112'],
    hosts: ['api.ipify.org', '141.8.192.102'],
  },
  wildfire: {
    signatures: [
      'PDF document contains an canonicalized object key of Action',
      'File contains one or more URL/domain name/IP address',
    ],
    attack: [],
    hosts: ['wildfire-c2.example.test', '198.51.100.13'],
  },
};
