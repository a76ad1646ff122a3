import { chmod, mkdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Canaries } from '../redteam/harness';
import { NET_PROBE_SOURCE, probeResult, runGuarded, useGuardBench } from './guard-runner';

/**
 * Every way the guard knows to name a peer, in both system call ABIs a 64-bit sample can use, with
 * every address form: an inert probe (test/redteam/probes/net-probe.c) aims each at the red-team
 * canaries on 127.0.0.1 / ::1 from an unprivileged uid under the guard, and each row says what must
 * happen: redirected to the fake network, connected (a unix path the caller may use), or refused
 * with a given errno (and, where the guard decides it rather than its filter, logged with a reason).
 * No row may put a byte on a canary.
 */

const { EPERM, EACCES, ENOSYS } = constants.errno;

type Port = 'tcp4' | 'tcp6' | 'udp4' | 'udp6';
type Expect =
  | { outcome: 'redirected'; proto: 'tcp' | 'udp' }
  | { outcome: 'connected' }
  | { outcome: 'refused'; errno: number; reason?: string }
  | { outcome: 'no-canary' };

interface Row {
  call: string;
  abi: 'x86_64' | 'i386';
  form: string;
  port: Port;
  /** The unix socket the probe names: the open one, the root-only one, or the abstract canary. */
  unix?: 'open' | 'private' | 'abstract';
  expect: Expect;
}

const refused = (errno: number, reason?: string): Expect => ({
  outcome: 'refused',
  errno,
  ...(reason ? { reason } : {}),
});

function rows(): Row[] {
  const list: Row[] = [];
  const ipForms: [string, Port, Port][] = [
    ['v4', 'tcp4', 'udp4'],
    ['v6', 'tcp6', 'udp6'],
    ['v6-24', 'tcp6', 'udp6'],
    ['v4-mapped', 'tcp4', 'udp4'],
  ];
  for (const abi of ['x86_64', 'i386'] as const) {
    const native = abi === 'x86_64';
    for (const [form, tcp, udp] of ipForms) {
      list.push({
        call: 'connect',
        abi,
        form,
        port: tcp,
        expect: native ? { outcome: 'redirected', proto: 'tcp' } : refused(EPERM),
      });
      for (const call of ['sendto', 'sendmsg', 'sendmmsg'])
        list.push({
          call,
          abi,
          form,
          port: udp,
          expect: native ? { outcome: 'redirected', proto: 'udp' } : refused(EPERM),
        });
    }
    for (const [form, tcp] of ipForms.slice(0, 3)) {
      // TCP Fast Open: a connect hidden in a send, refused by the filter itself.
      list.push({ call: 'sendto-fastopen', abi, form, port: tcp, expect: refused(EPERM) });
      list.push({ call: 'sendmsg-fastopen', abi, form, port: tcp, expect: refused(EPERM) });
    }
    list.push({
      call: 'connect',
      abi,
      form: 'unix-abstract',
      port: 'tcp4',
      unix: 'abstract',
      expect: native ? refused(EPERM, 'abstract-unix') : refused(EPERM),
    });
    list.push({
      call: 'connect',
      abi,
      form: 'unix-path',
      port: 'tcp4',
      unix: 'open',
      expect: native ? { outcome: 'connected' } : refused(EPERM),
    });
    list.push({ call: 'io_uring_setup', abi, form: 'v4', port: 'tcp4', expect: refused(native ? ENOSYS : EPERM) });
  }
  list.push(
    { call: 'socketcall-connect', abi: 'i386', form: 'v4', port: 'tcp4', expect: refused(EPERM) },
    { call: 'x32-connect', abi: 'x86_64', form: 'v4', port: 'tcp4', expect: refused(EPERM) },
    // The guard checks the path as the caller: a socket in a root-only directory stays out of reach.
    { call: 'connect', abi: 'x86_64', form: 'unix-path', port: 'tcp4', unix: 'private', expect: refused(EACCES) },
    { call: 'sendto', abi: 'x86_64', form: 'unix-abstract', port: 'udp4', unix: 'abstract', expect: refused(EPERM) },
    { call: 'connect', abi: 'x86_64', form: 'len3', port: 'tcp4', expect: refused(EPERM, 'address-truncated') },
    { call: 'connect', abi: 'x86_64', form: 'len15', port: 'tcp4', expect: refused(EPERM, 'address-truncated') },
    { call: 'connect', abi: 'x86_64', form: 'len27', port: 'tcp6', expect: refused(EPERM, 'address-truncated') },
    { call: 'sendto', abi: 'x86_64', form: 'len15', port: 'udp4', expect: refused(EPERM, 'address-truncated') },
    { call: 'sendmsg', abi: 'x86_64', form: 'len27', port: 'udp6', expect: refused(EPERM, 'address-truncated') },
    { call: 'sendmmsg', abi: 'x86_64', form: 'len3', port: 'udp4', expect: refused(EPERM, 'address-truncated') },
    { call: 'connect', abi: 'x86_64', form: 'unknown-family', port: 'tcp4', expect: refused(EPERM, 'family') },
    { call: 'sendto', abi: 'x86_64', form: 'unknown-family', port: 'udp4', expect: refused(EPERM, 'family') },
    { call: 'sendmsg', abi: 'x86_64', form: 'unknown-family', port: 'udp4', expect: refused(EPERM, 'family') },
    // An IPv4 UDP send reads an AF_UNSPEC address as IPv4: refused, not passed on as "no address".
    { call: 'sendto', abi: 'x86_64', form: 'unspec', port: 'udp4', expect: refused(EPERM, 'unspec-destination') },
    { call: 'sendmsg', abi: 'x86_64', form: 'unspec', port: 'udp4', expect: refused(EPERM, 'unspec-destination') },
    // One thread connects through a descriptor number another keeps swapping between a unix and a
    // TCP socket, with the address rewritten under it: nothing the kernel re-reads after the check.
    { call: 'race', abi: 'x86_64', form: 'unix-path', port: 'tcp4', unix: 'open', expect: { outcome: 'no-canary' } },
  );
  return list;
}

