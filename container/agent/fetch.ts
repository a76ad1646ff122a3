import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { DetonationReport } from '../../lambdas/core/contracts/detonation-report';

/**
 * Moves the sample in and the report out through presigned S3 URLs. The URLs are credentials: they
 * never appear in an error message, a log line or a child process's arguments or environment.
 */

/** The download or upload failed; the message never contains the URL. */
export class TransferError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The downloaded sample's digest. */
export interface Downloaded {
  sha256: string;
  size: number;
}

const TIMEOUT_MS = 120_000;

/** Where a URL points, without its query (the signature) — for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * A `file:` URL is the boxed detonators' transport: the host side fetches the sample and uploads the
 * report, and the agent inside a box with no network reads and writes files handed to it. On AWS the
 * agent only ever talks to S3.
 */
function localPath(url: string): string | null {
  if (!url.startsWith('file:')) return null;
  if (process.env.ECS_CONTAINER_METADATA_URI_V4 || process.env.AWS_EXECUTION_ENV)
    throw new TransferError('file: URLs are refused on AWS');
  return fileURLToPath(url);
}

async function* sampleBytes(url: string): AsyncIterable<Uint8Array> {
  const path = localPath(url);
  if (path) {
    try {
      yield* createReadStream(path) as AsyncIterable<Buffer>;
    } catch (error) {
      throw new TransferError(
        `sample read from the local transport failed: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    return;
  }
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    throw new TransferError(`sample download from ${redact(url)} failed: ${(error as Error).name}`);
  }
  if (!response.ok || !response.body)
    throw new TransferError(`sample download from ${redact(url)} answered ${response.status}`);
  yield* response.body as unknown as AsyncIterable<Uint8Array>;
}

/** Streams the sample to `dest` (mode 0600), hashing as it goes and refusing more than `maxBytes`. */
export async function downloadSample(url: string, dest: string, maxBytes: number): Promise<Downloaded> {
  const hash = createHash('sha256');
  const file = await open(dest, 'wx', 0o600);
  let size = 0;
  try {
    for await (const chunk of sampleBytes(url)) {
      size += chunk.length;
      if (size > maxBytes) throw new TransferError(`sample is larger than ${maxBytes} bytes`);
      hash.update(chunk);
      await file.write(chunk);
    }
  } finally {
    await file.close();
  }
  return { sha256: hash.digest('hex'), size };
}

/** PUTs the report as JSON, retrying transient failures (network errors, 5xx, 429) three times. */
export async function uploadReport(url: string, report: DetonationReport): Promise<void> {
  await put(url, JSON.stringify(report), 'application/json', 'report');
}

/** The largest packet capture the agent uploads (the capture's own limits keep it well below). */
export const MAX_PCAP_UPLOAD_BYTES = 16 * 1024 * 1024;

/** PUTs the packet capture beside the report; refuses a file over `MAX_PCAP_UPLOAD_BYTES`. */
export async function uploadCapture(url: string, file: Buffer): Promise<void> {
  if (file.length > MAX_PCAP_UPLOAD_BYTES)
    throw new TransferError(`the capture is larger than ${MAX_PCAP_UPLOAD_BYTES} bytes`);
  await put(url, file, 'application/vnd.tcpdump.pcap', 'capture');
}

async function put(url: string, body: string | Buffer, contentType: string, what: string): Promise<void> {
  const path = localPath(url);
  if (path) {
    await writeFile(path, body, { mode: 0o600 });
    return;
  }
  let last = '';
  for (let attempt = 0; attempt < 4; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
    try {
      const response = await fetch(url, {
        method: 'PUT',
        body,
        headers: { 'content-type': contentType },
        redirect: 'error',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await response.arrayBuffer();
      if (response.ok) return;
      last = `answered ${response.status}`;
      if (response.status < 500 && response.status !== 429) break;
    } catch (error) {
      last = `failed: ${(error as Error).name}`;
    }
  }
  throw new TransferError(`${what} upload to ${redact(url)} ${last}`);
}
