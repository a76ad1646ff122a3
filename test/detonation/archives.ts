import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

/**
 * Minimal zip and tar writers for the tests: well-formed archives, encrypted ones (ZipCrypto, which
 * Node has no writer for), and hostile ones (names with `..`, links, lying sizes) that no regular
 * tool would write.
 */

export interface ZipEntry {
  name: string;
  data?: Buffer | string;
  /** Unix mode with type bits, e.g. 0o100755 or 0o120777 for a symlink. */
  mode?: number;
  deflate?: boolean;
  /** Encrypts the member with traditional PKWARE encryption (ZipCrypto). */
  password?: string;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** ZipCrypto (APPNOTE 6.1): a 12-byte header whose last byte is the CRC's high byte, then the data. */
function zipCrypto(body: Buffer, password: string, crc: number): Buffer {
  const keys = [0x12345678, 0x23456789, 0x34567890];
  const update = (byte: number) => {
    keys[0] = (CRC_TABLE[(keys[0]! ^ byte) & 0xff]! ^ (keys[0]! >>> 8)) >>> 0;
    keys[1] = (Math.imul((keys[1]! + (keys[0]! & 0xff)) >>> 0, 134775813) + 1) >>> 0;
    keys[2] = (CRC_TABLE[(keys[2]! ^ (keys[1]! >>> 24)) & 0xff]! ^ (keys[2]! >>> 8)) >>> 0;
  };
  const streamByte = () => {
    const temp = (keys[2]! | 2) & 0xffff;
    return (Math.imul(temp, temp ^ 1) >>> 8) & 0xff;
  };
  for (const byte of Buffer.from(password, 'utf8')) update(byte);
  const plain = Buffer.concat([Buffer.alloc(11, 0x5a), Buffer.from([crc >>> 24]), body]);
  const out = Buffer.alloc(plain.length);
  for (let i = 0; i < plain.length; i++) {
    out[i] = plain[i]! ^ streamByte();
    update(plain[i]!);
  }
  return out;
}

/** Little-endian 16- and 32-bit fields, as zip (and OLE) headers store them. */
export const u16 = (value: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return b;
};
export const u32 = (value: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
};

/** A zip archive of the entries, in order. */
export function makeZip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : (entry.data ?? Buffer.alloc(0));
    const crc = crc32(data) >>> 0;
    const packed = entry.deflate ? deflateRawSync(data) : data;
    const body = entry.password === undefined ? packed : zipCrypto(packed, entry.password, crc);
    const name = Buffer.from(entry.name, 'utf8');
    // The fields a local header and its central directory entry share, in the same order (from
    // "version needed" to the extra field's length): the central entry adds "version made by" before
    // them and the file's attributes and offset after.
    const shared = Buffer.alloc(26);
    shared.writeUInt16LE(20, 0);
    shared.writeUInt16LE(0x800 | (entry.password === undefined ? 0 : 1), 2); // UTF-8 names, encrypted
    shared.writeUInt16LE(entry.deflate ? 8 : 0, 4);
    shared.writeUInt32LE(crc, 10);
    shared.writeUInt32LE(body.length, 14);
    shared.writeUInt32LE(data.length, 18);
    shared.writeUInt16LE(name.length, 22);
    const local = Buffer.concat([u32(0x04034b50), shared]);
    locals.push(local, name, body);
    const attributes = Buffer.alloc(14);
    attributes.writeUInt32LE(((entry.mode ?? 0o100644) << 16) >>> 0, 6);
    attributes.writeUInt32LE(offset, 10);
    centrals.push(Buffer.concat([u32(0x02014b50), u16(0x031e) /* made by Unix */, shared, attributes]), name);
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

/**
 * One ustar header block with a valid checksum. `sizeField` is the 12-byte size field as written:
 * a well-formed octal number normally, anything a hostile writer chooses otherwise.
 */
function tarHeader(name: string, sizeField: Buffer, type: string, linkname = '', mode = 0o644): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal(mode, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  sizeField.copy(h, 124, 0, 12);
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
}

/** A ustar archive; names longer than 100 bytes get a GNU long-name record. */
export function makeTar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  const header = (name: string, size: number, type: string, linkname = '', mode = 0o644) =>
    tarHeader(name, Buffer.from(octal(size, 12), 'latin1'), type, linkname, mode);
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
  return tarHeader(name, typeof sizeField === 'string' ? Buffer.from(sizeField, 'latin1') : sizeField, type);
}

/** `copies` gzip members of `chunk` zeros, concatenated: small on disk, `copies × chunk` bytes once expanded. */
export function gzipOfZeros(chunk: number, copies: number): Buffer {
  const member = gzipSync(Buffer.alloc(chunk));
  return Buffer.concat(Array.from({ length: copies }, () => member));
}

/** gzip of a buffer. */
export const gzip = (data: Buffer): Buffer => gzipSync(data);
