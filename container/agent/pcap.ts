import { isIPv4, isIPv6 } from 'node:net';

/**
 * A packet capture of the sample's conversations with the fake network, written as a classic
 * libpcap file (Ethernet link type, IPv4 or IPv6, TCP and UDP with valid checksums).
 *
 * Why synthesized rather than captured: the detonation task runs on Fargate, which grants neither
 * CAP_NET_RAW nor CAP_NET_ADMIN, so tcpdump (or any AF_PACKET socket) cannot capture there; and even
 * where it could, the wire would show loopback traffic to the fake network's kernel-chosen ports,
 * not the address the sample asked for. The fake network terminates every conversation the guard
 * redirects, so it holds every byte the sample sent and every byte it got back: the capture is
 * rebuilt from those bytes, with the sample's original destination (address and port, from the
 * guard's log) as the far end, so an analyst's tools show the sample's view of its network. What
 * it cannot show is what never reached the fake network (blocked connections are in the report).
 *
 * Written here rather than with a library: npm's `pcap` binds libpcap for live capture (native, and
 * capture is what Fargate forbids), and no maintained pure-JS pcap writer exists; the format is
 * small and frozen (a 24-byte header, a 16-byte header per record), as are IPv4/IPv6/TCP/UDP.
 */

/** One chunk of bytes as the fake network saw it, in the direction it went. */
export interface Segment {
  /** Epoch seconds. */
  time: number;
  fromClient: boolean;
  data: Buffer;
}

/** A conversation the fake network terminated, as recorded (bounded by `CaptureLimits`). */
export interface Conversation {
  protocol: 'tcp' | 'udp';
  /** The loopback client port the sample's socket had, which the guard's log joins on. */
  clientPort: number;
  /** The fake-network service, for a destination when the guard's log has no record of it. */
  service: 'dns' | 'tcp' | 'udp';
  /** Epoch seconds of the connection (TCP) or first datagram (UDP). */
  start: number;
  segments: Segment[];
  /** Epoch seconds the conversation closed, and how (TCP only); null while open. */
  closed: { time: number; how: 'fin' | 'reset' } | null;
}

/** Where a conversation was headed, as the sample asked. */
export interface Endpoint {
  address: string;
  port: number;
}

/** The address the capture gives the sample's side (the real one is loopback after redirection). */
export const SANDBOX_ADDRESS = { v4: '10.0.2.15', v6: 'fd00::2:15' } as const;
const SANDBOX_MAC = Buffer.from([0x02, 0x53, 0x54, 0x00, 0x00, 0x01]);
const GATEWAY_MAC = Buffer.from([0x02, 0x53, 0x54, 0x00, 0x00, 0x02]);
/** The segment size TCP payloads are cut to, as an Ethernet path would carry them. */
const MSS = 1460;
const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 65535;
const ETH_HEADER = 14;
const RECORD_HEADER = 16;
const FILE_HEADER = 24;

/** What the capture keeps at most; the writer stops there and says it was truncated. */
export interface PcapLimits {
  /** Packets written, handshakes and closes included. */
  packets: number;
  /** Bytes of the whole file. */
  fileBytes: number;
}

/** What was written. */
export interface PcapResult {
  file: Buffer;
  packets: number;
  /** Conversations whose far end came from the guard's log (the others show the fake network's). */
  attributed: number;
  conversations: number;
  /** True when a limit stopped the writer before the end. */
  truncated: boolean;
}

/** The 4 or 16 bytes of an IP address, or null when it is neither. */
export function addressBytes(address: string): Buffer | null {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  if (!isIPv6(address)) return null;
  // An embedded dotted quad (::ffff:1.2.3.4) becomes its two 16-bit words.
  const text = address
    .replace(/%.*$/, '')
    .replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) =>
      [(Number(a) << 8) | Number(b), (Number(c) << 8) | Number(d)].map((w) => w.toString(16)).join(':'),
    );
  const [head = '', rest] = text.split('::');
  const words = (s: string) => (s ? s.split(':').map((w) => Number.parseInt(w, 16)) : []);
  const left = words(head);
  const right = words(rest ?? '');
  const all = rest === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  if (all.length !== 8 || all.some((w) => !Number.isInteger(w))) return null;
  const out = Buffer.alloc(16);
  for (const [i, w] of all.entries()) out.writeUInt16BE(w & 0xffff, i * 2);
  return out;
}

