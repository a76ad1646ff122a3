import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresignedStandIn } from '../detonation/harness';
import { Canaries, detonateThrough, detonatorsUnderTest } from './harness';

/**
 * The network class of the red-team suite as whole detonations: one C sample (compiled by the agent
 * in the sandbox, as any C sample is) runs the inert network probe through every known way round
 * the guard, aimed at the canaries on 127.0.0.1 / ::1 and at an abstract unix canary. However the
 * detonator isolates the run (in-process agent, namespaces, the Docker image), no byte may reach a
 * canary, and the report must still arrive.
 */

const PROBE = fileURLToPath(new URL('./probes/net-probe.c', import.meta.url));

/** One probe run: call, ABI, address form, canary, and whether it must come back refused. */
interface ProbeRow {
  call: string;
  abi: 'x86_64' | 'i386';
  form: string;
  canary: 'tcp4' | 'tcp6' | 'udp4' | 'udp6' | 'abstract';
  refused: boolean;
}

const ROWS: ProbeRow[] = [
  // The bypasses found on the old guard, and their neighbours.
  { call: 'sendto-fastopen', abi: 'x86_64', form: 'v4', canary: 'tcp4', refused: true },
  { call: 'sendto-fastopen', abi: 'x86_64', form: 'v6', canary: 'tcp6', refused: true },
  { call: 'connect', abi: 'x86_64', form: 'v6-24', canary: 'tcp6', refused: false },
  { call: 'sendto', abi: 'x86_64', form: 'v6-24', canary: 'udp6', refused: false },
  { call: 'connect', abi: 'x86_64', form: 'v4-mapped', canary: 'tcp4', refused: false },
  { call: 'sendmsg', abi: 'i386', form: 'v4', canary: 'udp4', refused: true },
  { call: 'sendmmsg', abi: 'i386', form: 'v6', canary: 'udp6', refused: true },
  { call: 'sendmsg-fastopen', abi: 'i386', form: 'v4', canary: 'tcp4', refused: true },
  { call: 'connect', abi: 'i386', form: 'v4', canary: 'tcp4', refused: true },
  { call: 'socketcall-connect', abi: 'i386', form: 'v4', canary: 'tcp4', refused: true },
  { call: 'x32-connect', abi: 'x86_64', form: 'v4', canary: 'tcp4', refused: true },
  { call: 'io_uring_setup', abi: 'x86_64', form: 'v4', canary: 'tcp4', refused: true },
  { call: 'connect', abi: 'x86_64', form: 'unix-abstract', canary: 'abstract', refused: true },
  { call: 'sendto', abi: 'x86_64', form: 'unspec', canary: 'udp4', refused: true },
  { call: 'sendmsg', abi: 'x86_64', form: 'len27', canary: 'udp6', refused: true },
  // The plain ways, which go to the fake network.
  { call: 'connect', abi: 'x86_64', form: 'v4', canary: 'tcp4', refused: false },
  { call: 'sendmmsg', abi: 'x86_64', form: 'v6', canary: 'udp6', refused: false },
];

/** The probe's source with a main that runs every row, each in its own process, then says so. */
function sampleSource(canaries: Canaries, abstractName: string): Buffer {
  const port = (row: ProbeRow) => (row.canary === 'abstract' ? 0 : canaries.ports[row.canary]);
  const rows = ROWS.map((r) => `    {"${r.call}", "${r.abi}", "${r.form}", "${port(r)}"},`).join('\n');
  const driver = `
#undef main
int main(void) {
  static const char *rows[][4] = {
${rows}
  };
  for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    pid_t child = fork();
    if (child == 0) {
      char *argv[] = {"net-probe", (char *)rows[i][0], (char *)rows[i][1], (char *)rows[i][2], (char *)rows[i][3], "${abstractName}", NULL};
      _exit(probe_main(6, argv));
    }
    if (child > 0) waitpid(child, NULL, 0);
  }
  /* Last: descriptor swapping and address rewriting under a connect. */
  pid_t child = fork();
  if (child == 0) {
    char *argv[] = {"net-probe", "race", "x86_64", "unix-path", "${canaries.ports.tcp4}", "/tmp/sandtrap-no-such.sock", NULL};
    _exit(probe_main(6, argv));
  }
  if (child > 0) waitpid(child, NULL, 0);
  puts("NETWORK-PROBES-DONE");
  return 0;
}
`;
  return Buffer.from(`#define main probe_main\n${readFileSync(PROBE, 'utf8')}\n${driver}`);
}

const s3 = new PresignedStandIn();
const canaries = new Canaries();
const abstractName = `sandtrap-canary-${randomBytes(6).toString('hex')}`;
let abstractHits = 0;
let abstractServer: Server | null = null;

beforeAll(async () => {
  await s3.start();
  await canaries.start();
  abstractServer = createServer((socket) => {
    abstractHits++;
    socket.on('error', () => undefined);
    socket.destroy();
  });
  await new Promise<void>((resolve) => abstractServer?.listen(`\0${abstractName}`, resolve));
});

afterAll(async () => {
  await canaries.stop();
  await new Promise<void>((resolve) => (abstractServer ? abstractServer.close(() => resolve()) : resolve()));
  await s3.stop();
});

describe('red team: network isolation', () => {
  for (const { name, detonator } of detonatorsUnderTest()) {
    it(`${name}: no byte of any bypass reaches a canary, and the report arrives`, async () => {
      const { report } = await detonateThrough(
        detonator,
        s3,
        { name: 'network_bypass.c', body: sampleSource(canaries, abstractName) },
        { timeout: 30, idle_timeout: 10, sample_interval: 0.5 },
      );
      expect(report.status).toBe('completed');
      expect(report.sample.preparation).toMatchObject({ method: 'compiled' });
      const tail = report.output.tail;
      expect(tail).toContain('NETWORK-PROBES-DONE');
      // Each row's own verdict, in order, from the probe's JSON lines (the race's last).
      const results = tail
        .split('\n')
        .filter((line) => line.startsWith('{"what"'))
        .map((line) => JSON.parse(line) as { what: string; rc: number });
      expect(results.map((r) => r.what)).toEqual([...ROWS.map((r) => r.call), 'race']);
      ROWS.forEach((row, i) => {
        if (row.refused) expect(results[i], `${row.call} ${row.abi} ${row.form}`).toMatchObject({ rc: -1 });
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(canaries.hits).toEqual([]);
      expect(abstractHits).toBe(0);
    }, 180_000);
  }
});