const canaries = new Canaries();
const bench = useGuardBench('sandtrap-guard-matrix-', NET_PROBE_SOURCE, ['-O1']);
const { fake } = bench;
const unixServers: Server[] = [];
const unixHits = { open: 0, private: 0, abstract: 0, hidden: 0 };
const unixNames = { open: '', private: '', abstract: '' };

async function listenUnix(name: string, kind: keyof typeof unixHits): Promise<void> {
  const server = createServer((socket) => {
    unixHits[kind]++;
    socket.on('error', () => undefined);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(name, resolve);
  });
  unixServers.push(server);
}

beforeAll(async () => {
  await canaries.start();
  unixNames.open = join(bench.dir, 'open.sock');
  await listenUnix(unixNames.open, 'open');
  await chmod(unixNames.open, 0o777);
  const privateDir = join(bench.dir, 'root-only');
  await mkdir(privateDir, { mode: 0o700 });
  unixNames.private = join(privateDir, 'private.sock');
  await listenUnix(unixNames.private, 'private');
  await mkdir(join(bench.dir, 'hidden'), { mode: 0o755 });
  await listenUnix(join(bench.dir, 'hidden', 'open.sock'), 'hidden');
  await chmod(join(bench.dir, 'hidden', 'open.sock'), 0o777);
  unixNames.abstract = `sandtrap-canary-${randomBytes(6).toString('hex')}`;
  await listenUnix(`\0${unixNames.abstract}`, 'abstract');
}, 60_000);

