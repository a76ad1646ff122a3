import { execName, rule, type Rule } from './rule';
import { STRATUM_PORTS } from './network';

const POOL_NAME =
  /(^|[.-])(pool|pools|xmr|monero|mining|miner|nicehash|minergate|2miners|f2pool|nanopool|hashvault|supportxmr|moneroocean|ethermine|herominers|stratum|c3pool|unmineable)([.-]|\d|$)/;
/** Pool-like names that are not mining pools. */
const NOT_POOLS = /(^|\.)(ntp\.org|pool\.ntp\.org)$/;
const poolName = (name: string) => POOL_NAME.test(name) && !NOT_POOLS.test(name);
const STRATUM =
  /mining\.(subscribe|authorize|submit|notify)|"method"\s*:\s*"(login|submit|getjob)"|stratum\+(tcp|ssl|tls):\/\//i;
const MINERS =
  /^(xmrig|xmr-stak|xmr-stak-rx|minerd|cpuminer|cpuminer-multi|ccminer|t-rex|nbminer|lolminer|phoenixminer|ethminer|cgminer|bfgminer|srbminer|teamredminer)/i;

/** A run counts as burning CPU when one core's worth was busy this share of at least this long. */
const BUSY_SHARE = 0.8;
const SUSTAINED_SECONDS = 5;

/** Cryptomining: pool names, stratum ports and protocol, miner programs, CPU burnt to the limit or sustained over the run. */
export const cryptominingRules: Rule[] = [
  rule({
    key: 'cryptomining',
    id: 'cryptomining.pool-name',
    title: 'Resolves or contacts a mining pool',
    severity: 'high',
    attack: ['T1496.001'],
    match: (o) =>
      (o.type === 'dns' && poolName(o.name)) ||
      (o.type === 'tls' && poolName(o.serverName)) ||
      (o.type === 'http' && poolName(o.host)) ||
      (o.type === 'connect' && o.hostname !== null && poolName(o.hostname)),
  }),
  rule({
    key: 'cryptomining',
    id: 'cryptomining.stratum-port',
    title: 'Connects to a stratum port',
    // 3333, 4444, 5555... are pools' ports and also reverse shells' and dev servers': the port alone
    // is context; a pool name, the stratum protocol or a miner program is the technique.
    severity: 'low',
    attack: ['T1496.001'],
    match: (o) => o.type === 'connect' && o.protocol === 'tcp' && o.port !== null && STRATUM_PORTS.has(o.port),
  }),
  rule({
    key: 'cryptomining',
    id: 'cryptomining.stratum-protocol',
    title: 'Speaks the stratum mining protocol',
    severity: 'critical',
    attack: ['T1496.001'],
    match: (o) =>
      (o.type === 'payload' && STRATUM.test(o.preview)) ||
      (o.type === 'http' && STRATUM.test(o.bodyPreview)) ||
      (o.type === 'exec' && o.argv.some((a) => STRATUM.test(a))),
  }),
  rule({
    key: 'cryptomining',
    id: 'cryptomining.miner-program',
    title: 'Runs a known miner',
    severity: 'critical',
    attack: ['T1496.001'],
    match: (o) =>
      MINERS.test(execName(o) ?? '') ||
      (o.type === 'exec' && o.argv.some((a) => a.startsWith('--donate-level') || a === '--coin')),
  }),
  rule({
    key: 'cryptomining',
    id: 'cryptomining.cpu-burn',
    title: 'Burns CPU until the limit stops it',
    severity: 'low',
    attack: ['T1496.001'],
    match: (o) => o.type === 'limit' && o.limit === 'cpu',
  }),
  rule({
    key: 'cryptomining',
    id: 'cryptomining.sustained-cpu',
    title: 'Keeps a CPU busy for the whole run',
    // Builds and data jobs burn CPU too: context that a miner's other signs make a verdict.
    severity: 'low',
    attack: ['T1496.001'],
    match: (o) =>
      o.type === 'usage' && o.wallSeconds >= SUSTAINED_SECONDS && o.cpuSeconds >= o.wallSeconds * BUSY_SHARE,
  }),
];