/** An IPv4-mapped IPv6 address's IPv4 bytes, else the address's own. */
function unmapped(bytes: Buffer): Buffer {
  if (bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes.readUInt16BE(10) === 0xffff)
    return Buffer.from(bytes.subarray(12));
  return bytes;
}

/** The Internet checksum (RFC 1071) over the buffers, as one sequence of 16-bit words. */
export function internetChecksum(...parts: Buffer[]): number {
  let sum = 0;
  let odd: number | null = null;
  for (const part of parts) {
    for (const byte of part) {
      if (odd === null) odd = byte;
      else {
        sum += (odd << 8) | byte;
        odd = null;
      }
    }
    // Fold as we go so the sum never leaves the safe-integer range, however long the input.
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (odd !== null) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;
const PROTO = { tcp: 6, udp: 17 } as const;

/** One IP packet (without the Ethernet header) carrying a TCP segment or a UDP datagram. */
function ipPacket(src: Buffer, dst: Buffer, protocol: 'tcp' | 'udp', transport: Buffer): Buffer {
  const number = PROTO[protocol];
  // The transport checksum covers a pseudo-header of the IP addresses, protocol and length.
  const checksumAt = protocol === 'tcp' ? 16 : 6;
  transport.writeUInt16BE(0, checksumAt);
  let pseudo: Buffer;
  if (src.length === 4) {
    pseudo = Buffer.alloc(12);
    src.copy(pseudo, 0);
    dst.copy(pseudo, 4);
    pseudo.writeUInt8(number, 9);
    pseudo.writeUInt16BE(transport.length, 10);
  } else {
    pseudo = Buffer.alloc(40);
    src.copy(pseudo, 0);
    dst.copy(pseudo, 16);
    pseudo.writeUInt32BE(transport.length, 32);
    pseudo.writeUInt8(number, 39);
  }
  let sum = internetChecksum(pseudo, transport);
  if (protocol === 'udp' && sum === 0) sum = 0xffff; // 0 means "no checksum" in UDP
  transport.writeUInt16BE(sum, checksumAt);
  if (src.length === 4) {
    const header = Buffer.alloc(20);
    header.writeUInt8(0x45, 0);
    header.writeUInt16BE(20 + transport.length, 2);
    header.writeUInt16BE(0x4000, 6); // don't fragment
    header.writeUInt8(64, 8);
    header.writeUInt8(number, 9);
    src.copy(header, 12);
    dst.copy(header, 16);
    header.writeUInt16BE(internetChecksum(header), 10);
    return Buffer.concat([header, transport]);
  }
  const header = Buffer.alloc(40);
  header.writeUInt32BE(0x60000000, 0);
  header.writeUInt16BE(transport.length, 4);
  header.writeUInt8(number, 6);
  header.writeUInt8(64, 7);
  src.copy(header, 8);
  dst.copy(header, 24);
  return Buffer.concat([header, transport]);
}

function tcpSegment(
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(srcPort, 0);
  header.writeUInt16BE(dstPort, 2);
  header.writeUInt32BE(seq >>> 0, 4);
  header.writeUInt32BE(flags & TCP_FLAGS.ACK ? ack >>> 0 : 0, 8);
  header.writeUInt8(5 << 4, 12);
  header.writeUInt8(flags, 13);
  header.writeUInt16BE(65535, 14);
  return Buffer.concat([header, payload]);
}

function udpDatagram(srcPort: number, dstPort: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(srcPort, 0);
  header.writeUInt16BE(dstPort, 2);
  header.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** A packet before it is written: its time and its bytes from the IP header on. */
interface Packet {
  time: number;
  /** The conversation and the packet's place in it, to keep the order stable where times tie. */
  order: [number, number];
  fromClient: boolean;
  ip: Buffer;
}

/** A deterministic initial sequence number per conversation, so a capture reads the same every time. */
function isn(index: number, side: number): number {
  return (Math.imul(index + 1, 0x9e3779b1) ^ (side ? 0x5bd1e995 : 0x1b873593)) >>> 0;
}

/**
 * The packets of one conversation: for TCP the three-way handshake, each recorded chunk cut to the
 * MSS with sequence and acknowledgement numbers that follow the bytes, and the close (FIN both ways
 * or a reset); for UDP one datagram per recorded chunk (a datagram longer than an IP packet can
 * hold is cut, which the recorder's caps make moot).
 */
function conversationPackets(
  c: Conversation,
  index: number,
  client: { address: Buffer; port: number },
  server: { address: Buffer; port: number },
): Packet[] {
  const out: Packet[] = [];
  let n = 0;
  const push = (time: number, fromClient: boolean, transport: Buffer) => {
    const [src, dst] = fromClient ? [client, server] : [server, client];
    out.push({ time, order: [index, n++], fromClient, ip: ipPacket(src.address, dst.address, c.protocol, transport) });
  };
  if (c.protocol === 'udp') {
    for (const s of c.segments) {
      const [src, dst] = s.fromClient ? [client, server] : [server, client];
      push(s.time, s.fromClient, udpDatagram(src.port, dst.port, s.data.subarray(0, 65000)));
    }
    return out;
  }
  let clientSeq = isn(index, 0);
  let serverSeq = isn(index, 1);
  push(c.start, true, tcpSegment(client.port, server.port, clientSeq, 0, TCP_FLAGS.SYN));
  clientSeq += 1;
  push(c.start, false, tcpSegment(server.port, client.port, serverSeq, clientSeq, TCP_FLAGS.SYN | TCP_FLAGS.ACK));
  serverSeq += 1;
  push(c.start, true, tcpSegment(client.port, server.port, clientSeq, serverSeq, TCP_FLAGS.ACK));
  for (const s of c.segments) {
    for (let at = 0; at < s.data.length; at += MSS) {
      const piece = s.data.subarray(at, at + MSS);
      const last = at + MSS >= s.data.length;
      const flags = TCP_FLAGS.ACK | (last ? TCP_FLAGS.PSH : 0);
      if (s.fromClient) {
        push(s.time, true, tcpSegment(client.port, server.port, clientSeq, serverSeq, flags, piece));
        clientSeq += piece.length;
      } else {
        push(s.time, false, tcpSegment(server.port, client.port, serverSeq, clientSeq, flags, piece));
        serverSeq += piece.length;
      }
    }
  }
  if (c.closed?.how === 'reset') {
    push(
      c.closed.time,
      false,
      tcpSegment(server.port, client.port, serverSeq, clientSeq, TCP_FLAGS.RST | TCP_FLAGS.ACK),
    );
  } else if (c.closed) {
    const t = c.closed.time;
    push(t, false, tcpSegment(server.port, client.port, serverSeq, clientSeq, TCP_FLAGS.FIN | TCP_FLAGS.ACK));
    serverSeq += 1;
    push(t, true, tcpSegment(client.port, server.port, clientSeq, serverSeq, TCP_FLAGS.FIN | TCP_FLAGS.ACK));
    clientSeq += 1;
    push(t, false, tcpSegment(server.port, client.port, serverSeq, clientSeq, TCP_FLAGS.ACK));
  }
  return out;
}

/** The far end the capture shows when the guard's log has no record of a conversation. */
function fallbackServer(c: Conversation): Endpoint {
  return { address: '127.0.0.1', port: c.service === 'dns' ? 53 : 0 };
}

/**
 * Writes the conversations as a libpcap file, each between the sandbox's stand-in address and the
 * destination `destination` says the sample asked for (or the fake network's loopback, when it does
 * not know). Packets are in time order; the writer stops at the limits and says so.
 */
export function writePcap(
  conversations: readonly Conversation[],
  destination: (c: Conversation) => Endpoint | null,
  limits: PcapLimits,
): PcapResult {
  const packets: Packet[] = [];
  let attributed = 0;
  let truncated = false;
  for (const [index, c] of conversations.entries()) {
    const asked = destination(c);
    if (asked) attributed++;
    const far = asked ?? fallbackServer(c);
    const raw = addressBytes(far.address) ?? Buffer.from([127, 0, 0, 1]);
    const serverAddress = unmapped(raw);
    const clientAddress = addressBytes(serverAddress.length === 4 ? SANDBOX_ADDRESS.v4 : SANDBOX_ADDRESS.v6) as Buffer;
    const serverPort = far.port > 0 && far.port < 65536 ? far.port : c.protocol === 'tcp' ? 80 : 9;
    packets.push(
      ...conversationPackets(
        c,
        index,
        { address: clientAddress, port: c.clientPort & 0xffff },
        { address: serverAddress, port: serverPort },
      ),
    );
    // Stop building once the packet budget is spent: the rest would be thrown away anyway.
    if (packets.length > limits.packets * 2) {
      truncated = true;
      break;
    }
  }
  packets.sort((a, b) => a.time - b.time || a.order[0] - b.order[0] || a.order[1] - b.order[1]);
  const chunks: Buffer[] = [];
  const header = Buffer.alloc(FILE_HEADER);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeInt32LE(0, 8);
  header.writeUInt32LE(0, 12);
  header.writeUInt32LE(SNAPLEN, 16);
  header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  chunks.push(header);
  let size = FILE_HEADER;
  let written = 0;
  for (const p of packets) {
    const length = ETH_HEADER + p.ip.length;
    if (written >= limits.packets || size + RECORD_HEADER + length > limits.fileBytes) {
      truncated = true;
      break;
    }
    const record = Buffer.alloc(RECORD_HEADER + ETH_HEADER);
    const seconds = Math.floor(p.time);
    record.writeUInt32LE(seconds >>> 0, 0);
    record.writeUInt32LE(Math.min(999_999, Math.round((p.time - seconds) * 1e6)), 4);
    record.writeUInt32LE(length, 8);
    record.writeUInt32LE(length, 12);
    (p.fromClient ? GATEWAY_MAC : SANDBOX_MAC).copy(record, RECORD_HEADER);
    (p.fromClient ? SANDBOX_MAC : GATEWAY_MAC).copy(record, RECORD_HEADER + 6);
    record.writeUInt16BE(p.ip[0] !== undefined && p.ip[0] >> 4 === 6 ? 0x86dd : 0x0800, RECORD_HEADER + 12);
    chunks.push(record, p.ip);
    size += RECORD_HEADER + length;
    written++;
  }
  return {
    file: Buffer.concat(chunks),
    packets: written,
    attributed,
    conversations: conversations.length,
    truncated,
  };
}

/** What the fake network keeps for the capture: every value is the sample's to inflate. */
export interface CaptureLimits {
  /** Conversations (TCP connections, UDP exchanges) recorded; later ones are counted only. */
  conversations: number;
  /** Bytes kept of one conversation, both directions together. */
  conversationBytes: number;
  /** Bytes kept of all conversations. */
  totalBytes: number;
  /** Chunks kept of all conversations (a sample sending one byte at a time must not cost an object per byte). */
  segments: number;
}

export const CAPTURE_LIMITS: CaptureLimits = {
  conversations: 2000,
  conversationBytes: 256 * 1024,
  totalBytes: 8 * 1024 * 1024,
  segments: 20_000,
};

/**
 * The writer's limits. With the capture limits above a file stays near 8 MiB of payload plus about
 * 90 bytes of headers a packet; these are the backstop, and the upload refuses anything larger.
 */
export const PCAP_LIMITS: PcapLimits = { packets: 50_000, fileBytes: 16 * 1024 * 1024 };

/**
 * Records the fake network's conversations for the capture, within `CaptureLimits`. Whatever a
 * limit keeps out is dropped at once (never buffered) and the capture is marked truncated.
 */
export class CaptureRecorder {
  /** True once any limit dropped something. */
  truncated = false;
  private readonly kept: Conversation[] = [];
  private readonly sizes = new WeakMap<Conversation, number>();
  private bytes = 0;
  private segments = 0;

  constructor(private readonly limits: CaptureLimits = CAPTURE_LIMITS) {}

  /** A new conversation, or null when the conversation limit is reached. */
  open(
    protocol: 'tcp' | 'udp',
    service: Conversation['service'],
    clientPort: number,
    time: number,
  ): Conversation | null {
    if (this.kept.length >= this.limits.conversations) {
      this.truncated = true;
      return null;
    }
    const c: Conversation = { protocol, service, clientPort, start: time, segments: [], closed: null };
    this.kept.push(c);
    this.sizes.set(c, 0);
    return c;
  }

  /** Keeps what fits of one chunk (copied: the caller's buffer may be reused). */
  add(c: Conversation | null, fromClient: boolean, data: Buffer, time: number): void {
    if (!c || data.length === 0) return;
    const used = this.sizes.get(c) ?? 0;
    const room = Math.min(this.limits.conversationBytes - used, this.limits.totalBytes - this.bytes);
    if (room <= 0 || this.segments >= this.limits.segments) {
      this.truncated = true;
      return;
    }
    const kept = data.length > room ? data.subarray(0, room) : data;
    if (kept.length < data.length) this.truncated = true;
    c.segments.push({ time, fromClient, data: Buffer.from(kept) });
    this.sizes.set(c, used + kept.length);
    this.bytes += kept.length;
    this.segments++;
  }

  /** Marks a TCP conversation closed (the first close wins). */
  close(c: Conversation | null, how: 'fin' | 'reset', time: number): void {
    if (c && !c.closed) c.closed = { time, how };
  }

  /** The conversations so far (the list is a copy; the conversations are the recorder's). */
  conversations(): Conversation[] {
    return [...this.kept];
  }
}
