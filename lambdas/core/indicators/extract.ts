import { isIPv4, isIPv6 } from 'node:net';
import type { DetonationReport, FileOperationKind } from '../contracts/detonation-report';
import type { VerdictDocument } from '../contracts/pipeline';

/**
 * The indicators of compromise of one verdict: what an analyst blocks or hunts for elsewhere. They
 * are gathered from every part of the verdict (the sample's hashes, the static engine's unpacked
 * members and findings, the vendors' contacted hosts, the detonation's DNS, connections, HTTP, TLS,
 * strings and written files). All of it was shaped by the sample, so each value is validated for
 * its type, normalised, deduplicated and the list bounded before anything exports it.
 */

/** The kinds of indicator, in the order exports list them. */
export const IOC_TYPES = ['sha256', 'sha1', 'md5', 'domain', 'ipv4', 'ipv6', 'url', 'file-path'] as const;
export type IocType = (typeof IOC_TYPES)[number];

/** Where an indicator was found: `sample`, `static`, `vendor:<engine>`, `detonation:<part>`. */
export type IocSource = string;

export interface Ioc {
  type: IocType;
  value: string;
  /** Every part of the verdict that named it, first first (at most {@link IOC_LIMITS.sources}). */
  sources: IocSource[];
}

export interface IocList {
  items: Ioc[];
  /** Distinct valid indicators found, kept or not. */
  count: number;
  /** True when some were left out by {@link IOC_LIMITS}. */
  truncated: boolean;
}

/**
 * Bounds: a sample can resolve thousands of names or write thousands of files; an export that
 * lists all of them is neither readable nor safe to load into a blocking list unreviewed.
 */
export const IOC_LIMITS = { perType: 200, total: 600, valueChars: 2048, pathChars: 1024, sources: 4 } as const;

const HEX = { sha256: /^[0-9a-f]{64}$/, sha1: /^[0-9a-f]{40}$/, md5: /^[0-9a-f]{32}$/ } as const;

/** A host name: labels of letters, digits, `-` and `_`, and an alphabetic top-level label (so `a.out` of digits is not one). */
const DOMAIN = /^(?=.{4,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Top-level labels that name no public domain: what a sandbox's fake resolver or a file name
 * (`libc.so`, `config.json`) looks like when read as a host name. Blocking them would be noise.
 */
const NOT_PUBLIC_TLD = new Set([
  'local',
  'localhost',
  'localdomain',
  'internal',
  'lan',
  'home',
  'invalid',
  'test',
  'example',
  'arpa',
  'so',
  'json',
  'txt',
  'log',
  'py',
  'sh',
  'js',
  'exe',
  'dll',
  'bin',
  'conf',
  'cfg',
  'ini',
  'tmp',
  'bak',
  'php',
  'html',
]);

/** Control characters and direction overrides: a value holding them is not an indicator anyone can type. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this pattern is for.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * Public DNS resolvers: samples query them to get around the sandbox's resolver, but blocking or
 * hunting them would flag every host on the network.
 */
const PUBLIC_RESOLVERS = new Set([
  '8.8.8.8',
  '8.8.4.4',
  '1.1.1.1',
  '1.0.0.1',
  '9.9.9.9',
  '149.112.112.112',
  '208.67.222.222',
  '208.67.220.220',
  '2001:4860:4860::8888',
  '2001:4860:4860::8844',
  '2606:4700:4700::1111',
]);

/** IPv4 ranges that are not a remote party: private, loopback, link-local, shared, benchmark (fake networks), multicast, reserved. */
function publicIPv4(ip: string): boolean {
  const [a = 0, b = 0] = ip.split('.').map(Number);
  return !(
    a === 0 ||
    a === 10 ||
    a === 127 ||
    a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19))
  );
}

function publicIPv6(ip: string): boolean {
  const lower = ip.toLowerCase();
  if (lower === '::' || lower === '::1') return false;
  if (lower.startsWith('::ffff:')) return isIPv4(lower.slice(7)) && publicIPv4(lower.slice(7));
  return !/^(fe[89ab]|f[cd]|ff)/.test(lower);
}

/** A valid, normalised value of `type`, or null. */
export function normaliseIoc(type: IocType, raw: string): string | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > IOC_LIMITS.valueChars || UNPRINTABLE.test(raw))
    return null;
  switch (type) {
    case 'sha256':
    case 'sha1':
    case 'md5': {
      const value = raw.trim().toLowerCase();
      return HEX[type].test(value) ? value : null;
    }
    case 'domain': {
      const value = raw.trim().toLowerCase().replace(/\.$/, '');
      if (!DOMAIN.test(value) || isIPv4(value)) return null;
      return NOT_PUBLIC_TLD.has(value.slice(value.lastIndexOf('.') + 1)) ? null : value;
    }
    case 'ipv4': {
      const value = raw.trim();
      return isIPv4(value) && publicIPv4(value) && !PUBLIC_RESOLVERS.has(value) ? value : null;
    }
    case 'ipv6': {
      const value = raw
        .trim()
        .replace(/^\[|\]$/g, '')
        .toLowerCase();
      return isIPv6(value) && publicIPv6(value) && !PUBLIC_RESOLVERS.has(value) ? value : null;
    }
    case 'url': {
      let url: URL;
      try {
        url = new URL(raw.trim());
      } catch {
        return null;
      }
      if (!/^(https?|ftp|wss?):$/.test(url.protocol) || !url.hostname) return null;
      // The host must itself be an indicator-grade name or a public address; else it is a fake network's.
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const hostOk = isIPv4(host)
        ? publicIPv4(host)
        : isIPv6(host)
          ? publicIPv6(host)
          : normaliseIoc('domain', host) !== null;
      return hostOk ? url.href : null;
    }
    case 'file-path': {
      if (!raw.startsWith('/') || raw.length > IOC_LIMITS.pathChars || raw.includes('\0')) return null;
      return raw.replace(/\/{2,}/g, '/');
    }
  }
}

