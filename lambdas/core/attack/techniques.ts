import { tactic, type Tactic, type TacticShortName } from './tactics';

/**
 * The ATT&CK Enterprise techniques and sub-techniques that behaviour on a Linux host can show, with
 * their names and tactics as ATT&CK Enterprise v18 gives them (attack.mitre.org, October 2025). It
 * holds every id the detonation agent's rules raise plus their Linux neighbours, not the whole
 * matrix: report data may carry ids it does not know, and the lookups below never throw on one.
 *
 * A sub-technique's name is its own (`Cron`); {@link lookupTechnique} prefixes the parent's
 * (`Scheduled Task/Job: Cron`), as ATT&CK's pages do, so each sub-technique needs its parent here.
 * Tactics are listed in kill-chain order. Adding a technique is one line.
 */
const CATALOGUE: Readonly<Record<string, readonly [name: string, tactics: readonly TacticShortName[]]>> = {
  T1003: ['OS Credential Dumping', ['credential-access']],
  'T1003.007': ['Proc Filesystem', ['credential-access']],
  'T1003.008': ['/etc/passwd and /etc/shadow', ['credential-access']],
  T1005: ['Data from Local System', ['collection']],
  T1007: ['System Service Discovery', ['discovery']],
  T1014: ['Rootkit', ['defense-evasion']],
  T1016: ['System Network Configuration Discovery', ['discovery']],
  'T1016.001': ['Internet Connection Discovery', ['discovery']],
  T1018: ['Remote System Discovery', ['discovery']],
  T1021: ['Remote Services', ['lateral-movement']],
  'T1021.004': ['SSH', ['lateral-movement']],
  T1027: ['Obfuscated Files or Information', ['defense-evasion']],
  'T1027.001': ['Binary Padding', ['defense-evasion']],
  'T1027.002': ['Software Packing', ['defense-evasion']],
  'T1027.004': ['Compile After Delivery', ['defense-evasion']],
  'T1027.009': ['Embedded Payloads', ['defense-evasion']],
  'T1027.013': ['Encrypted/Encoded File', ['defense-evasion']],
  T1030: ['Data Transfer Size Limits', ['exfiltration']],
  T1033: ['System Owner/User Discovery', ['discovery']],
  T1036: ['Masquerading', ['defense-evasion']],
  'T1036.003': ['Rename Legitimate Utilities', ['defense-evasion']],
  'T1036.004': ['Masquerade Task or Service', ['defense-evasion']],
  'T1036.005': ['Match Legitimate Resource Name or Location', ['defense-evasion']],
  'T1036.006': ['Space after Filename', ['defense-evasion']],
  'T1036.007': ['Double File Extension', ['defense-evasion']],
  'T1036.008': ['Masquerade File Type', ['defense-evasion']],
  'T1036.009': ['Break Process Trees', ['defense-evasion']],
  T1037: ['Boot or Logon Initialization Scripts', ['persistence', 'privilege-escalation']],
  'T1037.004': ['RC Scripts', ['persistence', 'privilege-escalation']],
  T1040: ['Network Sniffing', ['credential-access', 'discovery']],
  T1041: ['Exfiltration Over C2 Channel', ['exfiltration']],
  T1046: ['Network Service Discovery', ['discovery']],
  T1048: ['Exfiltration Over Alternative Protocol', ['exfiltration']],
  'T1048.002': ['Exfiltration Over Asymmetric Encrypted Non-C2 Protocol', ['exfiltration']],
  'T1048.003': ['Exfiltration Over Unencrypted Non-C2 Protocol', ['exfiltration']],
  T1049: ['System Network Connections Discovery', ['discovery']],
  T1053: ['Scheduled Task/Job', ['execution', 'persistence', 'privilege-escalation']],
  'T1053.002': ['At', ['execution', 'persistence', 'privilege-escalation']],
  'T1053.003': ['Cron', ['execution', 'persistence', 'privilege-escalation']],
  'T1053.006': ['Systemd Timers', ['execution', 'persistence', 'privilege-escalation']],
  T1055: ['Process Injection', ['privilege-escalation', 'defense-evasion']],
  'T1055.008': ['Ptrace System Calls', ['privilege-escalation', 'defense-evasion']],
  'T1055.009': ['Proc Memory', ['privilege-escalation', 'defense-evasion']],
  T1056: ['Input Capture', ['credential-access', 'collection']],
  'T1056.001': ['Keylogging', ['credential-access', 'collection']],
  T1057: ['Process Discovery', ['discovery']],
  T1059: ['Command and Scripting Interpreter', ['execution']],
  'T1059.004': ['Unix Shell', ['execution']],
  'T1059.006': ['Python', ['execution']],
  'T1059.007': ['JavaScript', ['execution']],
  T1068: ['Exploitation for Privilege Escalation', ['privilege-escalation']],
  T1069: ['Permission Groups Discovery', ['discovery']],
  'T1069.001': ['Local Groups', ['discovery']],
  T1070: ['Indicator Removal', ['defense-evasion']],
  'T1070.002': ['Clear Linux or Mac System Logs', ['defense-evasion']],
  'T1070.003': ['Clear Command History', ['defense-evasion']],
  'T1070.004': ['File Deletion', ['defense-evasion']],
  'T1070.006': ['Timestomp', ['defense-evasion']],
  T1071: ['Application Layer Protocol', ['command-and-control']],
  'T1071.001': ['Web Protocols', ['command-and-control']],
  'T1071.004': ['DNS', ['command-and-control']],
  T1074: ['Data Staged', ['collection']],
  'T1074.001': ['Local Data Staging', ['collection']],
  T1078: ['Valid Accounts', ['initial-access', 'persistence', 'privilege-escalation', 'defense-evasion']],
  'T1078.003': ['Local Accounts', ['initial-access', 'persistence', 'privilege-escalation', 'defense-evasion']],
  T1082: ['System Information Discovery', ['discovery']],
  T1083: ['File and Directory Discovery', ['discovery']],
  T1087: ['Account Discovery', ['discovery']],
  'T1087.001': ['Local Account', ['discovery']],
  T1090: ['Proxy', ['command-and-control']],
  'T1090.001': ['Internal Proxy', ['command-and-control']],
  'T1090.002': ['External Proxy', ['command-and-control']],
  'T1090.003': ['Multi-hop Proxy', ['command-and-control']],
  T1095: ['Non-Application Layer Protocol', ['command-and-control']],
  T1098: ['Account Manipulation', ['persistence', 'privilege-escalation']],
  'T1098.004': ['SSH Authorized Keys', ['persistence', 'privilege-escalation']],
  'T1098.007': ['Additional Local or Domain Groups', ['persistence', 'privilege-escalation']],
  T1102: ['Web Service', ['command-and-control']],
  T1105: ['Ingress Tool Transfer', ['command-and-control']],
  T1106: ['Native API', ['execution']],
  T1110: ['Brute Force', ['credential-access']],
  T1113: ['Screen Capture', ['collection']],
  T1115: ['Clipboard Data', ['collection']],
  T1119: ['Automated Collection', ['collection']],
  T1124: ['System Time Discovery', ['discovery']],
  T1129: ['Shared Modules', ['execution']],
  T1132: ['Data Encoding', ['command-and-control']],
  'T1132.001': ['Standard Encoding', ['command-and-control']],
  T1136: ['Create Account', ['persistence']],
  'T1136.001': ['Local Account', ['persistence']],
  T1140: ['Deobfuscate/Decode Files or Information', ['defense-evasion']],
  T1190: ['Exploit Public-Facing Application', ['initial-access']],
  T1201: ['Password Policy Discovery', ['discovery']],
  T1202: ['Indirect Command Execution', ['defense-evasion']],
  T1204: ['User Execution', ['execution']],
  'T1204.002': ['Malicious File', ['execution']],
  T1222: ['File and Directory Permissions Modification', ['defense-evasion']],
  'T1222.002': ['Linux and Mac File and Directory Permissions Modification', ['defense-evasion']],
  T1480: ['Execution Guardrails', ['defense-evasion']],
  T1485: ['Data Destruction', ['impact']],
  T1486: ['Data Encrypted for Impact', ['impact']],
  T1489: ['Service Stop', ['impact']],
  T1490: ['Inhibit System Recovery', ['impact']],
  T1496: ['Resource Hijacking', ['impact']],
  'T1496.001': ['Compute Hijacking', ['impact']],
  T1497: ['Virtualization/Sandbox Evasion', ['defense-evasion', 'discovery']],
  'T1497.001': ['System Checks', ['defense-evasion', 'discovery']],
  T1499: ['Endpoint Denial of Service', ['impact']],
  'T1499.001': ['OS Exhaustion Flood', ['impact']],
  T1505: ['Server Software Component', ['persistence']],
  'T1505.003': ['Web Shell', ['persistence']],
  T1518: ['Software Discovery', ['discovery']],
  'T1518.001': ['Security Software Discovery', ['discovery']],
  T1529: ['System Shutdown/Reboot', ['impact']],
  T1531: ['Account Access Removal', ['impact']],
  T1543: ['Create or Modify System Process', ['persistence', 'privilege-escalation']],
  'T1543.002': ['Systemd Service', ['persistence', 'privilege-escalation']],
  T1546: ['Event Triggered Execution', ['persistence', 'privilege-escalation']],
  'T1546.004': ['Unix Shell Configuration Modification', ['persistence', 'privilege-escalation']],
  'T1546.005': ['Trap', ['persistence', 'privilege-escalation']],
  'T1546.017': ['Udev Rules', ['persistence', 'privilege-escalation']],
  T1547: ['Boot or Logon Autostart Execution', ['persistence', 'privilege-escalation']],
  'T1547.006': ['Kernel Modules and Extensions', ['persistence', 'privilege-escalation']],
  'T1547.013': ['XDG Autostart Entries', ['persistence', 'privilege-escalation']],
  T1548: ['Abuse Elevation Control Mechanism', ['privilege-escalation', 'defense-evasion']],
  'T1548.001': ['Setuid and Setgid', ['privilege-escalation', 'defense-evasion']],
  'T1548.003': ['Sudo and Sudo Caching', ['privilege-escalation', 'defense-evasion']],
  T1539: ['Steal Web Session Cookie', ['credential-access']],
  T1552: ['Unsecured Credentials', ['credential-access']],
  'T1552.001': ['Credentials In Files', ['credential-access']],
  'T1552.003': ['Bash History', ['credential-access']],
  'T1552.004': ['Private Keys', ['credential-access']],
  'T1552.005': ['Cloud Instance Metadata API', ['credential-access']],
  'T1552.007': ['Container API', ['credential-access']],
  T1553: ['Subvert Trust Controls', ['defense-evasion']],
  'T1553.004': ['Install Root Certificate', ['defense-evasion']],
  T1554: ['Compromise Host Software Binary', ['persistence']],
  T1555: ['Credentials from Password Stores', ['credential-access']],
  'T1555.003': ['Credentials from Web Browsers', ['credential-access']],
  T1556: ['Modify Authentication Process', ['persistence', 'defense-evasion', 'credential-access']],
  'T1556.003': ['Pluggable Authentication Modules', ['persistence', 'defense-evasion', 'credential-access']],
  T1560: ['Archive Collected Data', ['collection']],
  'T1560.001': ['Archive via Utility', ['collection']],
  T1561: ['Disk Wipe', ['impact']],
  'T1561.001': ['Disk Content Wipe', ['impact']],
  'T1561.002': ['Disk Structure Wipe', ['impact']],
  T1562: ['Impair Defenses', ['defense-evasion']],
  'T1562.001': ['Disable or Modify Tools', ['defense-evasion']],
  'T1562.003': ['Impair Command History Logging', ['defense-evasion']],
  'T1562.004': ['Disable or Modify System Firewall', ['defense-evasion']],
  'T1562.006': ['Indicator Blocking', ['defense-evasion']],
  'T1562.012': ['Disable or Modify Linux Audit System', ['defense-evasion']],
  T1564: ['Hide Artifacts', ['defense-evasion']],
  'T1564.001': ['Hidden Files and Directories', ['defense-evasion']],
  T1565: ['Data Manipulation', ['impact']],
  'T1565.001': ['Stored Data Manipulation', ['impact']],
  T1567: ['Exfiltration Over Web Service', ['exfiltration']],
  'T1567.002': ['Exfiltration to Cloud Storage', ['exfiltration']],
  'T1567.004': ['Exfiltration Over Webhook', ['exfiltration']],
  T1568: ['Dynamic Resolution', ['command-and-control']],
  'T1568.002': ['Domain Generation Algorithms', ['command-and-control']],
  T1570: ['Lateral Tool Transfer', ['lateral-movement']],
  T1571: ['Non-Standard Port', ['command-and-control']],
  T1572: ['Protocol Tunneling', ['command-and-control']],
  T1573: ['Encrypted Channel', ['command-and-control']],
  'T1573.001': ['Symmetric Cryptography', ['command-and-control']],
  'T1573.002': ['Asymmetric Cryptography', ['command-and-control']],
  T1574: ['Hijack Execution Flow', ['persistence', 'privilege-escalation', 'defense-evasion']],
  'T1574.006': ['Dynamic Linker Hijacking', ['persistence', 'privilege-escalation', 'defense-evasion']],
  T1609: ['Container Administration Command', ['execution']],
  T1610: ['Deploy Container', ['execution', 'defense-evasion']],
  T1611: ['Escape to Host', ['privilege-escalation']],
  T1613: ['Container and Resource Discovery', ['discovery']],
  T1614: ['System Location Discovery', ['discovery']],
  'T1614.001': ['System Language Discovery', ['discovery']],
  T1620: ['Reflective Code Loading', ['defense-evasion']],
  T1622: ['Debugger Evasion', ['defense-evasion', 'discovery']],
};

