import { deflateRawSync, gzipSync } from 'node:zlib';

/**
 * Minimal zip and tar writers for the tests: well-formed archives, and hostile ones (names with
 * `..`, links, lying sizes) that no regular tool would write.
 */

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export interface ZipEntry {
  name: string;
  data?: Buffer;
  /** Unix mode with type bits, e.g. 0o100755 or 0o120777 for a symlink. */
  mode?: number;
  deflate?: boolean;
}

/** A zip archive of the entries, in order. */
export function makeZip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const data = entry.data ?? Buffer.alloc(0);
    const body = entry.deflate ? deflateRawSync(data) : data;
    const name = Buffer.from(entry.name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(entry.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, body);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x031e, 4); // made by Unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(entry.deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((entry.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

export interface TarEntry {
  name: string;
  data?: Buffer;
  /** `0` file (default), `2` symlink, `1` hard link, `5` directory, `3` character device. */
  type?: '0' | '1' | '2' | '3' | '5';
  linkname?: string;
  mode?: number;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** A ustar archive; names longer than 100 bytes get a GNU long-name record. */
export function makeTar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  const header = (name: string, size: number, type: string, linkname = '', mode = 0o644) => {
    const h = Buffer.alloc(512);
    h.write(name.slice(0, 100), 0, 'utf8');
    h.write(octal(mode, 8), 100);
    h.write(octal(0, 8), 108);
    h.write(octal(0, 8), 116);
    h.write(octal(size, 12), 124);
    h.write(octal(0, 12), 136);
    h.write('        ', 148);
    h.write(type, 156);
    h.write(linkname, 157);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const byte of h) sum += byte;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    return h;
  };
  const pad = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
  for (const entry of entries) {
    const data = entry.data ?? Buffer.alloc(0);
    if (Buffer.byteLength(entry.name) > 100) {
      const long = Buffer.from(`${entry.name}\0`);
      blocks.push(header('././@LongLink', long.length, 'L'), pad(long));
    }
    blocks.push(
      header(
        entry.name,
        entry.type && entry.type !== '0' ? 0 : data.length,
        entry.type ?? '0',
        entry.linkname,
        entry.mode,
      ),
    );
    if (!entry.type || entry.type === '0') blocks.push(pad(data));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/**
 * One tar header block with the size field written verbatim (12 bytes, e.g. `'zzzzzzzzzzz\0'`),
 * and a valid checksum: what a hostile writer produces to make a lax reader compute with NaN.
 */
export function tarHeaderWithRawSize(name: string, sizeField: string | Buffer, type = '0'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  (typeof sizeField === 'string' ? Buffer.from(sizeField, 'latin1') : sizeField).copy(h, 124, 0, 12);
  h.write(octal(0, 12), 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** `copies` gzip members of `chunk` zeros, concatenated: small on disk, `copies × chunk` bytes once expanded. */
export function gzipOfZeros(chunk: number, copies: number): Buffer {
  const member = gzipSync(Buffer.alloc(chunk));
  return Buffer.concat(Array.from({ length: copies }, () => member));
}

/** gzip of a buffer. */
export const gzip = (data: Buffer): Buffer => gzipSync(data);
