import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileC, scratchDirectory } from './guard-runner';

/**
 * The guard's address classifier (container/guard/guard-address.h) on its own, built with
 * AddressSanitizer and UndefinedBehaviorSanitizer: hostile addresses of every family and length,
 * random control data, and a table of what each address form must classify as.
 */

const run = promisify(execFile);
const HARNESS = fileURLToPath(new URL('./guard/address-fuzz.c', import.meta.url));
const AF = { UNIX: 1, INET: 2, INET6: 10, NETLINK: 16 } as const;

let dir = '';
let harness = '';

beforeAll(async () => {
  dir = await scratchDirectory('sandtrap-guard-address-');
  harness = await compileC(HARNESS, join(dir, 'address-fuzz'), [
    '-fsanitize=address,undefined',
    '-fno-sanitize-recover=all',
    '-g',
    '-O1',
    '-Wall',
    '-Werror',
  ]);
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A sockaddr_in / sockaddr_in6 / sockaddr_un / sockaddr_nl as bytes, cut or padded to `len`. */
function sockaddr(family: number, body: Buffer, len?: number): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16LE(family);
  const full = Buffer.concat([head, body]);
  if (len === undefined) return full;
  return Buffer.concat([full, Buffer.alloc(Math.max(0, len - full.length))]).subarray(0, len);
}
const port = (p: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(p);
  return b;
};
const v4 = (ip: string, p = 80, len = 16) =>
  sockaddr(AF.INET, Buffer.concat([port(p), Buffer.from(ip.split('.').map(Number))]), len);
function v6(ip: number[], p = 80, len = 28) {
  return sockaddr(AF.INET6, Buffer.concat([port(p), Buffer.alloc(4), Buffer.from(ip), Buffer.alloc(4)]), len);
}
const loopback6 = [...Array(15).fill(0), 1];
const mapped = (a: number, b: number, c: number, d: number) => [...Array(10).fill(0), 0xff, 0xff, a, b, c, d];

async function classify(domain: number, send: boolean, bytes: Buffer) {
  const { stdout, stderr } = await run(harness, ['classify', String(domain), send ? '1' : '0', bytes.toString('hex')]);
  expect(stderr).toBe('');
  return JSON.parse(stdout) as { kind: string; why: string; ip: string; port: number; metadata: boolean };
}

describe('the guard address classifier', () => {
  it('survives every family, every length 0..136 and random bytes under ASan and UBSan', async () => {
    const { stdout, stderr } = await run(harness, ['fuzz', '12', String(Date.now() % 100000)], {
      env: { ASAN_OPTIONS: 'abort_on_error=0:exitcode=99', UBSAN_OPTIONS: 'print_stacktrace=1' },
      timeout: 60_000,
    });
    expect(stderr).toBe('');
    expect(JSON.parse(stdout).classified).toBeGreaterThan(1_000_000);
  }, 90_000);

  it.each([
    ['a 24-byte sockaddr_in6 (no scope id) is IPv6', AF.INET6, false, v6(loopback6, 80, 24), 'ipv6', '::1'],
    ['a 28-byte sockaddr_in6 is IPv6', AF.INET6, true, v6(loopback6, 53), 'ipv6', '::1'],
    ['a v4-mapped address is the IPv4 it maps', AF.INET6, false, v6(mapped(127, 0, 0, 1)), 'ipv4', '127.0.0.1'],
    [
      'a v4-mapped metadata address is the metadata address',
      AF.INET6,
      true,
      v6(mapped(169, 254, 170, 2), 80, 24),
      'ipv4',
      '169.254.170.2',
    ],
    ['an IPv4 address on an IPv6 socket is IPv4', AF.INET6, false, v4('10.0.0.1'), 'ipv4', '10.0.0.1'],
    ['a long sockaddr_in is IPv4', AF.INET, true, v4('127.0.0.1', 80, 128), 'ipv4', '127.0.0.1'],
  ] as const)('%s', async (_name, domain, send, bytes, kind, ip) => {
    expect(await classify(domain, send, bytes)).toMatchObject({ kind, ip, port: bytes.readUInt16BE(2) });
  });

  it.each([
    ['a 23-byte sockaddr_in6', AF.INET6, false, v6(loopback6, 80, 23), 'address-truncated'],
    ['a 25..27-byte sockaddr_in6 (half a scope id)', AF.INET6, false, v6(loopback6, 80, 27), 'address-truncated'],
    ['a 15-byte sockaddr_in', AF.INET, false, v4('127.0.0.1', 80, 15), 'address-truncated'],
    ['a 3-byte address', AF.INET, true, v4('127.0.0.1', 80, 3), 'address-truncated'],
    ['an empty address', AF.INET, false, Buffer.alloc(0), 'address-truncated'],
    ['a 129-byte address', AF.INET, false, v4('127.0.0.1', 80, 129), 'address-too-long'],
    ['an unknown family', AF.INET, false, sockaddr(0x2a2a, Buffer.alloc(14)), 'family'],
    ['an IPv6 address on an IPv4 socket', AF.INET, false, v6(loopback6), 'family'],
    [
      'AF_UNSPEC naming a destination in a send',
      AF.INET,
      true,
      sockaddr(0, Buffer.from([0, 80, 127, 0, 0, 1]), 16),
      'unspec-destination',
    ],
    ['a unix address without a path', AF.UNIX, false, sockaddr(AF.UNIX, Buffer.alloc(0)), 'address-truncated'],
    [
      'another process’s netlink socket',
      AF.NETLINK,
      true,
      sockaddr(AF.NETLINK, Buffer.from([0, 0, 7, 0, 0, 0, 0, 0, 0, 0])),
      'netlink-peer',
    ],
  ] as const)('refuses %s', async (_name, domain, send, bytes, why) => {
    expect(await classify(domain, send, bytes)).toMatchObject({ kind: 'refuse', why });
  });

  it('tells a disconnect, unix paths, abstract names and the kernel’s netlink apart', async () => {
    expect(await classify(AF.INET, false, sockaddr(0, Buffer.alloc(14)))).toMatchObject({ kind: 'disconnect' });
    expect(await classify(AF.UNIX, false, sockaddr(AF.UNIX, Buffer.from('/run/x.sock')))).toMatchObject({
      kind: 'unix-path',
    });
    expect(await classify(AF.UNIX, true, sockaddr(AF.UNIX, Buffer.from('\0bus')))).toMatchObject({
      kind: 'unix-abstract',
    });
    expect(await classify(AF.NETLINK, true, sockaddr(AF.NETLINK, Buffer.alloc(10)))).toMatchObject({
      kind: 'netlink-kernel',
    });
  });

  it('marks the host’s own addresses, v4-mapped included', async () => {
    expect(await classify(AF.INET, false, v4('127.8.9.10'))).toMatchObject({ local: true });
    expect(await classify(AF.INET, false, v4('0.0.0.0'))).toMatchObject({ local: true });
    expect(await classify(AF.INET6, false, v6(loopback6))).toMatchObject({ local: true });
    expect(await classify(AF.INET6, false, v6(Array(16).fill(0)))).toMatchObject({ local: true });
    expect(await classify(AF.INET6, false, v6(mapped(127, 0, 0, 1), 80, 24))).toMatchObject({ local: true });
    expect(await classify(AF.INET, false, v4('203.0.113.10'))).toMatchObject({ local: false });
  });

  it('marks link-local and cloud metadata addresses', async () => {
    expect(await classify(AF.INET, false, v4('169.254.169.254'))).toMatchObject({ metadata: true });
    expect(await classify(AF.INET6, false, v6([0xfe, 0x80, ...Array(13).fill(0), 1]))).toMatchObject({
      metadata: true,
    });
    expect(await classify(AF.INET6, false, v6([0xfd, 0, 0x0e, 0xc2, ...Array(11).fill(0), 0x23]))).toMatchObject({
      metadata: true,
    });
    expect(await classify(AF.INET, false, v4('127.0.0.1'))).toMatchObject({ metadata: false });
  });
});
