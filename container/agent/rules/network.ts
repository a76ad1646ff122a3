import { isLoopback, plainAddress, rule, type Rule } from './rule';
import type { Observation } from '../observations';

/** Ports that say nothing by themselves. */
const COMMON_PORTS = new Set([20, 21, 22, 25, 53, 80, 110, 123, 143, 443, 465, 587, 853, 993, 995, 8080, 8443]);
/** Stratum ports belong to the cryptomining rules. */
export const STRATUM_PORTS = new Set([
  3333, 3334, 3335, 4444, 5555, 6666, 7777, 8888, 9999, 14433, 14444, 45560, 45700,
]);

/** An IP connection that reached (or tried to reach) somewhere other than the fake resolver. */
function ipConnection(o: Observation): o is Extract<Observation, { type: 'connect' }> {
  return o.type === 'connect' && (o.protocol === 'tcp' || o.protocol === 'udp') && o.port !== 53;
}

/** Network behaviour: command and control over HTTP/TLS/DNS, uploads, raw-IP contacts, scans, odd ports. */
export const networkRules: Rule[] = [
  rule({
    key: 'network',
    id: 'network.http',
    title: 'Talks HTTP to remote hosts',
    severity: 'medium',
    attack: ['T1071.001'],
    match: (o) => o.type === 'http',
  }),
  rule({
    key: 'network',
    id: 'network.upload',
    title: 'Sends data out (HTTP request body)',
    severity: 'high',
    attack: ['T1041'],
    match: (o) => o.type === 'http' && o.bodyBytes > 0,
  }),
  rule({
    key: 'network',
    id: 'network.tls',
    title: 'Opens TLS connections to remote hosts',
    severity: 'medium',
    attack: ['T1573.002'],
    match: (o) => o.type === 'tls',
  }),
  rule({
    key: 'network',
    id: 'network.raw-ip',
    title: 'Connects to hard-coded IP addresses',
    severity: 'medium',
    attack: ['T1095'],
    match: (o) => ipConnection(o) && !isLoopback(o.address) && !/^169\.254\./.test(plainAddress(o.address)),
  }),
  rule({
    key: 'network',
    id: 'network.scan',
    title: 'Scans many hosts or ports',
    severity: 'high',
    attack: ['T1046'],
    match: (o) => ipConnection(o),
    minimum: 20,
    distinct: (o) => (o.type === 'connect' ? `${o.address}:${o.port}` : ''),
  }),
  rule({
    key: 'network',
    id: 'network.dns-tunnel',
    title: 'Uses DNS as a data channel (TXT queries, long or many subdomains)',
    severity: 'high',
    attack: ['T1071.004', 'T1048.003'],
    match: (o) => o.type === 'dns' && (o.qtype === 'TXT' || o.name.split('.').some((label) => label.length >= 40)),
  }),
  rule({
    key: 'network',
    id: 'network.unusual-port',
    title: 'Connects to an unusual TCP port',
    severity: 'low',
    attack: ['T1571'],
    match: (o) =>
      o.type === 'connect' &&
      o.protocol === 'tcp' &&
      o.port !== null &&
      !COMMON_PORTS.has(o.port) &&
      !STRATUM_PORTS.has(o.port) &&
      !isLoopback(o.address),
  }),
];
