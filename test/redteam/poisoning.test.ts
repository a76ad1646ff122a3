import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresignedStandIn } from '../detonation/harness';
import { Canaries, detonateThrough, detonatorsUnderTest } from './harness';

/**
 * A sample must not reach the running pipeline's own emulators: on the host network, a probe once
 * wrote a benign cached verdict into the local DynamoDB emulator for another file's sha256. Here a
 * dynalite and an S3-like listener on 127.0.0.1 and ::1 play those emulators, with the red-team
 * canaries beside them. Inert probes (python and bash) are handed every port and also discover
 * listening ports through /proc/net/tcp{,6}; they try to put a verdict item and read an object by
 * TCP over both families. A control run of the same probes outside the sandbox shows they would
 * succeed; through each detonator nothing may arrive, and the report must.
 */

const TABLE = 'Verdicts';
const SECRET_OBJECT = 'sandtrap-ingest/quarantine/secret-object';
const POISON_SHA = 'a'.repeat(64);

interface Targets {
  dynamodb: [string, number][];
  s3: [string, number][];
  tcp: [string, number][];
  udp: [string, number][];
  /** Whether to try the listening ports /proc/net shows (never in the control: those are the host's). */
  discover: boolean;
}

/** An S3-shaped HTTP listener that serves one object and records every request. */
class ObjectStore {
  readonly requests: string[] = [];
  private server: Server | null = null;
  port = 0;

