import { describe, expect, it } from 'vitest';
import {
  addressBytes,
  CaptureRecorder,
  type Conversation,
  internetChecksum,
  SANDBOX_ADDRESS,
  writePcap,
} from '../../container/agent/pcap';

/** The pcap writer, read back by a parser written here from the format's specification. */

interface Parsed {
  time: number;
  version: 4 | 6;
  src: string;
  dst: string;
  protocol: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  payload: Buffer;
  ipChecksumOk: boolean;
  transportChecksumOk: boolean;
}

function parse(file: Buffer): { linktype: number; packets: Parsed[] } {
  expect(file.readUInt32LE(0)).toBe(0xa1b2c3d4);
  expect([file.readUInt16LE(4), file.readUInt16LE(6)]).toEqual([2, 4]);
  const linktype = file.readUInt32LE(20);
  const packets: Parsed[] = [];
  let at = 24;
  while (at < file.length) {
    const time = file.readUInt32LE(at) + file.readUInt32LE(at + 4) / 1e6;
    const incl = file.readUInt32LE(at + 8);
    expect(file.readUInt32LE(at + 12)).toBe(incl);
    const frame = file.subarray(at + 16, at + 16 + incl);
    expect(frame.length).toBe(incl);
    at += 16 + incl;
    const ethertype = frame.readUInt16BE(12);
    const ip = frame.subarray(14);
    const version = (ip[0] as number) >> 4;
    expect(ethertype).toBe(version === 4 ? 0x0800 : 0x86dd);
    let headerLength: number;
    let protocol: number;
    let src: Buffer;
    let dst: Buffer;
    let ipChecksumOk = true;
    if (version === 4) {
      headerLength = ((ip[0] as number) & 0x0f) * 4;
      expect(ip.readUInt16BE(2)).toBe(ip.length);
      protocol = ip[9] as number;
      src = ip.subarray(12, 16);
      dst = ip.subarray(16, 20);
      ipChecksumOk = internetChecksum(ip.subarray(0, headerLength)) === 0;
    } else {
      headerLength = 40;
      expect(ip.readUInt16BE(4)).toBe(ip.length - 40);
      protocol = ip[6] as number;
      src = ip.subarray(8, 24);
      dst = ip.subarray(24, 40);
    }
    const transport = ip.subarray(headerLength);
    const pseudo =
      version === 4
        ? Buffer.concat([src, dst, Buffer.from([0, protocol, transport.length >> 8, transport.length & 0xff])])
        : Buffer.concat([
            src,
            dst,
            Buffer.from([0, 0, transport.length >> 8, transport.length & 0xff, 0, 0, 0, protocol]),
          ]);
    const transportChecksumOk = internetChecksum(pseudo, transport) === 0;
    const tcp = protocol === 6;
    const dataOffset = tcp ? ((transport[12] as number) >> 4) * 4 : 8;
    if (!tcp) expect(transport.readUInt16BE(4)).toBe(transport.length);
    const text = (b: Buffer) => (b.length === 4 ? [...b].join('.') : b.toString('hex'));
    packets.push({
      time,
      version: version as 4 | 6,
      src: text(src),
      dst: text(dst),
      protocol,
      srcPort: transport.readUInt16BE(0),
      dstPort: transport.readUInt16BE(2),
      seq: tcp ? transport.readUInt32BE(4) : 0,
      ack: tcp ? transport.readUInt32BE(8) : 0,
      flags: tcp ? (transport[13] as number) : 0,
      payload: transport.subarray(dataOffset),
      ipChecksumOk,
      transportChecksumOk,
    });
  }
  return { linktype, packets };
}

const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;
const RST = 0x04;
const LIMITS = { packets: 10_000, fileBytes: 16 * 1024 * 1024 };