/** The shape of a technique (`T1053`) or sub-technique (`T1053.003`) id. */
const TECHNIQUE_ID = /^T(\d{4})(?:\.(\d{3}))?$/;

/** True when `id` has the shape of a technique or sub-technique id. */
export function isTechniqueId(id: string): boolean {
  return TECHNIQUE_ID.test(id);
}

/** Every id the catalogue holds, techniques and sub-techniques, in id order. */
export const CATALOGUED_TECHNIQUE_IDS: readonly string[] = Object.keys(CATALOGUE).sort();

/** What the report knows of a technique id. */
export interface TechniqueInfo {
  id: string;
  /** `Scheduled Task/Job: Cron`; `null` when the catalogue holds neither the id nor its parent. */
  name: string | null;
  /** Its tactics in kill-chain order; empty when they are unknown (the id reads as unmapped). */
  tactics: readonly Tactic[];
  /**
   * `catalogue` when the id is listed; `parent` when only its parent technique is (name and
   * tactics are the parent's: ATT&CK sub-techniques share their parent's tactics); `unknown`
   * when neither is, or the id is not shaped like one.
   */
  source: 'catalogue' | 'parent' | 'unknown';
}

function tacticsOf(shortNames: readonly TacticShortName[]): Tactic[] {
  return shortNames.map(tactic).sort((a, b) => a.order - b.order);
}

