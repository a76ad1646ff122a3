import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request an emulator received. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  at: number;
}

/** A parsed incoming request. */
export interface EmulatorRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** Parses a multipart or urlencoded body the way a web framework would. */
  form(): Promise<FormData>;
}

/** What a route answers. */
export interface EmulatorResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer | object;
  /** Milliseconds to wait before answering (slow-vendor fault). */
  delayMs?: number;
  /** Send only this many bytes of the body, then cut the connection (truncated-body fault). */
  truncateAt?: number;
}

/** A loopback HTTP server for vendor emulators: records every request, serves one handler. */
export class EmulatorServer {
  readonly requests: RecordedRequest[] = [];
  private server?: Server;
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(private readonly handle: (req: EmulatorRequest) => Promise<EmulatorResponse> | EmulatorResponse) {}

  /** Listens on 127.0.0.1 on a free port and returns the base URL. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.serve(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, headers: req.headers, at: Date.now() });
    const request: EmulatorRequest = {
      method: req.method ?? 'GET',
      url,
      headers: req.headers,
      body,
      form: () =>
        new Response(body, { headers: { 'content-type': String(req.headers['content-type'] ?? '') } }).formData(),
    };
    let answer: EmulatorResponse;
    try {
      answer = await this.handle(request);
    } catch (error) {
      answer = { status: 500, body: { detail: `emulator error: ${(error as Error).message}` } };
    }
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    const isJson = answer.body !== undefined && typeof answer.body === 'object' && !Buffer.isBuffer(answer.body);
    const payload = isJson
      ? Buffer.from(JSON.stringify(answer.body))
      : Buffer.from((answer.body as string | Buffer | undefined) ?? '');
    const headers = {
      'content-type': isJson ? 'application/json' : 'text/plain',
      ...answer.headers,
      'content-length': String(payload.length),
    };
    res.writeHead(answer.status ?? 200, headers);
    if (answer.truncateAt !== undefined) {
      res.write(payload.subarray(0, answer.truncateAt));
      res.socket?.destroy();
      return;
    }
    res.end(payload);
  }
}
