import { createReadStream } from 'node:fs';
import { lchown, mkdir, open, readdir, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import yauzl from 'yauzl';
import { detectFileType } from '../../lambdas/core/triage/file-type';

/**
 * Safe extraction of zip, tar and gzip samples. Every member name is checked before anything is
 * written (absolute paths, `..`, backslashes, NUL, depth), links and devices are never created,
 * files are created with O_EXCL|O_NOFOLLOW, and the member count, the bytes written, the
 * compression ratio and the nesting of archives in archives are all capped while streaming, so a
 * bomb stops at the cap instead of filling the disk.
 */

export interface ExtractionLimits {
  maxMembers: number;
  maxTotalBytes: number;
  /** Uncompressed ÷ compressed, per zip member and for a whole gzip stream. */
  maxRatio: number;
  /** Path components in a member name. */
  maxPathDepth: number;
  /** Archives inside archives: 1 extracts only the outer one. */
  maxNesting: number;
  /**
   * Bytes read out of the archive's streams (decompressed), written or skipped, whatever the
   * headers declare: the budget that bounds the work even when nothing is written.
   */
  maxExpandedBytes: number;
  /** Wall-clock milliseconds the whole extraction may take; what is extracted by then is kept. */
  deadlineMs: number;
}

/** The caps the agent uses unless told otherwise. */
export const DEFAULT_EXTRACTION_LIMITS: ExtractionLimits = {
  maxMembers: 200,
  maxTotalBytes: 64 * 1024 * 1024,
  maxRatio: 100,
  maxPathDepth: 16,
  maxNesting: 2,
  maxExpandedBytes: 256 * 1024 * 1024,
  deadlineMs: 30_000,
};

/** One member and what extraction did with it. */
export interface ExtractedMember {
  /** The normalised name inside the archive (nested members: `outer.zip/inner.sh`). */
  path: string;
  /** Where it was written, for extracted files. */
  file: string | null;
  size: number;
  fileType: string;
  action: 'extracted' | 'rejected' | 'skipped';
  reason?: string;
}

/** The outcome of one extraction. */
export interface Extraction {
  members: ExtractedMember[];
  /** Why extraction stopped early (a cap was hit, the archive is corrupt), if it did. */
  stopped: string | null;
}

/** Raised inside a walk to stop the whole extraction. */
class Stop extends Error {}

/** A member name as a safe relative path, or the reason it is refused. */
export function safeMemberPath(name: string, maxDepth: number): { path: string } | { reason: string } {
  if (name.includes('\0')) return { reason: 'NUL in name' };
  const slashed = name.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[a-zA-Z]:/.test(slashed)) return { reason: 'absolute path' };
  const parts = slashed.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { reason: 'path traversal' };
  if (parts.length === 0) return { reason: 'empty name' };
  if (parts.length > maxDepth) return { reason: 'path too deep' };
  if (parts.some((p) => p.length > 255)) return { reason: 'name too long' };
  return { path: parts.join('/') };
}

type ArchiveKind = 'zip' | 'tar' | 'gzip';

/** The archive kind of a file type name, if it is one we extract. */
export function archiveKind(fileType: string): ArchiveKind | null {
  return fileType === 'zip' || fileType === 'tar' || fileType === 'gzip' ? fileType : null;
}

class Extractor {
  readonly members: ExtractedMember[] = [];
  private total = 0;
  private count = 0;
  private readonly names = new Set<string>();
  /** Bytes pulled out of every stream so far, against `maxExpandedBytes`. */
  private expanded = 0;
  private readonly deadline: number;
  /** Set when the watchdog fired: every later step stops. */
  private abortedBy: string | null = null;
  private readonly open = new Set<Readable>();

  constructor(private readonly limits: ExtractionLimits) {
    this.deadline = Date.now() + limits.deadlineMs;
  }

  /** Stops the extraction from outside (the watchdog): streams are destroyed, the next step throws. */
  abort(reason: string): void {
    this.abortedBy = reason;
    for (const stream of this.open) stream.destroy(new Stop(reason));
  }

  /** Throws once the deadline passed or the extraction was aborted; called for every chunk. */
  check(): void {
    if (this.abortedBy) throw new Stop(this.abortedBy);
    if (Date.now() > this.deadline) throw new Stop(`extraction took longer than ${this.limits.deadlineMs} ms`);
  }

  /** Books bytes read out of a stream; `n` must be a real byte count. */
  expand(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new Stop('invalid byte count');
    this.expanded += n;
    if (this.expanded > this.limits.maxExpandedBytes)
      throw new Stop(`more than ${this.limits.maxExpandedBytes} bytes expanded`);
  }

  /** Registers a stream so that an abort can destroy it. */
  private track<T extends Readable>(stream: T): T {
    this.open.add(stream);
    stream.once('close', () => this.open.delete(stream));
    return stream;
  }