afterAll(async () => {
  await canaries.stop();
  await Promise.all(unixServers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

describe('the guard against every way of naming a peer', () => {
  let index = 0;
  for (const row of rows()) {
    const name = `${row.call} ${row.abi} ${row.form}${row.unix ? ` (${row.unix})` : ''}: ${row.expect.outcome}`;
    it(name, async () => {
      const log = join(bench.dir, `row${index++}.log`);
      const unixName = row.unix ? unixNames[row.unix] : 'unused';
      const before = { fake: fake.hits.length, unix: { ...unixHits } };
      const stdout = await runGuarded(bench.guard, fake, log, [
        bench.probe,
        row.call,
        row.abi,
        row.form,
        String(canaries.ports[row.port]),
        unixName,
      ]);
      const result = probeResult(stdout);
      const entries = (await readFile(log, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const expected = row.expect;
      if (expected.outcome === 'redirected') {
        expect(result).toMatchObject({ rc: expect.any(Number), errno: 0 });
        expect(result.rc).toBeGreaterThanOrEqual(0);
        await expect
          .poll(() =>
            fake.hits.slice(before.fake).some((h) => h.proto === expected.proto && h.first === 'SANDTRAP-PROBE'),
          )
          .toBe(true);
        expect(entries).toContainEqual(expect.objectContaining({ action: 'redirect', result: expect.any(Number) }));
      } else if (expected.outcome === 'connected') {
        expect(result).toMatchObject({ rc: 0, errno: 0 });
        await expect.poll(() => unixHits.open).toBe(before.unix.open + 1);
      } else if (expected.outcome === 'refused') {
        expect(result).toMatchObject({ rc: -1, errno: expected.errno });
        expect(fake.hits.length).toBe(before.fake);
        if (expected.reason)
          expect(entries).toContainEqual(expect.objectContaining({ action: 'block', reason: expected.reason }));
      }
      // Only the open unix socket may ever see a connection.
      expect(unixHits.private).toBe(0);
      expect(unixHits.abstract).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(canaries.hits).toEqual([]);
    }, 30_000);
  }

  // With real network access (mode pass) the destination is kept, but never the host's own loopback.
  for (const [call, form, port] of [
    ['connect', 'v4', 'tcp4'],
    ['connect', 'v6-24', 'tcp6'],
    ['connect', 'v4-mapped', 'tcp4'],
    ['sendto', 'v6', 'udp6'],
    ['sendmsg', 'v4-mapped', 'udp4'],
  ] as const) {
    it(`${call} x86_64 ${form} with network access: refused (loopback)`, async () => {
      const log = join(bench.dir, `pass-${call}-${form}.log`);
      const stdout = await runGuarded(
        bench.guard,
        fake,
        log,
        [bench.probe, call, 'x86_64', form, String(canaries.ports[port]), 'unused'],
        'pass',
      );
      expect(probeResult(stdout)).toMatchObject({ rc: -1, errno: EPERM });
      expect(await readFile(log, 'utf8')).toMatch(/"action":"block","reason":"loopback"/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(canaries.hits).toEqual([]);
    });
  }

  it('resolves a unix path in the caller’s mount namespace, not the guard’s', async () => {
    // The guard sees the socket; the sample's private tmpfs over its directory hides it.
    const log = join(bench.dir, 'mountns.log');
    const hidden = join(bench.dir, 'hidden');
    const stdout = await runGuarded(
      bench.guard,
      fake,
      log,
      [bench.probe, 'connect', 'x86_64', 'unix-path', '0', join(hidden, 'open.sock')],
      'redirect',
      [hidden],
    );
    expect(await readFile(log, 'utf8')).toMatch(/"event":"mountns","ok":true/);
    expect(probeResult(stdout)).toMatchObject({ rc: -1, errno: constants.errno.ENOENT });
    expect(unixHits.hidden).toBe(0);
  });

  it('leaves every canary untouched at the end', async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(canaries.hits).toEqual([]);
    expect(unixHits.private + unixHits.abstract).toBe(0);
  });
});
