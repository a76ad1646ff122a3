import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { CaptureRecorder, type Conversation } from './pcap';

/**
 * The fake network, in the manner of INetSim: a resolver that answers every name with a loopback
 * address of its own, a TCP listener that speaks just enough HTTP to record a request, reads the
 * server name out of a TLS ClientHello, and keeps the first bytes of anything else, and a UDP sink.
 * Everything listens on 127.0.0.1 on ports the kernel picks; the network guard sends the sample's
 * connections here, whatever address it asked for. It also keeps the bytes of every conversation it
 * terminates (within `CaptureLimits`), from which the agent writes the run's packet capture.
 */

/** What every record has: when, and the client port the guard's log joins it on. */
interface RecordBase {
  /** Epoch seconds. */
  time: number;
  clientPort: number;
}
/** A question the fake resolver answered. */
export interface DnsRecord extends RecordBase {
  name: string;
  qtype: string;
  answer: string | null;
}
/** An HTTP request the fake network answered. */
export interface HttpRecord extends RecordBase {
  method: string;
  host: string;
  path: string;
  userAgent: string | null;
  bodyBytes: number;
  bodyPreview: string;
}
/** A TLS ClientHello's server name. */
export interface TlsRecord extends RecordBase {
  serverName: string;
}
/** The first bytes of a TCP conversation or a UDP datagram of no known protocol. */
export interface PayloadRecord extends RecordBase {
  protocol: 'tcp' | 'udp';
  bytes: number;
  preview: string;
}

/** Everything the fake network saw, each list capped (counts keep going). */
export interface FakeNetworkLog {
  dns: DnsRecord[];
  http: HttpRecord[];
  tls: TlsRecord[];
  payloads: PayloadRecord[];
  dropped: number;
}

const QTYPES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  12: 'PTR',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  255: 'ANY',
};
const MAX_RECORDS = 1000;
const MAX_CAPTURE = 16 * 1024;
/** How long a client may stay silent before the listener gives up on it. */
const FIRST_BYTES_MS = 3000;
const HTTP_METHOD = /^(GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH|CONNECT|TRACE|PROPFIND) (\S+) HTTP\/1\.[01]\r?\n/;

/**
 * A Content-Length as the sample declared it, as a safe integer: a 400-digit value would be
 * Infinity as a plain Number, and the byte count it feeds must stay finite.
 */
export function declaredLength(digits: string | undefined): number {
  if (!digits) return 0;
  const significant = digits.replace(/^0+(?=\d)/, '');
  // Fifteen digits always fit a safe integer; anything longer is clamped rather than rounded to Infinity.
  return significant.length <= 15 ? Number(significant) : Number.MAX_SAFE_INTEGER;
}

/** Printable ASCII of the first bytes, `.` for the rest. */
export function preview(bytes: Buffer, max = 256): string {
  let out = '';
  for (let i = 0; i < bytes.length && out.length < max; i++) {
    const b = bytes[i] as number;
    out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  }
  return out;
}