  /** Books a member against the count cap; false when it is a duplicate or refused. */
  private admit(prefix: string, dir: string, name: string, size: number): { path: string; file: string } | null {
    if (++this.count > this.limits.maxMembers) throw new Stop(`more than ${this.limits.maxMembers} members`);
    const safe = safeMemberPath(name, this.limits.maxPathDepth);
    const shown = `${prefix}${name}`.slice(0, 600);
    if ('reason' in safe) {
      this.members.push({
        path: shown,
        file: null,
        size,
        fileType: 'unknown',
        action: 'rejected',
        reason: safe.reason,
      });
      return null;
    }
    const path = `${prefix}${safe.path}`;
    if (this.names.has(path)) {
      this.members.push({ path, file: null, size, fileType: 'unknown', action: 'rejected', reason: 'duplicate name' });
      return null;
    }
    this.names.add(path);
    return { path, file: join(dir, safe.path) };
  }

  private reject(
    prefix: string,
    name: string,
    size: number,
    reason: string,
    action: 'rejected' | 'skipped' = 'rejected',
  ): void {
    this.members.push({
      path: `${prefix}${name}`.slice(0, 600),
      file: null,
      size,
      fileType: 'unknown',
      action,
      reason,
    });
  }

  /** The chunks of a stream, booked against the expansion budget and the deadline as they come. */
  private async *counted(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of stream) {
      this.check();
      this.expand((chunk as Buffer).length);
      yield chunk as Buffer;
    }
  }

  /** Creates the parents of `file` (never following a link) and the file itself, exclusively. */
  private async write(file: string, body: AsyncIterable<Buffer>, maxBytes: number): Promise<number> {
    const parent = posix.dirname(file);
    await mkdir(parent, { recursive: true, mode: 0o700 });
    if (!(await stat(parent)).isDirectory()) throw new Error('parent is not a directory');
    // O_EXCL|O_NOFOLLOW: never through a link, never over an existing file.
    const handle = await open(file, 'wx', 0o600);
    let written = 0;
    try {
      for await (const chunk of body) {
        const buffer = chunk as Buffer;
        this.check();
        written += buffer.length;
        this.total += buffer.length;
        if (this.total > this.limits.maxTotalBytes)
          throw new Stop(`more than ${this.limits.maxTotalBytes} bytes in total`);
        if (written > maxBytes) throw new Stop('a member is larger than it declared or than the ratio allows');
        await handle.write(buffer);
      }
    } finally {
      await handle.close();
    }
    return written;
  }

  /** Names the type of an extracted file and, for nested archives within the nesting cap, opens it too. */
  private async settle(path: string, file: string, size: number, depth: number): Promise<void> {
    const head = Buffer.alloc(512);
    const handle = await open(file, 'r');
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    await handle.close();
    const fileType = (await detectFileType(head.subarray(0, bytesRead), path)).type;
    const nested = archiveKind(fileType);
    if (nested && depth + 1 < this.limits.maxNesting) {
      this.members.push({ path, file, size, fileType, action: 'skipped', reason: 'nested archive, extracted below' });
      // Beside the nested archive, not under its name: that is a file.
      await this.extract(file, nested, `${path}/`, depth + 1, path, `${file}.d`);
      return;
    }
    this.members.push({
      path,
      file,
      size,
      fileType,
      action: 'extracted',
      ...(nested ? { reason: 'nested archive beyond the nesting cap' } : {}),
    });
  }

  /** `name` is the archive's own name, which a lone gzip'd file is named after. */
  async extract(
    file: string,
    kind: ArchiveKind,
    prefix: string,
    depth: number,
    name: string,
    dir: string,
  ): Promise<void> {
    this.check();
    const compressed = (await stat(file)).size;
    if (kind === 'zip') return this.zip(file, prefix, depth, dir);
    if (kind === 'tar') return this.tar(this.track(createReadStream(file)), prefix, depth, Infinity, dir);
    // gzip: a tarball inside, or one compressed file.
    const budget = Math.max(1024 * 1024, compressed * this.limits.maxRatio);
    const gunzip = () => this.track(createReadStream(file).pipe(this.track(createGunzip())));
    const sniff = await firstBytes(gunzip(), 512);
    if (sniff.length >= 262 && sniff.toString('latin1', 257, 262) === 'ustar') {
      return this.tar(gunzip(), prefix, depth, budget, dir);
    }
    const slot = this.admit(prefix, dir, posix.basename(name).replace(/\.t?gz$/i, '') || 'member', 0);
    if (!slot) return;
    const size = await this.write(slot.file, this.counted(gunzip()), budget);
    await this.settle(slot.path, slot.file, size, depth);
  }

  private zip(file: string, prefix: string, depth: number, dir: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      yauzl.open(
        file,
        { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: true },
        (error, zip) => {
          if (error || !zip) return reject(new Stop(`not a readable zip: ${error?.message ?? 'unknown'}`));
          const fail = (e: unknown) => {
            zip.close();
            reject(e);
          };
          zip.on('error', fail);
          zip.on('end', () => resolve());
          zip.on('entry', (entry: yauzl.Entry) => {
            void (async () => {
              this.check();
              const raw = entry.fileName as unknown as Buffer;
              const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, raw, entry.extraFields, false);
              const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
              const size = entry.uncompressedSize;
              if (name.endsWith('/') || mode === 0o040000) {
                if (++this.count > this.limits.maxMembers)
                  throw new Stop(`more than ${this.limits.maxMembers} members`);
              } else if (mode !== 0 && mode !== 0o100000) {
                this.reject(prefix, name, size, mode === 0o120000 ? 'symbolic link' : 'not a regular file');
              } else if (entry.isEncrypted()) {
                this.reject(prefix, name, size, 'encrypted', 'skipped');
              } else if (size > Math.max(1024, entry.compressedSize) * this.limits.maxRatio) {
                this.reject(prefix, name, size, `compression ratio above ${this.limits.maxRatio}`);
              } else if (this.total + size > this.limits.maxTotalBytes) {
                throw new Stop(`more than ${this.limits.maxTotalBytes} bytes in total`);
              } else {
                const slot = this.admit(prefix, dir, name, size);
                if (slot) {
                  const stream = await new Promise<Readable>((res, rej) =>
                    zip.openReadStream(entry, (e, s) => (e || !s ? rej(e) : res(s))),
                  );
                  const written = await this.write(slot.file, this.counted(this.track(stream)), size);
                  await this.settle(slot.path, slot.file, written, depth);
                }
              }
              zip.readEntry();
            })().catch(fail);
          });
          zip.readEntry();
        },
      );
    });
  }

  /** A streaming ustar/GNU/pax reader: headers, long names, regular files; everything else is refused. */
  private async tar(source: Readable, prefix: string, depth: number, budget: number, dir: string): Promise<void> {
    const reader = new BlockReader(source, budget, this);
    let longName: string | null = null;
    let paxPath: string | null = null;
    for (;;) {
      const header = await reader.read(512);
      if (!header || header.every((b) => b === 0)) break;
      const field = (start: number, len: number) => {
        const slice = header.subarray(start, start + len);
        const nul = slice.indexOf(0);
        return slice.subarray(0, nul < 0 ? len : nul).toString('utf8');
      };
      const size = tarNumber(header.subarray(124, 136));
      if (size === null) throw new Stop('a tar header whose size field is not a number');
      const type = String.fromCharCode(header[156] as number);
      const ustarPrefix = field(257, 6) === 'ustar' ? field(345, 155) : '';
      const headerName = ustarPrefix ? `${ustarPrefix}/${field(0, 100)}` : field(0, 100);
      const padded = Math.ceil(size / 512) * 512;
      if (type === 'L' || type === 'x') {
        if (size > 64 * 1024) throw new Stop('oversized tar extension header');
        const body = (await reader.read(padded))?.subarray(0, size) ?? Buffer.alloc(0);
        if (type === 'L') longName = body.toString('utf8').replace(/\0.*$/s, '');
        else paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1] ?? paxPath;
        continue;
      }
      const name = paxPath ?? longName ?? headerName;
      paxPath = null;
      longName = null;
      if (type === '0' || type === '\0' || type === '7') {
        if (this.total + size > this.limits.maxTotalBytes)
          throw new Stop(`more than ${this.limits.maxTotalBytes} bytes in total`);
        const slot = this.admit(prefix, dir, name, size);
        if (slot) {
          const written = await this.write(slot.file, reader.stream(size), size);
          await reader.skip(padded - size);
          await this.settle(slot.path, slot.file, written, depth);
        } else {
          await reader.skip(padded);
        }
        continue;
      }
      await reader.skip(padded);
      if (type === '5' || type === 'g') {
        if (type === '5' && ++this.count > this.limits.maxMembers)
          throw new Stop(`more than ${this.limits.maxMembers} members`);
        continue;
      }
      const reason = type === '1' ? 'hard link' : type === '2' ? 'symbolic link' : 'not a regular file';
      if (++this.count > this.limits.maxMembers) throw new Stop(`more than ${this.limits.maxMembers} members`);
      this.reject(prefix, name, size, reason);
    }
    source.destroy();
  }
}