/** The host part of a vendor's host list entry: an address or a name. */
function hostType(host: string): IocType {
  const bare = host.replace(/^\[|\]$/g, '');
  return isIPv4(bare) ? 'ipv4' : isIPv6(bare) ? 'ipv6' : 'domain';
}

/** URLs and IPv4 addresses inside free text (a static finding's evidence line). */
const URL_IN_TEXT = /\b(?:https?|ftp):\/\/[^\s"'<>`]{1,2000}/gi;
const IPV4_IN_TEXT = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g;

/** File operations that leave something behind: the paths a hunt looks for on other hosts. */
const DROPPING: ReadonlySet<FileOperationKind> = new Set([
  'write',
  'create',
  'truncate',
  'append',
  'rename-to',
  'chmod',
  'link',
  'symlink',
  'mknod',
  'mkdir',
]);

/** Collects indicators in order, once each, within the limits. */
class Collector {
  private readonly byKey = new Map<string, Ioc>();
  private readonly perType = new Map<IocType, number>();
  private seen = new Set<string>();

  add(type: IocType, raw: string | null | undefined, source: IocSource): void {
    if (raw === null || raw === undefined) return;
    const value = normaliseIoc(type, raw);
    if (value === null) return;
    const key = `${type}\u0000${value}`;
    const known = this.byKey.get(key);
    if (known) {
      if (!known.sources.includes(source) && known.sources.length < IOC_LIMITS.sources) known.sources.push(source);
      return;
    }
    // Counted once however often it recurs; kept only within the limits.
    if (this.seen.size < 100_000) this.seen.add(key);
    const n = this.perType.get(type) ?? 0;
    if (n >= IOC_LIMITS.perType || this.byKey.size >= IOC_LIMITS.total) return;
    this.perType.set(type, n + 1);
    this.byKey.set(key, { type, value, sources: [source] });
  }

  /** Free text: the URLs and addresses in it, and each URL's host. */
  text(line: string, source: IocSource): void {
    for (const match of line.slice(0, 4000).matchAll(URL_IN_TEXT)) {
      const url = match[0].replace(/[),.;\]]+$/, '');
      this.add('url', url, source);
      try {
        this.add('domain', new URL(url).hostname, source);
      } catch {
        // not a URL after all: the match alone was dropped by add
      }
    }
    for (const match of line.slice(0, 4000).matchAll(IPV4_IN_TEXT)) this.add('ipv4', match[0], source);
  }

  list(): IocList {
    const items = [...this.byKey.values()].sort((a, b) => IOC_TYPES.indexOf(a.type) - IOC_TYPES.indexOf(b.type));
    return { items, count: this.seen.size, truncated: this.seen.size > items.length };
  }
}

/** An HTTP request as the URL the sample fetched. */
function requestUrl(host: string, port: number | null, path: string): string {
  const authority = port === null || port === 80 ? host : `${host}:${port}`;
  return `http://${authority}${path.startsWith('/') ? path : `/${path}`}`;
}

/**
 * Every indicator of a verdict, sample hashes first. `detonation` is the detonation report when it
 * is at hand; without it, the document's own parts still give hashes, vendor hosts and static ones.
 */
export function extractIocs(document: VerdictDocument, detonation?: DetonationReport): IocList {
  const c = new Collector();
  c.add('sha256', document.sha256, 'sample');
  c.add('sha1', document.sha1, 'sample');
  c.add('md5', document.md5, 'sample');
  for (const member of document.static?.members ?? []) c.add('sha256', member.sha256, 'static:member');
  for (const result of document.engineResults) {
    for (const host of result.findings?.hosts ?? []) c.add(hostType(host), host, `vendor:${result.engine}`);
  }
  if (detonation) {
    const n = detonation.network;
    for (const q of n.dnsQueries.items) c.add('domain', q.name, 'detonation:dns');
    for (const t of n.tlsServerNames.items) c.add('domain', t.serverName, 'detonation:tls');
    for (const h of n.httpRequests.items) {
      c.add('url', requestUrl(h.host, h.port, h.path), 'detonation:http');
      c.add(hostType(h.host), h.host, 'detonation:http');
    }
    for (const conn of n.connections.items) {
      if (conn.protocol === 'unix') continue;
      if (conn.hostname) c.add('domain', conn.hostname, 'detonation:connection');
      // An address the fake resolver handed out is the sandbox's own; only literal addresses count.
      else c.add(hostType(conn.address), conn.address, 'detonation:connection');
    }
    for (const url of detonation.staticStrings.urls.items) c.text(url, 'detonation:strings');
    for (const ip of detonation.staticStrings.ipAddresses.items) c.add(hostType(ip), ip, 'detonation:strings');
    for (const f of detonation.fileOperations.items) {
      if (f.operations.some((op) => DROPPING.has(op)) && f.failures < f.count)
        c.add('file-path', f.path, 'detonation:files');
    }
  }
  for (const finding of document.static?.findings ?? []) {
    for (const line of finding.evidence) c.text(line, 'static');
  }
  return c.list();
}
