import type { ExecObservation, Observation } from '../observations';
import { commandLine, execName, isLoopback, plainAddress, provenance, type RuleContext, rule, type Rule } from './rule';

/** Ports that say nothing by themselves: the web, mail, DNS, SSH, and the usual service and development ports. */
const COMMON_PORTS = new Set([
  20, 21, 22, 25, 53, 80, 110, 123, 143, 389, 443, 465, 587, 636, 853, 993, 995, 1433, 1521, 3000, 3306, 5000, 5432,
  5672, 6379, 8000, 8008, 8080, 8081, 8443, 8888, 9000, 9090, 9200, 11211, 27017,
]);
/** Stratum ports belong to the cryptomining rules. */
export const STRATUM_PORTS = new Set([3333, 3334, 3335, 4444, 5555, 6666, 7777, 9999, 14433, 14444, 45560, 45700]);

/** An IP connection that reached (or tried to reach) somewhere other than the fake resolver. */
function ipConnection(o: Observation): o is Extract<Observation, { type: 'connect' }> {
  return o.type === 'connect' && (o.protocol === 'tcp' || o.protocol === 'udp') && o.port !== 53;
}

/** The URL scheme a curl/wget exec uploads to (`https`, `http`), or null when it uploads nothing. */
function uploadScheme(o: Observation): string | null {
  if (o.type !== 'exec' || !/^(curl|wget)$/.test(execName(o) ?? '')) return null;
  const uploads = o.argv.some((arg, i) => {
    if (/^(-T|--upload-file|--post-file=.+|--body-file=.+)$/.test(arg)) return true;
    if (/^(--data(-binary|-urlencode)?|--form)=.*@/.test(arg) || /^-[dF]\S*@/.test(arg)) return true;
    // `-d @file`, `-F 'f=@file'`: the value after the option names a file.
    return /^(-d|--data|--data-binary|--data-urlencode|-F|--form)$/.test(arg) && /@/.test(o.argv[i + 1] ?? '');
  });
  if (!uploads) return null;
  const url = o.argv.find((a) => /^[a-z][a-z0-9+.-]*:\/\//i.test(a));
  return url ? (url.split(':')[0] as string).toLowerCase() : 'http';
}

/** Chat and automation webhooks: a POST there lands in an attacker's channel with no server of theirs. */
const WEBHOOK =
  /^(https?:\/\/)?(hooks\.slack\.com\/|(ptb\.|canary\.)?discord(app)?\.com\/api\/webhooks\/|[\w.-]*webhook\.office\.com\/|webhook\.site\/|api\.telegram\.org\/bot[^/]+\/send|[\w-]+\.m\.pipedream\.net|hooks\.zapier\.com\/)/i;

/** True for curl/wget sending data (any body) to a webhook URL. */
function postsToWebhook(o: Observation): boolean {
  if (o.type !== 'exec' || !/^(curl|wget)$/.test(execName(o) ?? '')) return false;
  const sendsBody = o.argv.some((a) =>
    /^(-d|-F|-T|--data.*|--form.*|--json|--upload-file|--post-data.*|--post-file.*|--body-data.*|--body-file.*|-XPOST|POST)$/.test(
      a,
    ),
  );
  return sendsBody && o.argv.some((a) => WEBHOOK.test(a));
}

/** True for curl/wget sending an inline body (`--post-data=...`, `-d '...'`), the URL's scheme given. */
function postsInline(o: Observation, scheme: string): boolean {
  if (o.type !== 'exec' || !/^(curl|wget)$/.test(execName(o) ?? '') || uploadScheme(o) !== null) return false;
  const inline = o.argv.some((a) =>
    /^(-d|--data|--data-raw|--data-binary|--json|--post-data|--body-data)(=.*)?$/.test(a),
  );
  const url = o.argv.find((a) => /^[a-z][a-z0-9+.-]*:\/\//i.test(a));
  return inline && url?.toLowerCase().startsWith(`${scheme}:`) === true;
}

/** Programs that write their standard input to a socket. */
const RAW_SENDERS = /^(nc|ncat|netcat|socat|telnet)$/;

/** True for a redirected input that is a file of the victim's (not a device, nor the sample's own script). */
function sendsFile(path: string | null, c: RuleContext): boolean {
  return path !== null && !/^\/(dev|proc|sys)\//.test(path) && !c.placed.has(path);
}

/** Proxy settings in an exec's environment. */
const PROXY_ENV = /^(all_proxy|http_proxy|https_proxy|ftp_proxy|socks_proxy)=\S+/i;
const MULTI_HOP = new Set(['tor', 'torsocks', 'torify', 'proxychains', 'proxychains4']);

/** True when an exec goes through a proxy it names (curl -x, wget -e use_proxy, ssh -D is tunnelling). */
function namedProxies(o: ExecObservation): string[] {
  const name = execName(o);
  const hosts: string[] = [];
  if (name === 'curl') {
    o.argv.forEach((a, i) => {
      const inline =
        /^(?:--proxy|--preproxy|--socks4a?|--socks5(?:-hostname)?)=(.+)$/.exec(a)?.[1] ?? /^-x(.+)$/.exec(a)?.[1];
      if (inline !== undefined) hosts.push(proxyHost(inline));
      else if (/^(-x|--proxy|--preproxy|--socks4a?|--socks5(-hostname)?)$/.test(a))
        hosts.push(proxyHost(o.argv[i + 1] ?? ''));
    });
  }
  if (name === 'wget')
    for (const a of o.argv) {
      const value = /https?_proxy=(.+)$/i.exec(a)?.[1];
      if (value !== undefined) hosts.push(proxyHost(value));
    }
  return hosts;
}

/** The host of a proxy as tools take it (`socks5h://user@host:1080`, `host:3128`, `[::1]:8080`). */
function proxyHost(value: string): string {
  const rest = value.replace(/^[a-z0-9+]+:\/\//i, '').replace(/^[^@/]*@/, '');
  const bracketed = /^\[([^\]]+)\]/.exec(rest);
  return (bracketed?.[1] ?? rest.split(/[:/]/)[0] ?? '').toLowerCase();
}

/** A proxy on this host or a private network: internal (T1090.001) rather than external (T1090.002). */
function isInternalHost(host: string): boolean {
  return (
    host === 'localhost' ||
    isLoopback(host) ||
    /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(host) ||
    /^f[cd][0-9a-f]{2}:/i.test(host)
  );
}

/** Packet capture tools, and their options that only list interfaces or print help. */
const SNIFFERS = /^(tcpdump|tshark|dumpcap|tcpflow|ngrep|ettercap|dsniff|termshark)$/;
const SNIFFER_INFO = /^(-D|--list-interfaces|-h|--help|-v|--version|-r|-L|--list-data-link-types)$/;

/** True for a packet capture, or an interface put into promiscuous mode. */
function sniffs(o: Observation): boolean {
  if (o.type !== 'exec') return false;
  const name = execName(o) ?? '';
  const args = o.argv.slice(1);
  // `tcpdump -r file` reads a saved capture: nothing is listened to.
  if (SNIFFERS.test(name)) return !args.some((a) => SNIFFER_INFO.test(a));
  if (name === 'ip') return args.includes('promisc') && args.includes('on');
  return name === 'ifconfig' && args.includes('promisc');
}

/** Network behaviour: command and control over HTTP/TLS/DNS, exfiltration, proxies, raw-IP contacts, scans, odd ports. */
export const networkRules: Rule[] = [
  rule({
    key: 'network',
    id: 'network.sniffing',
    title: 'Captures network traffic (tcpdump, tshark, promiscuous mode)',
    severity: 'medium',
    attack: ['T1040'],
    match: sniffs,
  }),
  rule({
    key: 'network',
    id: 'network.http',
    title: 'Talks HTTP to remote hosts',
    // A health check or a package download is HTTP too: the web protocol alone is context.
    severity: 'low',
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
    id: 'network.exfil-https',
    title: 'Uploads a local file over HTTPS',
    severity: 'medium',
    attack: ['T1048.002'],
    match: (o) =>
      uploadScheme(o) === 'https' ||
      (o.type === 'exec' &&
        /^(scp|sftp)$/.test(execName(o) ?? '') &&
        o.argv.slice(1).some((a, i, rest) => /^[^-/][^/]*:/.test(a) && i === rest.length - 1)),
  }),
  rule({
    key: 'network',
    id: 'network.exfil-webhook',
    title: 'Sends data to a chat or automation webhook (Slack, Discord, Teams, Telegram)',
    severity: 'medium',
    attack: ['T1567.004'],
    match: postsToWebhook,
  }),
  rule({
    key: 'network',
    id: 'network.post-https',
    title: 'Posts an inline body over HTTPS',
    // APIs are called this way all day; the body is out of sight (TLS), so it is context.
    severity: 'low',
    attack: ['T1048.002'],
    match: (o) => postsInline(o, 'https') && !postsToWebhook(o),
  }),
  rule({
    key: 'network',
    id: 'network.exfil-http',
    title: 'Uploads a local file over unencrypted HTTP or FTP',
    severity: 'medium',
    attack: ['T1048.003'],
    match: (o) => ['http', 'ftp', 'tftp'].includes(uploadScheme(o) ?? ''),
  }),
  rule({
    key: 'network',
    id: 'network.exfil-raw',
    title: 'Sends a file to a remote host over a raw socket (nc host port < file)',
    severity: 'medium',
    attack: ['T1048.003'],
    // The shell opens the redirected file moments before nc starts: the file is its input.
    match: (o, c) =>
      o.type === 'exec' &&
      RAW_SENDERS.test(execName(o) ?? '') &&
      !o.argv.some((a) => /^-[a-zA-Z]*[lz]/.test(a)) &&
      o.argv.slice(1).some((a) => !a.startsWith('-')) &&
      sendsFile(provenance(c).inputRedirect(o), c),
  }),
  rule({
    key: 'network',
    id: 'network.tls',
    title: 'Opens TLS connections to remote hosts',
    severity: 'low',
    attack: ['T1573.002'],
    match: (o) => o.type === 'tls',
  }),
  rule({
    key: 'network',
    id: 'network.raw-ip',
    title: 'Connects to hard-coded IP addresses',
    severity: 'medium',
    attack: ['T1095'],
    match: (o) =>
      ipConnection(o) && o.hostname === null && !isLoopback(o.address) && !/^169\.254\./.test(plainAddress(o.address)),
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
    title: 'Asks for TXT records: DNS as a command channel',
    severity: 'high',
    attack: ['T1071.004'],
    match: (o) => o.type === 'dns' && o.qtype === 'TXT',
  }),
  rule({
    key: 'network',
    id: 'network.dns-exfil',
    title: 'Carries data out in DNS query names (long encoded labels)',
    severity: 'high',
    // No name a person or a CDN picks has a 40-character label of hex or base32: it is data.
    attack: ['T1048.003'],
    match: (o) => o.type === 'dns' && o.name.split('.').some((label) => label.length >= 40),
  }),
  rule({
    key: 'network',
    id: 'network.unusual-port',
    title: 'Connects to an unusual TCP port',
    severity: 'medium',
    attack: ['T1571'],
    // The fake resolver answers every name with a loopback address: a connection to a name the
    // sample resolved is remote whatever its address; a bare loopback address is a local service.
    match: (o) =>
      o.type === 'connect' &&
      o.protocol === 'tcp' &&
      o.port !== null &&
      !COMMON_PORTS.has(o.port) &&
      (o.hostname !== null || !isLoopback(o.address)),
  }),
  rule({
    key: 'network',
    id: 'network.proxy',
    title: 'Sends its traffic through an external proxy it names',
    severity: 'medium',
    attack: ['T1090.002'],
    match: (o) => o.type === 'exec' && namedProxies(o).some((host) => !isInternalHost(host)),
  }),
  rule({
    key: 'network',
    id: 'network.internal-proxy',
    title: 'Sends its traffic through a proxy on this host or the local network',
    severity: 'medium',
    attack: ['T1090.001'],
    match: (o) => o.type === 'exec' && namedProxies(o).some(isInternalHost),
  }),
  rule({
    key: 'network',
    id: 'network.proxy-environment',
    title: 'Runs programs with a proxy in their environment',
    // Build hosts set proxies for every program: context unless a program is told one explicitly.
    severity: 'low',
    attack: ['T1090'],
    match: (o) => o.type === 'exec' && o.env.some((e) => PROXY_ENV.test(e)),
  }),
  rule({
    key: 'network',
    id: 'network.multi-hop-proxy',
    title: 'Routes traffic through Tor or a proxy chain',
    severity: 'medium',
    attack: ['T1090.003'],
    match: (o) =>
      MULTI_HOP.has(execName(o) ?? '') ||
      (o.type === 'dns' && /\.onion\.?$/i.test(o.name)) ||
      (o.type === 'exec' && /\b[a-z2-7]{16,56}\.onion\b/i.test(commandLine(o))),
  }),
  rule({
    key: 'network',
    id: 'network.tunnel',
    title: 'Opens a port-forwarding tunnel (ssh -L/-R/-D, socat relay, chisel, ngrok)',
    severity: 'medium',
    attack: ['T1572'],
    match: (o) =>
      o.type === 'exec' &&
      ((execName(o) === 'ssh' && o.argv.some((a) => /^-[a-zA-Z]*[LRD]/.test(a))) ||
        (execName(o) === 'socat' &&
          o.argv.some((a) => /^tcp(4|6)?-listen:/i.test(a)) &&
          o.argv.some((a) => /^tcp(4|6)?:/i.test(a))) ||
        /^(chisel|ngrok|frpc|iodine|dnscat2?)$/.test(execName(o) ?? '')),
  }),
];
