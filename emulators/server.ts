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
      form: () => parseForm(body, String(req.headers['content-type'] ?? '')),
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

/**
 * Parses a form body as the vendors' web frameworks do (Go's mime/multipart, Django, Flask), which
 * take part headers that undici's strict parser refuses: no space after `form-data;`, and `filename`
 * before `name`, as the official Triage client writes them (hatching/triage python/triage/client.py,
 * encode_multipart_formdata: `'Content-Disposition: form-data; filename="{filename}"; name="{field}"'`
 * and `'Content-Disposition: form-data;name="{field}"'`). Each part's Content-Disposition is
 * rewritten to the canonical order before undici parses the body; the part bodies are untouched.
 */
export function parseForm(body: Buffer, contentType: string): Promise<FormData> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const delimiter = boundary?.[1] ?? boundary?.[2];
  const canonical = delimiter ? canonicalMultipart(body, delimiter) : body;
  return new Response(canonical, { headers: { 'content-type': contentType } }).formData();
}

/** A multipart body with each part's Content-Disposition written `form-data; name="…"; filename="…"`. */
function canonicalMultipart(body: Buffer, boundary: string): Buffer {
  const marker = Buffer.from(`--${boundary}`);
  const pieces: Buffer[] = [];
  let at = body.indexOf(marker);
  if (at < 0) return body;
  pieces.push(body.subarray(0, at));
  while (at >= 0) {
    const next = body.indexOf(marker, at + marker.length);
    const part = body.subarray(at, next < 0 ? body.length : next);
    const headersEnd = part.indexOf('\r\n\r\n');
    if (headersEnd < 0) pieces.push(part);
    else {
      const headers = part
        .subarray(0, headersEnd)
        .toString('latin1')
        .replace(
          /^(content-disposition:)(.*)$/im,
          (_line, name: string, value: string) => `${name} ${canonicalDisposition(value)}`,
        );
      pieces.push(Buffer.from(headers, 'latin1'), part.subarray(headersEnd));
    }
    at = next;
  }
  return Buffer.concat(pieces);
}

/** `form-data;name="a"` or `form-data; filename="f"; name="a"` as `form-data; name="a"; filename="f"`. */
function canonicalDisposition(value: string): string {
  const params = new Map<string, string>();
  for (const match of value.matchAll(/([a-z*]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/gi))
    params.set(match[1]!.toLowerCase(), match[2]!.trim());
  const name = params.get('name');
  if (!/^\s*form-data/i.test(value) || name === undefined) return value.trim();
  const filename = params.get('filename');
  return `form-data; name=${name}${filename === undefined ? '' : `; filename=${filename}`}`;
}