  async start(host: string): Promise<void> {
    this.server = createServer((req: IncomingMessage, res) => {
      this.requests.push(`${req.method} ${req.url}`);
      req.resume();
      if (req.method === 'GET' && req.url === `/${SECRET_OBJECT}`) res.writeHead(200).end('secret object body');
      else res.writeHead(404).end('NoSuchKey');
    });
    await new Promise<void>((resolve) => this.server?.listen(0, host, resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }
}

/** A dynalite on one loopback address, with the verdict table. */
class VerdictStore {
  private server: Server | null = null;
  private client: DynamoDBClient | null = null;
  port = 0;

  async start(host: string): Promise<void> {
    const server: Server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.client = new DynamoDBClient({
      endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await this.reset();
  }

  /** Drops and recreates the table (after the control run). */
  async reset(): Promise<void> {
    const client = this.client as DynamoDBClient;
    const { TableNames = [] } = await client.send(new ListTablesCommand({}));
    if (TableNames.includes(TABLE)) await client.send(new DeleteTableCommand({ TableName: TABLE }));
    await client.send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [{ AttributeName: 'sha256', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'sha256', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  }

  async items(): Promise<number> {
    const { Count = 0 } = await (this.client as DynamoDBClient).send(new ScanCommand({ TableName: TABLE }));
    return Count;
  }

  stop(): Promise<void> {
    this.client?.destroy();
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }
}

/** The python probe: every target it is given, then every listening port /proc/net shows it. */
function pythonProbe(targets: Targets): Buffer {
  return Buffer.from(`import json, socket
T = json.loads(${JSON.stringify(JSON.stringify(targets))})
ITEM = json.dumps({"TableName": "${TABLE}", "Item": {"sha256": {"S": "${POISON_SHA}"}, "verdict": {"S": "benign"}}})
def put_item(host, port):
    return ("POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/x-amz-json-1.0\\r\\n"
            "X-Amz-Target: DynamoDB_20120810.PutItem\\r\\nX-Amz-Date: 20260101T000000Z\\r\\n"
            "Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=00\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n%s"
            % (len(ITEM), ITEM)).encode()
def get_object(host, port):
    return ("GET /${SECRET_OBJECT} HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n").encode()
def send(host, port, payload):
    try:
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1)
        s.connect((host, port))
        s.sendall(payload)
        data = s.recv(200)
        s.close()
        return data[:40].decode("latin1")
    except OSError as e:
        return "error: %s" % e.strerror
seen = []
for host, port in T["dynamodb"]:
    seen.append(send(host, port, put_item(host, port)))
for host, port in T["s3"]:
    seen.append(send(host, port, get_object(host, port)))
for host, port in T["tcp"]:
    seen.append(send(host, port, b"CANARY-TCP"))
for host, port in T["udp"]:
    try:
        u = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(b"CANARY-UDP", (host, port))
        u.close()
    except OSError:
        pass
discovered = []
for path, host in (("/proc/net/tcp", "127.0.0.1"), ("/proc/net/tcp6", "::1")):
    try:
        lines = open(path).read().splitlines()[1:]
    except OSError:
        continue
    for line in lines:
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A":
            discovered.append((host, int(fields[1].rsplit(":", 1)[1], 16)))
for host, port in (discovered[:40] if T["discover"] else []):
    seen.append(send(host, port, put_item(host, port)))
    seen.append(send(host, port, get_object(host, port)))
print("POISON " + json.dumps({"discovered": len(discovered), "answers": len(seen)}))
`);
}

/** The bash probe: /dev/tcp over both families to the given ports and to the discovered ones. */
function bashProbe(targets: Targets): Buffer {
  const pairs = [...targets.dynamodb, ...targets.s3, ...targets.tcp].map(([h, p]) => `${h}/${p}`).join(' ');
  return Buffer.from(`#!/bin/bash
body='{"TableName":"${TABLE}","Item":{"sha256":{"S":"${POISON_SHA}"},"verdict":{"S":"benign"}}}'
request() {
  printf 'POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/x-amz-json-1.0\\r\\nX-Amz-Target: DynamoDB_20120810.PutItem\\r\\nX-Amz-Date: 20260101T000000Z\\r\\nAuthorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n%s' "\${#body}" "$body"
}
try() {
  { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 0
  request >&3; timeout 1 head -c 40 <&3 >/dev/null; exec 3>&-
  { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 0
  printf 'GET /${SECRET_OBJECT} HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' >&3; timeout 1 head -c 40 <&3 >/dev/null; exec 3>&-
}
for target in ${pairs}; do try "\${target%/*}" "\${target##*/}"; done
n=0
${targets.discover ? '' : 'exit 0\n'}for port in $(awk '$4=="0A"{split($2,a,":"); print a[2]}' /proc/net/tcp | head -n 20); do try 127.0.0.1 $((16#$port)); n=$((n+1)); done
for port in $(awk '$4=="0A"{n=split($2,a,":"); print a[n]}' /proc/net/tcp6 | head -n 20); do try ::1 $((16#$port)); n=$((n+1)); done
echo "POISON-SH discovered=$n"
`);
}

/** Runs a probe directly on the host (the control): the same inert code, no sandbox. */
function runOnHost(interpreter: string, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(interpreter, ['-c', body.toString('utf8')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

/** Room for every attempt: a connection that is never answered costs the probe its 1 s timeout. */
const PROBE_CONFIG = { timeout: 30, idle_timeout: 15, sample_interval: 0.25 };

const probes = [
  { name: 'poison.py', interpreter: 'python3', make: pythonProbe },
  { name: 'poison.sh', interpreter: 'bash', make: bashProbe },
] as const;

const s3 = new PresignedStandIn();
const canaries = new Canaries();
const verdicts = { v4: new VerdictStore(), v6: new VerdictStore() };
const objects = { v4: new ObjectStore(), v6: new ObjectStore() };
let targets: Targets;

const totalItems = async () => (await verdicts.v4.items()) + (await verdicts.v6.items());
const objectRequests = () => [...objects.v4.requests, ...objects.v6.requests];

beforeAll(async () => {
  await s3.start();
  await canaries.start();
  await verdicts.v4.start('127.0.0.1');
  await verdicts.v6.start('::1');
  await objects.v4.start('127.0.0.1');
  await objects.v6.start('::1');
  // Every target listens on both loopbacks: a guard that only knew one family would show here.
  const loopbacks = (v4: number, v6: number): [string, number][] => [
    ['127.0.0.1', v4],
    ['::1', v6],
  ];
  targets = {
    dynamodb: loopbacks(verdicts.v4.port, verdicts.v6.port),
    s3: loopbacks(objects.v4.port, objects.v6.port),
    tcp: loopbacks(canaries.ports.tcp4, canaries.ports.tcp6),
    udp: loopbacks(canaries.ports.udp4, canaries.ports.udp6),
    discover: true,
  };
}, 60_000);

afterAll(async () => {
  await Promise.all([verdicts.v4.stop(), verdicts.v6.stop(), objects.v4.stop(), objects.v6.stop()]);
  await canaries.stop();
  await s3.stop();
});

describe('the pipeline emulators, attacked from outside any sandbox (control)', () => {
  it.each(probes)('$name writes the verdict item and reads the object when not sandboxed', async (probe) => {
    await runOnHost(probe.interpreter, probe.make({ ...targets, discover: false }));
    expect(await verdicts.v4.items()).toBe(1);
    expect(await verdicts.v6.items()).toBe(1);
    expect(objectRequests()).toEqual(expect.arrayContaining([`GET /${SECRET_OBJECT}`]));
    await expect.poll(() => new Set(canaries.hits.map((h) => h.canary)).size).toBeGreaterThanOrEqual(2);
    // Back to a clean slate for the detonations.
    await verdicts.v4.reset();
    await verdicts.v6.reset();
    objects.v4.requests.length = 0;
    objects.v6.requests.length = 0;
    canaries.hits.length = 0;
  });
});

for (const { name, detonator } of detonatorsUnderTest()) {
  describe(`the pipeline emulators, attacked from a sample in the ${name} detonator`, () => {
    it.each(probes)(
      '$name reaches neither DynamoDB nor S3 nor a canary, and its report arrives',
      async (probe) => {
        const { report, exitCode } = await detonateThrough(
          detonator,
          s3,
          { name: probe.name, body: probe.make(targets) },
          PROBE_CONFIG,
        );
        expect(exitCode).toBe(0);
        expect(report.status, report.error ?? '').toBe('completed');
        // The probe ran to its end (it printed its summary), so every attempt was made, including
        // the listening ports it found in /proc/net (the fake network's, inside a box).
        expect(
          report.output.tail,
          JSON.stringify({ e: report.endReason, n: report.notes, p: report.processes, l: report.limitsHit }),
        ).toMatch(/POISON(-SH)? .*discovered"?[=:] ?[1-9]/);
        expect(await totalItems()).toBe(0);
        expect(objectRequests()).toEqual([]);
        expect(canaries.hits).toEqual([]);
      },
      120_000,
    );
  });
}
