import { open } from 'node:fs/promises';
import { isIPv4 } from 'node:net';

/**
 * Static triage: the URLs and IPv4 addresses among a file's printable strings. It is all the agent
 * says about types it cannot run, and a cross-check of the dynamic run for the others.
 */

export interface StaticStrings {
  urls: string[];
  ipAddresses: string[];
  /** Distinct values found, beyond what the lists keep. */
  urlCount: number;
  ipCount: number;
}

const URL = /\b(?:https?|ftp|wss?|stratum\+(?:tcp|ssl)):\/\/[^\s"'<>`\\]{3,500}/gi;
const IPV4 = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])/g;
/** Runs of at least this many printable bytes count as strings. */
const MIN_RUN = 6;
const READ_BYTES = 8 * 1024 * 1024;

/** Scans the first 8 MiB of `file`. */
export async function staticStrings(file: string, max: number): Promise<StaticStrings> {
  const handle = await open(file, 'r');
  const buffer = Buffer.alloc(READ_BYTES);
  let length: number;
  try {
    ({ bytesRead: length } = await handle.read(buffer, 0, READ_BYTES, 0));
  } finally {
    await handle.close();
  }
  const urls = new Set<string>();
  const ips = new Set<string>();
  let start = -1;
  const flush = (end: number) => {
    if (start >= 0 && end - start >= MIN_RUN) {
      const run = buffer.toString('latin1', start, end);
      for (const match of run.matchAll(URL)) if (urls.size < 10_000) urls.add(match[0].replace(/[.,;:)\]]+$/, ''));
      for (const match of run.matchAll(IPV4)) if (ips.size < 10_000 && isIPv4(match[0])) ips.add(match[0]);
    }
    start = -1;
  };
  for (let i = 0; i < length; i++) {
    const b = buffer[i] as number;
    if (b >= 0x20 && b < 0x7f) {
      if (start < 0) start = i;
    } else flush(i);
  }
  flush(length);
  return { urls: [...urls].slice(0, max), ipAddresses: [...ips].slice(0, max), urlCount: urls.size, ipCount: ips.size };
}
