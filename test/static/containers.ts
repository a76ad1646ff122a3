import { gzipSync } from 'node:zlib';

/**
 * Zip (the detonation tests' writer) and tar writers for the static-engine corpus: every sample is
 * generated in the test, never committed. Deflated zip members can be huge (a zip bomb-ish member)
 * since only the compressed bytes are kept.
 */

export { makeZip, type ZipEntry } from '../detonation/archives';

/** A ustar archive of regular files. */
export function makeTar(entries: { name: string; data: Buffer | string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : entry.data;
    const header = Buffer.alloc(512);
    header.write(entry.name, 0, 100, 'utf8');
    header.write('0000644\0', 100, 'latin1');
    header.write('0000000\0', 108, 'latin1');
    header.write('0000000\0', 116, 'latin1');
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
    header.write('00000000000\0', 136, 'latin1');
    header.write('        ', 148, 'latin1'); // checksum counted as spaces
    header.write('0', 156, 'latin1');
    header.write('ustar\0', 257, 'latin1');
    header.write('00', 263, 'latin1');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export const makeTarGz = (entries: { name: string; data: Buffer | string }[]) => gzipSync(makeTar(entries));