function httpConversation(): Conversation {
  return {
    protocol: 'tcp',
    service: 'tcp',
    clientPort: 40001,
    start: 1_700_000_000.25,
    segments: [
      {
        time: 1_700_000_000.3,
        fromClient: true,
        data: Buffer.from('GET /gate.php HTTP/1.1\r\nHost: c2.example.test\r\n\r\n'),
      },
      { time: 1_700_000_000.4, fromClient: false, data: Buffer.alloc(3000, 0x41) },
    ],
    closed: { time: 1_700_000_000.5, how: 'fin' },
  };
}

describe('the pcap writer', () => {
  it('writes a TCP conversation with its handshake, sequence numbers that follow the bytes, the close, and valid checksums', () => {
    const result = writePcap([httpConversation()], () => ({ address: '203.0.113.7', port: 8080 }), LIMITS);
    const { linktype, packets } = parse(result.file);
    expect(linktype).toBe(1);
    expect(result).toMatchObject({ packets: packets.length, attributed: 1, conversations: 1, truncated: false });
    expect(packets.every((p) => p.ipChecksumOk && p.transportChecksumOk)).toBe(true);
    const [syn, synAck, ack, request, ...rest] = packets as [Parsed, Parsed, Parsed, Parsed, ...Parsed[]];
    expect(syn).toMatchObject({
      src: SANDBOX_ADDRESS.v4,
      dst: '203.0.113.7',
      srcPort: 40001,
      dstPort: 8080,
      flags: SYN,
    });
    expect(synAck).toMatchObject({ src: '203.0.113.7', flags: SYN | ACK, ack: (syn.seq + 1) >>> 0 });
    expect(ack).toMatchObject({ flags: ACK, seq: (syn.seq + 1) >>> 0, ack: (synAck.seq + 1) >>> 0 });
    expect(request.payload.toString()).toContain('Host: c2.example.test');
    expect(request.seq).toBe((syn.seq + 1) >>> 0);
    // 3000 bytes from the server: cut to the MSS, each piece where the last one ended.
    const response = rest.filter((p) => p.src === '203.0.113.7' && p.payload.length > 0);
    expect(response.map((p) => p.payload.length)).toEqual([1460, 1460, 80]);
    expect(response[1]?.seq).toBe(((response[0]?.seq ?? 0) + 1460) >>> 0);
    const fins = rest.filter((p) => p.flags & FIN);
    expect(fins).toHaveLength(2);
    expect(fins[1]?.ack).toBe(((fins[0]?.seq ?? 0) + 1) >>> 0);
    expect(packets.map((p) => p.time)).toEqual([...packets.map((p) => p.time)].sort((a, b) => a - b));
    expect(packets[0]?.time).toBeCloseTo(1_700_000_000.25, 5);
  });

  it('writes DNS as UDP datagrams, IPv6 destinations as IPv6 and IPv4-mapped ones as IPv4, a reset as RST', () => {
    const dns: Conversation = {
      protocol: 'udp',
      service: 'dns',
      clientPort: 5353,
      start: 10,
      segments: [
        { time: 10, fromClient: true, data: Buffer.from('query') },
        { time: 10.001, fromClient: false, data: Buffer.from('answer!') },
      ],
      closed: null,
    };
    const v6: Conversation = {
      ...httpConversation(),
      clientPort: 40002,
      closed: { time: 1_700_000_001, how: 'reset' },
    };
    const mapped: Conversation = { ...httpConversation(), clientPort: 40003 };
    const far = new Map<number, { address: string; port: number }>([
      [5353, { address: '127.0.0.1', port: 53 }],
      [40002, { address: '2001:db8::1', port: 443 }],
      [40003, { address: '::ffff:198.51.100.9', port: 80 }],
    ]);
    const { packets } = parse(writePcap([dns, v6, mapped], (c) => far.get(c.clientPort) ?? null, LIMITS).file);
    expect(packets.every((p) => p.ipChecksumOk && p.transportChecksumOk)).toBe(true);
    const udp = packets.filter((p) => p.protocol === 17);
    expect(udp.map((p) => [p.srcPort, p.dstPort, p.payload.toString()])).toEqual([
      [5353, 53, 'query'],
      [53, 5353, 'answer!'],
    ]);
    const six = packets.filter((p) => p.version === 6);
    expect(six[0]).toMatchObject({ dst: '20010db8000000000000000000000001', dstPort: 443 });
    expect(six.at(-1)?.flags).toBe(RST | ACK);
    expect(packets.some((p) => p.dst === '198.51.100.9' && p.version === 4)).toBe(true);
  });

  it('shows the fake network as the far end of a conversation the guard has no record of', () => {
    const result = writePcap([httpConversation()], () => null, LIMITS);
    expect(result.attributed).toBe(0);
    expect(parse(result.file).packets[0]).toMatchObject({ dst: '127.0.0.1', dstPort: 80 });
  });

  it('stops at the packet and file limits and says it was truncated', () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ ...httpConversation(), clientPort: 41000 + i }));
    const byPackets = writePcap(many, () => null, { packets: 20, fileBytes: LIMITS.fileBytes });
    expect(byPackets).toMatchObject({ packets: 20, truncated: true });
    expect(parse(byPackets.file).packets).toHaveLength(20);
    const bySize = writePcap(many, () => null, { packets: LIMITS.packets, fileBytes: 4096 });
    expect(bySize.truncated).toBe(true);
    expect(bySize.file.length).toBeLessThanOrEqual(4096);
    expect(parse(bySize.file).packets.length).toBe(bySize.packets);
    expect(writePcap(many, () => null, LIMITS).truncated).toBe(false);
  });
});