/** A DNS query's question, or null when the packet is not a well-formed query. */
export function parseDnsQuery(packet: Buffer): { id: number; name: string; qtype: number; end: number } | null {
  if (packet.length < 17 || (packet[2] as number) & 0x80) return null;
  if (packet.readUInt16BE(4) < 1) return null;
  const labels: string[] = [];
  let i = 12;
  for (;;) {
    if (i >= packet.length) return null;
    const len = packet[i] as number;
    if (len === 0) break;
    if (len > 63 || labels.length > 127) return null; // compression pointers have no place in a question
    const label = packet.subarray(i + 1, i + 1 + len);
    if (label.length !== len) return null;
    labels.push(
      label.toString('latin1').replace(/[^\x21-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`),
    );
    i += 1 + len;
  }
  if (i + 5 > packet.length) return null;
  return {
    id: packet.readUInt16BE(0),
    name: labels.join('.').toLowerCase(),
    qtype: packet.readUInt16BE(i + 1),
    end: i + 5,
  };
}

/** The server name (SNI) of a TLS ClientHello record, or null. */
export function parseClientHelloSni(data: Buffer): string | null {
  if (data.length < 5 || data[0] !== 0x16) return null;
  let p = 5;
  if (data[p] !== 0x01) return null;
  p += 4 + 2 + 32; // handshake header, version, random
  if (p >= data.length) return null;
  p += 1 + (data[p] as number); // session id
  if (p + 2 > data.length) return null;
  p += 2 + data.readUInt16BE(p); // cipher suites
  if (p >= data.length) return null;
  p += 1 + (data[p] as number); // compression methods
  if (p + 2 > data.length) return null;
  const end = Math.min(data.length, p + 2 + data.readUInt16BE(p));
  p += 2;
  while (p + 4 <= end) {
    const type = data.readUInt16BE(p);
    const len = data.readUInt16BE(p + 2);
    p += 4;
    if (type === 0 && p + 5 <= end) {
      const nameLen = data.readUInt16BE(p + 3);
      const name = data.subarray(p + 5, p + 5 + nameLen);
      return preview(name, 253).toLowerCase();
    }
    p += len;
  }
  return null;
}

/** The running fake network. */
export class FakeNetwork {
  /** Ports on 127.0.0.1, for the guard's redirection. */
  readonly ports: { dns: number; tcp: number; udp: number };
  /** Epoch milliseconds of the last thing that happened, for idle detection. */
  lastActivity = Date.now();
  /** The conversations' bytes, for the packet capture. */
  readonly capture = new CaptureRecorder();
  private readonly log: FakeNetworkLog = { dns: [], http: [], tls: [], payloads: [], dropped: 0 };
  private readonly addresses = new Map<string, string>();
  private readonly names = new Map<string, string>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly dns: UdpSocket,
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
  ) {
    this.ports = { dns: dns.address().port, udp: udp.address().port, tcp: (tcp.address() as { port: number }).port };
  }

  /** Starts the three listeners on 127.0.0.1. */
  static async start(): Promise<FakeNetwork> {
    const bindUdp = () =>
      new Promise<UdpSocket>((resolve, reject) => {
        const socket = createSocket('udp4');
        socket.once('error', reject);
        socket.bind(0, '127.0.0.1', () => resolve(socket));
      });
    const dns = await bindUdp();
    const udp = await bindUdp();
    const tcp = createServer({ pauseOnConnect: false });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, '127.0.0.1', () => resolve());
    });
    const net = new FakeNetwork(dns, udp, tcp);
    dns.on('message', (msg, from) => net.answerDns(msg, from));
    udp.on('message', (msg, from) => {
      const time = Date.now() / 1000;
      net.capture.add(net.capture.open('udp', 'udp', from.port, time), true, msg, time);
      net.add('payloads', { time, clientPort: from.port, protocol: 'udp', bytes: msg.length, preview: preview(msg) });
    });
    tcp.on('connection', (socket) => net.converse(socket));
    return net;
  }

  /** The fake address handed out for a name (127.10.x.y, one per name). */
  addressFor(name: string): string {
    let address = this.addresses.get(name);
    if (!address) {
      const n = this.addresses.size + 1;
      if (n >= 1 << 16) return '127.10.255.255';
      address = `127.10.${n >> 8}.${n & 255}`;
      this.addresses.set(name, address);
      this.names.set(address, name);
    }
    return address;
  }

  /** The name whose fake address this is, if the resolver handed it out. */
  nameFor(address: string): string | null {
    return this.names.get(address) ?? null;
  }

  /** A copy of everything recorded so far. */
  records(): FakeNetworkLog {
    return {
      dns: [...this.log.dns],
      http: [...this.log.http],
      tls: [...this.log.tls],
      payloads: [...this.log.payloads],
      dropped: this.log.dropped,
    };
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.dns.close(() => resolve())),
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
    ]);
  }

  private add<K extends 'dns' | 'http' | 'tls' | 'payloads'>(kind: K, record: FakeNetworkLog[K][number]): void {
    this.lastActivity = Date.now();
    const list = this.log[kind] as FakeNetworkLog[K][number][];
    if (list.length < MAX_RECORDS) list.push(record);
    else this.log.dropped++;
  }

  private answerDns(msg: Buffer, from: RemoteInfo): void {
    const time = Date.now() / 1000;
    const exchange = this.capture.open('udp', 'dns', from.port, time);
    this.capture.add(exchange, true, msg, time);
    const query = parseDnsQuery(msg);
    if (!query) {
      this.add('payloads', {
        time: Date.now() / 1000,
        clientPort: from.port,
        protocol: 'udp',
        bytes: msg.length,
        preview: preview(msg),
      });
      return;
    }
    const qtype = QTYPES[query.qtype] ?? String(query.qtype);
    const answerA = query.qtype === 1 || query.qtype === 255;
    const address = answerA ? this.addressFor(query.name) : null;
    this.add('dns', { time: Date.now() / 1000, clientPort: from.port, name: query.name, qtype, answer: address });
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.id, 0);
    header.writeUInt16BE(0x8400 | (((msg[2] as number) & 0x01) << 8) | 0x80, 2); // QR, AA, RD copied, RA
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(address ? 1 : 0, 6);
    const question = msg.subarray(12, query.end);
    const parts = [header, question];
    if (address) {
      const answer = Buffer.alloc(16);
      answer.writeUInt16BE(0xc00c, 0); // the name, by pointer to the question
      answer.writeUInt16BE(1, 2);
      answer.writeUInt16BE(1, 4);
      answer.writeUInt32BE(60, 6);
      answer.writeUInt16BE(4, 10);
      for (const [i, octet] of address.split('.').entries()) answer.writeUInt8(Number(octet), 12 + i);
      parts.push(answer);
    }
    const reply = Buffer.concat(parts);
    this.capture.add(exchange, false, reply, Date.now() / 1000);
    this.dns.send(reply, from.port, from.address);
  }

  /** Reads what the client sends first and decides what it is talking. */
  private converse(socket: Socket): void {
    this.lastActivity = Date.now();
    this.sockets.add(socket);
    const clientPort = socket.remotePort ?? 0;
    const conversation = this.capture.open('tcp', 'tcp', clientPort, Date.now() / 1000);
    let data = Buffer.alloc(0);
    let settled = false;
    const recordPayload = () =>
      this.add('payloads', {
        time: Date.now() / 1000,
        clientPort,
        protocol: 'tcp',
        bytes: data.length,
        preview: preview(data),
      });
    const finishPayload = () => {
      if (settled) return;
      settled = true;
      if (data.length > 0) recordPayload();
    };
    socket.setTimeout(FIRST_BYTES_MS, () => {
      finishPayload();
      socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.capture.close(conversation, 'fin', Date.now() / 1000);
      finishPayload();
      this.sockets.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      // Every byte the sample sends goes to the capture (within its limits), answered or not.
      this.capture.add(conversation, true, chunk, Date.now() / 1000);
      if (settled) return;
      this.lastActivity = Date.now();
      data = Buffer.concat([data, chunk]).subarray(0, MAX_CAPTURE);
      if (data[0] === 0x16) {
        const recordLength = data.length >= 5 ? data.readUInt16BE(3) + 5 : Infinity;
        if (data.length < Math.min(recordLength, MAX_CAPTURE)) return;
        settled = true;
        const serverName = parseClientHelloSni(data);
        if (serverName) this.add('tls', { time: Date.now() / 1000, clientPort, serverName });
        else recordPayload();
        this.capture.close(conversation, 'reset', Date.now() / 1000);
        socket.destroy(); // no certificate to offer: the handshake fails, as it would against a sinkhole
        return;
      }
      const head = data.toString('latin1', 0, Math.min(data.length, 64));
      if (HTTP_METHOD.test(head) || (data.length < 16 && /^[A-Z]{3,9} ?\S*$/.test(head))) {
        if (this.http(socket, data, clientPort, conversation)) settled = true;
        return;
      }
      // Anything else (stratum, IRC, a custom protocol): keep the first bytes, say nothing.
      setTimeout(finishPayload, 300);
    });
  }

  /** Records and answers one HTTP request once its headers (and a bounded body) are in. */
  private http(socket: Socket, data: Buffer, clientPort: number, conversation: Conversation | null): boolean {
    const text = data.toString('latin1');
    const headerEnd = text.indexOf('\r\n\r\n');
    if (headerEnd < 0)
      return data.length >= MAX_CAPTURE ? this.respond(socket, text, text.length, clientPort, conversation) : false;
    const declared = declaredLength(/\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, headerEnd))?.[1]);
    const wanted = Math.min(declared, 4096);
    if (data.length - headerEnd - 4 < wanted && data.length < MAX_CAPTURE) return false;
    return this.respond(socket, text, headerEnd, clientPort, conversation, declared);
  }

  private respond(
    socket: Socket,
    text: string,
    headerEnd: number,
    clientPort: number,
    conversation: Conversation | null,
    declaredBody = 0,
  ): boolean {
    const lines = text.slice(0, headerEnd).split(/\r?\n/);
    const [method = '', target = '/'] = (lines[0] ?? '').split(' ');
    const header = (name: string) =>
      lines
        .find((l) => l.toLowerCase().startsWith(`${name}:`))
        ?.slice(name.length + 1)
        .trim() ?? null;
    const body = Buffer.from(text.slice(headerEnd + 4), 'latin1');
    const url = /^https?:\/\/([^/]+)(\/.*)?$/i.exec(target);
    this.add('http', {
      time: Date.now() / 1000,
      clientPort,
      method: method.slice(0, 32),
      host: (url?.[1] ?? header('host') ?? '').slice(0, 255).toLowerCase(),
      path: (url ? (url[2] ?? '/') : target).slice(0, 600),
      userAgent: header('user-agent')?.slice(0, 600) ?? null,
      bodyBytes: Math.max(declaredBody, body.length),
      bodyPreview: preview(body),
    });
    // A download gets a harmless script, so a dropper's next step (running it) is visible too.
    const payload = /\.(sh|bash)(\?|$)/i.test(target)
      ? '#!/bin/sh\necho sandtrap-fakenet\n'
      : '<html><body>sandtrap</body></html>\n';
    const answer = Buffer.from(
      `HTTP/1.1 200 OK\r\nServer: sandtrap-fakenet\r\nContent-Type: text/html\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n${payload}`,
      'latin1',
    );
    this.capture.add(conversation, false, answer, Date.now() / 1000);
    socket.end(answer);
    return true;
  }
}