/**
 * The name and tactics of a technique id. Never throws: the ids come from report data, which may
 * name a technique the catalogue does not hold (a sub-technique falls back to its parent) or, from
 * an old or foreign document, a malformed id.
 */
export function lookupTechnique(id: string): TechniqueInfo {
  const match = TECHNIQUE_ID.exec(id);
  if (!match) return { id, name: null, tactics: [], source: 'unknown' };
  const parentId = `T${match[1]}`;
  const parent = Object.hasOwn(CATALOGUE, parentId) ? CATALOGUE[parentId] : undefined;
  const entry = Object.hasOwn(CATALOGUE, id) ? CATALOGUE[id] : undefined;
  if (entry) {
    const name = match[2] && parent ? `${parent[0]}: ${entry[0]}` : entry[0];
    return { id, name, tactics: tacticsOf(entry[1]), source: 'catalogue' };
  }
  if (parent) return { id, name: parent[0], tactics: tacticsOf(parent[1]), source: 'parent' };
  return { id, name: null, tactics: [], source: 'unknown' };
}

/**
 * The ATT&CK page of a technique id, `https://attack.mitre.org/techniques/T1053/003/`, or `null`
 * for an id not shaped like one. Any well-formed id gets its URL, listed here or not: ATT&CK has a
 * page for every technique, and the shape admits nothing but digits into the URL.
 */
export function techniqueUrl(id: string): string | null {
  const match = TECHNIQUE_ID.exec(id);
  if (!match) return null;
  return `https://attack.mitre.org/techniques/T${match[1]}/${match[2] ? `${match[2]}/` : ''}`;
}