/**
 * A numeric tar header field, strictly: octal digits (leading spaces allowed) ended by a space or
 * NUL with only spaces and NULs after, or GNU base-256 (positive only). Anything else, and any
 * value beyond a safe integer, is null: the caller refuses the archive rather than compute with NaN.
 */
export function tarNumber(field: Buffer): number | null {
  const first = field[0] as number;
  if (first === 0x80) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] as number);
    return Number.isSafeInteger(value) ? value : null;
  }
  if (first & 0x80) return null; // negative base-256, or a byte no encoding defines
  const text = field.toString('latin1');
  const match = /^ *([0-7]*)([ \0][ \0]*)?$/.exec(text);
  if (!match) return null;
  const digits = match[1] ?? '';
  if (digits.length < field.length && match[2] === undefined) return null; // no terminator
  if (digits === '') return /^[ \0]*$/.test(text) ? 0 : null;
  const value = Number.parseInt(digits, 8);
  return Number.isSafeInteger(value) ? value : null;
}

/** Pulls exact byte counts out of a stream, counting everything against a budget (the gzip ratio cap). */
class BlockReader {
  private buffered: Buffer[] = [];
  private length = 0;
  private consumed = 0;
  private readonly iterator: AsyncIterator<Buffer>;
  private done = false;

  constructor(
    source: Readable,
    private readonly budget: number,
    private readonly extractor: Extractor,
  ) {
    this.iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async fill(n: number): Promise<void> {
    while (this.length < n && !this.done) {
      this.extractor.check();
      const next = await this.iterator.next();
      if (next.done) {
        this.done = true;
        break;
      }
      this.buffered.push(next.value);
      this.length += next.value.length;
    }
  }

  private take(n: number): Buffer {
    // A count that is not a real byte count (NaN from a header) must never reach the budget sums.
    if (!Number.isSafeInteger(n) || n < 0) throw new Stop('invalid byte count in the archive');
    this.extractor.expand(n);
    const all = this.buffered.length === 1 ? (this.buffered[0] as Buffer) : Buffer.concat(this.buffered, this.length);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    this.consumed += n;
    if (this.consumed > this.budget) throw new Stop(`decompressed data exceeds ${this.budget} bytes (ratio cap)`);
    return out;
  }

  async read(n: number): Promise<Buffer | null> {
    if (!Number.isSafeInteger(n) || n < 0) throw new Stop('invalid byte count in the archive');
    await this.fill(n);
    if (this.length < n) return null;
    return this.take(n);
  }

  async skip(n: number): Promise<void> {
    if (!Number.isSafeInteger(n) || n < 0) throw new Stop('invalid byte count in the archive');
    let left = n;
    while (left > 0) {
      await this.fill(Math.min(left, 1 << 16));
      if (this.length === 0) return;
      left -= this.take(Math.min(left, this.length)).length;
    }
  }

  /** The next `n` bytes as a stream of chunks. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    if (!Number.isSafeInteger(n) || n < 0) throw new Stop('invalid byte count in the archive');
    let left = n;
    while (left > 0) {
      await this.fill(Math.min(left, 1 << 16));
      if (this.length === 0) throw new Stop('truncated tar member');
      const chunk = this.take(Math.min(left, this.length));
      left -= chunk.length;
      yield chunk;
    }
  }
}

async function firstBytes(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= n) break;
    }
  } catch {
    // a corrupt stream sniffs as whatever came out before the error
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, n);
}

/**
 * Extracts `file` into `dest` within `limits`. Never throws for a hostile or broken archive:
 * what was extracted before a cap was hit is kept, and `stopped` says why it ended.
 */
export async function extractArchive(
  file: string,
  kind: ArchiveKind,
  name: string,
  dest: string,
  limits: ExtractionLimits = DEFAULT_EXTRACTION_LIMITS,
  owner: { uid: number; gid: number } | null = null,
): Promise<Extraction> {
  await mkdir(dest, { recursive: true, mode: 0o700 });
  const extractor = new Extractor(limits);
  let stopped: string | null = null;
  // The per-chunk checks cannot fire while an await never returns (a stream that stalls), so a
  // watchdog ends the extraction at the deadline whatever it is waiting for.
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const reason = `extraction took longer than ${limits.deadlineMs} ms`;
      extractor.abort(reason);
      reject(new Stop(reason));
    }, limits.deadlineMs);
  });
  const work = extractor.extract(file, kind, '', 0, name, dest);
  work.catch(() => undefined); // after the watchdog wins, the abandoned work's own failure is expected
  try {
    await Promise.race([work, watchdog]);
  } catch (error) {
    stopped = error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
  if (owner) await chownTree(dest, owner.uid, owner.gid);
  return { members: extractor.members, stopped };
}

/** Hands the extracted tree to the sandbox user (the agent creates it as root). */
async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await lchown(dir, uid, gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, uid, gid);
    else await lchown(path, uid, gid);
  }
}