describe('the capture recorder', () => {
  it('keeps at most the per-conversation, total and conversation limits, and says so', () => {
    const rec = new CaptureRecorder({ conversations: 2, conversationBytes: 10, totalBytes: 15, segments: 100 });
    const a = rec.open('tcp', 'tcp', 1, 0);
    rec.add(a, true, Buffer.alloc(8, 1), 0);
    expect(rec.truncated).toBe(false);
    rec.add(a, true, Buffer.alloc(8, 2), 0);
    expect(a?.segments.map((s) => s.data.length)).toEqual([8, 2]);
    expect(rec.truncated).toBe(true);
    const b = rec.open('udp', 'udp', 2, 0);
    rec.add(b, true, Buffer.alloc(20), 0);
    expect(b?.segments.map((s) => s.data.length)).toEqual([5]); // the total's remainder
    expect(rec.open('tcp', 'tcp', 3, 0)).toBeNull();
    expect(rec.conversations()).toHaveLength(2);
  });

  it('bounds the number of chunks, however small each one is', () => {
    const rec = new CaptureRecorder({ conversations: 10, conversationBytes: 1000, totalBytes: 1000, segments: 5 });
    const c = rec.open('tcp', 'tcp', 1, 0);
    for (let i = 0; i < 100; i++) rec.add(c, true, Buffer.from([i]), 0);
    expect(c?.segments).toHaveLength(5);
    expect(rec.truncated).toBe(true);
  });

  it('copies what it keeps (the caller may reuse its buffer)', () => {
    const rec = new CaptureRecorder();
    const c = rec.open('tcp', 'tcp', 1, 0);
    const chunk = Buffer.from('abc');
    rec.add(c, true, chunk, 0);
    chunk.fill(0);
    expect(c?.segments[0]?.data.toString()).toBe('abc');
  });
});

describe('addresses', () => {
  it('parses IPv4, IPv6 with :: and embedded IPv4, and refuses anything else', () => {
    expect([...(addressBytes('10.0.2.15') ?? [])]).toEqual([10, 0, 2, 15]);
    expect(addressBytes('::1')?.toString('hex')).toBe('00000000000000000000000000000001');
    expect(addressBytes('fe80::1:2')?.toString('hex')).toBe('fe800000000000000000000000010002');
    expect(addressBytes('::ffff:1.2.3.4')?.toString('hex')).toBe('00000000000000000000ffff01020304');
    expect(addressBytes('2001:db8:0:0:0:0:0:1')?.toString('hex')).toBe('20010db8000000000000000000000001');
    expect(addressBytes('example.test')).toBeNull();
    expect(addressBytes('')).toBeNull();
  });
});
