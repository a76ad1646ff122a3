import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DetonationReportSchema, type DetonationReport } from '../../lambdas/core/contracts/detonation-report';
import type { AgentConfigInput } from '../../lambdas/core/contracts/agent-config';
import { runDetonation } from '../../container/agent';

/** The repository's samples directory. */
export const SAMPLES = fileURLToPath(new URL('../../samples/', import.meta.url));

/** A request the stand-in for S3 received. */
export interface SeenRequest {
  method: string;
  path: string;
  signature: string | null;
}

/**
 * A loopback HTTP server standing in for S3 presigned URLs: it serves samples at
 * `/sample/<id>?X-Amz-Signature=<secret>` and takes reports by PUT at `/report/<id>?...`. The
 * signatures are random per detonation, so a test can check that a sample never learnt them.
 */
export class PresignedStandIn {
  readonly requests: SeenRequest[] = [];
  readonly reports = new Map<string, DetonationReport>();
  /** Packet captures PUT beside the reports, by the same id. */
  readonly captures = new Map<string, Buffer>();
  private readonly samples = new Map<string, Buffer>();
  private readonly secrets = new Set<string>();
  private server: Server | null = null;
  private port = 0;

  async start(): Promise<void> {
    this.server = createServer(
      (req, res) => void this.handle(req).then(([status, body]) => res.writeHead(status).end(body)),
    );
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Every signature handed out so far (what a sample must never see). */
  signatures(): string[] {
    return [...this.secrets];
  }

  /** Presigned-style URLs for one sample. */
  presign(id: string, body: Buffer): { sampleUrl: string; reportUrl: string; pcapUrl: string } {
    this.samples.set(id, body);
    const get = randomBytes(24).toString('hex');
    const put = randomBytes(24).toString('hex');
    const putPcap = randomBytes(24).toString('hex');
    this.secrets.add(get);
    this.secrets.add(put);
    this.secrets.add(putPcap);
    const base = `http://127.0.0.1:${this.port}`;
    return {
      sampleUrl: `${base}/sample/${id}?X-Amz-Signature=${get}`,
      reportUrl: `${base}/report/${id}?X-Amz-Signature=${put}`,
      pcapUrl: `${base}/pcap/${id}?X-Amz-Signature=${putPcap}`,
    };
  }

  private async handle(req: IncomingMessage): Promise<[number, string | Buffer]> {
    const url = new URL(req.url ?? '/', 'http://x');
    const signature = url.searchParams.get('X-Amz-Signature');
    this.requests.push({ method: req.method ?? '', path: url.pathname, signature });
    if (!signature || !this.secrets.has(signature)) return [403, 'SignatureDoesNotMatch'];
    const [, kind, id = ''] = url.pathname.split('/');
    if (kind === 'sample' && req.method === 'GET') {
      const body = this.samples.get(id);
      return body ? [200, body] : [404, 'NoSuchKey'];
    }
    if (kind === 'report' && req.method === 'PUT') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      this.reports.set(id, DetonationReportSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      return [200, ''];
    }
    if (kind === 'pcap' && req.method === 'PUT') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      this.captures.set(id, Buffer.concat(chunks));
      return [200, ''];
    }
    return [405, 'MethodNotAllowed'];
  }
}

/** Settings that keep a test detonation short. */
export const FAST: AgentConfigInput = { timeout: 10, idle_timeout: 4, sample_interval: 0.25 };

/** Detonates a file from samples/ (or given bytes) through the stand-in, as the container would. */
export async function detonate(
  s3: PresignedStandIn,
  sample: { file: string } | { name: string; body: Buffer },
  config: AgentConfigInput = FAST,
): Promise<DetonationReport> {
  const name = 'file' in sample ? (sample.file.split('/').pop() ?? 'sample') : sample.name;
  const body = 'file' in sample ? await readFile(`${SAMPLES}${sample.file}`) : sample.body;
  const id = `${name}-${randomBytes(4).toString('hex')}`;
  const urls = s3.presign(id, body);
  const report = await runDetonation({ ...urls, sampleName: name, config });
  const uploaded = s3.reports.get(id);
  if (!uploaded) throw new Error(`no report uploaded for ${id}`);
  if (JSON.stringify(uploaded) !== JSON.stringify(report))
    throw new Error('uploaded report differs from the returned one');
  return report;
}

/** Every indicator id of a report. */
export function indicatorIds(report: DetonationReport): string[] {
  return Object.values(report.behavior).flatMap((list) => list.map((i) => i.id));
}

/** Runs jobs with at most `limit` at a time (the machine has two cores; strace wants one of them). */
export async function inParallel<T, R>(jobs: readonly T[], limit: number, run: (job: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await run(jobs[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}
