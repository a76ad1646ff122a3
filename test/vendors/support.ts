import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { type VendorConfig, VendorConfigSchema } from '../../lambdas/core/config/runtime-config';
import type { VendorId } from '../../lambdas/core/contracts/pipeline';
import type { NativeReport, SampleSource } from '../../lambdas/core/connector/connector';

// Shared by the connector tests: a hand-moved clock, a sample source, report reading, fixtures.

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public t = Date.UTC(2026, 0, 5, 9, 0, 0)) {}
  now(): number {
    return this.t;
  }
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}

/** A small script sample streamed from memory. */
export function sample(content: string, fileName = 'invoice.js'): SampleSource {
  const bytes = Buffer.from(content);
  return {
    fileName,
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    fileType: 'script-js',
    mimeType: 'text/javascript',
    open: async () => Readable.from([bytes]),
  };
}

/** A native report's whole body as text. */
export async function readAll(report: NativeReport): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of report.body) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** A native report's whole body parsed as JSON. */
export async function readJson(report: NativeReport): Promise<unknown> {
  return JSON.parse(await readAll(report));
}

/** A sandboxapi fixture (test/fixtures/sandboxapi, origin and licence in its README). */
export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'sandboxapi', name), 'utf8'));
}

/**
 * A vendor configuration as connector tests want it: requests give up after half a second, analyses
 * run 120 s; `extra` overrides any field (its `options` replace the defaults).
 */
export function testVendorConfig(
  id: VendorId,
  baseUrl: string,
  extra: Record<string, unknown> = {},
  defaultOptions: Record<string, string | number | boolean> = {},
): VendorConfig {
  return VendorConfigSchema.parse({
    id,
    baseUrl,
    requestTimeoutMs: 500,
    analysisTimeoutSeconds: 120,
    options: defaultOptions,
    ...extra,
  });
}
