import { createHash } from 'node:crypto';
import type { VerdictDocument } from '../contracts/pipeline';
import type { Ioc, IocList } from './extract';

/**
 * A verdict's indicators as a STIX 2.1 bundle, for a threat-intelligence platform: Sandtrap's
 * identity, the sample as a file observable, one indicator per IOC with its STIX pattern, the
 * malware families the engines named, and `indicates` relationships between them. Every id is a
 * UUIDv5 of what the object stands for, so analysing the same file again gives the same ids and a
 * platform updates its objects instead of piling up copies.
 */

/** The namespace STIX 2.1 (section 2.9) gives for the deterministic ids of cyber-observable objects. */
const STIX_SCO_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';
/** Sandtrap's own namespace for the ids of the domain objects it makes (a fixed, random UUID). */
const SANDTRAP_NAMESPACE = '5b0a4a3e-8c3f-4d6e-9a57-2f1d0c9b7e41';

/** RFC 4122 name-based UUID, version 5 (SHA-1). */
export function uuidv5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const sdoId = (type: string, name: string) => `${type}--${uuidv5(`${type}:${name}`, SANDTRAP_NAMESPACE)}`;

/**
 * JSON with keys sorted, as STIX's deterministic SCO ids hash their contributing properties (the
 * spec asks for RFC 8785 canonical JSON; for the strings and flat objects used here this is it).
 */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

const scoId = (type: string, contributing: Record<string, unknown>) =>
  `${type}--${uuidv5(canonical(contributing), STIX_SCO_NAMESPACE)}`;

/** A string literal of a STIX pattern: quoted, with `\` and `'` escaped. */
function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const HASH_NAMES = { sha256: 'SHA-256', sha1: 'SHA-1', md5: 'MD5' } as const;

/** The STIX pattern that matches one indicator. */
export function stixPattern(ioc: Ioc): string {
  switch (ioc.type) {
    case 'sha256':
    case 'sha1':
    case 'md5':
      return `[file:hashes.${literal(HASH_NAMES[ioc.type])} = ${literal(ioc.value)}]`;
    case 'domain':
      return `[domain-name:value = ${literal(ioc.value)}]`;
    case 'ipv4':
      return `[ipv4-addr:value = ${literal(ioc.value)}]`;
    case 'ipv6':
      return `[ipv6-addr:value = ${literal(ioc.value)}]`;
    case 'url':
      return `[url:value = ${literal(ioc.value)}]`;
    case 'file-path': {
      const slash = ioc.value.lastIndexOf('/');
      const dir = slash <= 0 ? '/' : ioc.value.slice(0, slash);
      return `[file:name = ${literal(ioc.value.slice(slash + 1))} AND file:parent_directory_ref.path = ${literal(dir)}]`;
    }
  }
}

/** STIX's indicator-type vocabulary word for a verdict. */
const INDICATOR_TYPES = {
  malicious: 'malicious-activity',
  suspicious: 'anomalous-activity',
  benign: 'benign',
  unknown: 'unknown',
} as const;

/** Malware families named by the engines, once each (case-insensitively), vendors' findings first. */
export function familiesOf(document: VerdictDocument): string[] {
  const names = [
    ...document.engineResults.flatMap((e) => e.findings?.families ?? []),
    ...document.threats.flatMap((t) => (t.family ? [t.family] : [])),
  ];
  const seen = new Set<string>();
  return names.filter((n) => {
    const key = n.trim().toLowerCase();
    if (!key || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A STIX timestamp: RFC 3339 in UTC with milliseconds. */
function stamp(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? new Date(0).toISOString() : date.toISOString();
}

export type StixObject = Record<string, unknown> & { type: string; id: string };
export interface StixBundle {
  type: 'bundle';
  id: string;
  objects: StixObject[];
}

/** The bundle of a verdict's indicators; the same document always gives the same bytes. */
export function toStixBundle(document: VerdictDocument, iocs: IocList): StixBundle {
  const created = stamp(document.analyzedAt);
  const identity: StixObject = {
    type: 'identity',
    spec_version: '2.1',
    id: sdoId('identity', 'sandtrap'),
    created: '2024-01-01T00:00:00.000Z',
    modified: '2024-01-01T00:00:00.000Z',
    name: 'Sandtrap',
    identity_class: 'system',
    description: 'Sandtrap file analysis pipeline (vendor sandboxes, detonation, static analysis).',
  };
  const common = { spec_version: '2.1', created, modified: created, created_by_ref: identity.id };
  const name = document.key.slice(document.key.lastIndexOf('/') + 1) || document.key;
  const hashes = { 'SHA-256': document.sha256, 'SHA-1': document.sha1, MD5: document.md5 };
  const file: StixObject = {
    type: 'file',
    spec_version: '2.1',
    id: scoId('file', { hashes: { 'SHA-256': document.sha256 } }),
    hashes,
    size: document.size,
    name,
    ...(document.mimeType ? { mime_type: document.mimeType } : {}),
  };
  const verdictType = INDICATOR_TYPES[document.verdict];
  const indicators: StixObject[] = iocs.items.map((ioc) => ({
    type: 'indicator',
    ...common,
    id: sdoId('indicator', `${ioc.type}:${ioc.value}`),
    name: `${ioc.type} ${ioc.value}`.slice(0, 300),
    description: `Seen in the analysis of ${document.sha256} (verdict ${document.verdict}); from ${ioc.sources.join(', ')}.`,
    indicator_types: [verdictType],
    pattern: stixPattern(ioc),
    pattern_type: 'stix',
    pattern_version: '2.1',
    valid_from: created,
    labels: ioc.sources.map((s) => `sandtrap:${s}`),
  }));
  const families = familiesOf(document);
  const malware: StixObject[] = families.map((family) => ({
    type: 'malware',
    ...common,
    id: sdoId('malware', family.toLowerCase()),
    name: family,
    is_family: true,
    sample_refs: [file.id],
  }));
  // A malicious verdict without a family name is still malware: this sample, unnamed.
  if (malware.length === 0 && document.verdict === 'malicious')
    malware.push({
      type: 'malware',
      ...common,
      id: sdoId('malware', `sample:${document.sha256}`),
      name: `${name} (${document.sha256.slice(0, 12)})`,
      is_family: false,
      sample_refs: [file.id],
    });
  const relationships: StixObject[] = [];
  if (document.verdict === 'malicious' || document.verdict === 'suspicious')
    for (const m of malware)
      for (const i of indicators)
        relationships.push({
          type: 'relationship',
          ...common,
          id: sdoId('relationship', `${i.id} indicates ${m.id}`),
          relationship_type: 'indicates',
          source_ref: i.id,
          target_ref: m.id,
        });
  return {
    type: 'bundle',
    id: `bundle--${uuidv5(`bundle:${document.sha256}:${created}`, SANDTRAP_NAMESPACE)}`,
    objects: [identity, file, ...malware, ...indicators, ...relationships],
  };
}
