import { isLoopback, numberArg, plainAddress, procPid, reads, readsInHome, rule, type Rule } from './rule';

const PROC_OTHER = /^\/proc\/(\d+|\*)\//;

/** Credential and data harvesting: password hashes, keys, cloud credentials, other processes' environments, metadata endpoints. */
export const dataHarvestingRules: Rule[] = [
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.password-hashes',
    title: 'Reads password hashes',
    severity: 'high',
    attack: ['T1003.008'],
    match: (o) => reads(o, /^\/etc\/(shadow|gshadow|master\.passwd)-?$/),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.ssh-keys',
    title: 'Reads SSH private keys',
    severity: 'high',
    attack: ['T1552.004'],
    match: (o, c) =>
      readsInHome(o, c, /^\.ssh\/(id_[a-z0-9_]+|.*_key|identity)$/) || reads(o, /^\/etc\/ssh\/ssh_host_.*_key$/),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.cloud-credentials',
    title: 'Reads cloud, container or tool credentials',
    severity: 'high',
    attack: ['T1552.001'],
    match: (o, c) =>
      readsInHome(
        o,
        c,
        /^(\.aws\/(credentials|config)|\.docker\/config\.json|\.kube\/config|\.config\/gcloud\/|\.azure\/|\.netrc|\.git-credentials|\.pgpass|\.my\.cnf)/,
      ) || reads(o, /^\/(var\/run|run)\/secrets\//),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.process-environment',
    title: "Reads other processes' environments",
    severity: 'high',
    attack: ['T1552'],
    match: (o, c) => {
      if (!reads(o, /^\/proc\/[^/]+\/environ$/)) return false;
      const pid = Number(o.path.split('/')[2]);
      return Number.isInteger(pid) && !c.samplePids.has(pid);
    },
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.process-memory',
    title: "Reads another process's memory",
    severity: 'high',
    attack: ['T1003.007'],
    match: (o) =>
      (o.type === 'call' && o.name === 'process_vm_readv' && numberArg(o.args[0]) !== o.pid) ||
      (reads(o, /^\/proc\/\d+\/(task\/\d+\/)?mem$/) && procPid(o.path) !== o.pid),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.metadata-endpoint',
    title: 'Contacts the cloud instance or task metadata endpoint',
    severity: 'critical',
    attack: ['T1552.005'],
    match: (o) =>
      o.type === 'connect' && (/^169\.254\./.test(plainAddress(o.address)) || /^fd00:ec2:/i.test(o.address)),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.shell-history',
    title: 'Reads shell or tool history',
    severity: 'medium',
    attack: ['T1552.003'],
    match: (o, c) => readsInHome(o, c, /^\.(bash|zsh|sh|mysql|psql|python|node_repl|lesshst)_?history$/),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.process-discovery',
    title: 'Enumerates other processes',
    severity: 'low',
    attack: ['T1057'],
    match: (o, c) =>
      reads(o, /^\/proc\/\d+\/(cmdline|comm|stat|status|exe)$/) &&
      PROC_OTHER.test(o.path) &&
      !c.samplePids.has(Number(o.path.split('/')[2])),
    minimum: 5,
    distinct: (o) => (o.type === 'file' ? (o.path.split('/')[2] ?? '') : ''),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.network-discovery',
    title: 'Reads the socket tables',
    severity: 'low',
    attack: ['T1049'],
    match: (o) => reads(o, /^\/proc\/(self\/|\d+\/)?net\/(tcp6?|udp6?|unix|raw)$/),
  }),
  rule({
    key: 'dataHarvesting',
    id: 'dataHarvesting.local-services',
    title: 'Connects to services on the loopback interface',
    severity: 'low',
    attack: ['T1046'],
    match: (o) => o.type === 'connect' && o.protocol === 'tcp' && o.hostname === null && isLoopback(o.address),
  }),
];
