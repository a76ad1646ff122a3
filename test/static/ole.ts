/**
 * A minimal OLE compound file (MS-CFB v3) writer and a VBA project (MS-OVBA) builder, so that the
 * tests can hand olevba a real `vbaProject.bin` without committing any Office file.
 *
 * Compound file: 512-byte sectors; every stream here is under the 4096-byte cutoff, so all stream
 * data lives in the mini stream (64-byte mini sectors) held by the root entry. Siblings form a
 * chain of right links (all black): valid enough for olefile, which does not check tree balance.
 *
 * VBA project: a `PROJECT` text stream, `VBA/_VBA_PROJECT` (header only: no p-code), `VBA/dir`
 * (the MS-OVBA records olevba walks) and one module stream holding only compressed source
 * (MODULEOFFSET 0). MS-OVBA compression is written as chunks of literal tokens only: a valid
 * compressed container that needs no matching, where raw (flag 0) chunks would have to be padded
 * to 4096 bytes and that padding would show up in the macro source.
 */

import { u16, u32 } from '../detonation/archives';

const SECTOR = 512;
const MINI_SECTOR = 64;
const ENDOFCHAIN = 0xfffffffe;
const FREESECT = 0xffffffff;
const FATSECT = 0xfffffffd;
const NOSTREAM = 0xffffffff;

export interface OleNode {
  name: string;
  /** Stream data; a node without data is a storage. */
  data?: Buffer;
  children?: OleNode[];
}

interface Entry {
  name: string;
  type: 1 | 2 | 5;
  child: number;
  right: number;
  start: number;
  size: number;
  data?: Buffer;
}

/** CFB sibling order: shorter names first, then by upper-case name. */
const compareNames = (a: OleNode, b: OleNode) =>
  a.name.length - b.name.length || (a.name.toUpperCase() < b.name.toUpperCase() ? -1 : 1);

/** A compound file whose root storage holds `nodes`. */
export function makeCompoundFile(nodes: OleNode[]): Buffer {
  const entries: Entry[] = [{ name: 'Root Entry', type: 5, child: NOSTREAM, right: NOSTREAM, start: 0, size: 0 }];
  const place = (children: OleNode[]): number => {
    const sorted = [...children].sort(compareNames);
    const ids = sorted.map((node) => {
      entries.push({
        name: node.name,
        type: node.data ? 2 : 1,
        child: NOSTREAM,
        right: NOSTREAM,
        start: 0,
        size: node.data?.length ?? 0,
        data: node.data,
      });
      return entries.length - 1;
    });
    sorted.forEach((node, i) => {
      const entry = entries[ids[i]!]!;
      entry.right = ids[i + 1] ?? NOSTREAM;
      if (!node.data) entry.child = place(node.children ?? []);
    });
    return ids[0] ?? NOSTREAM;
  };
  entries[0]!.child = place(nodes);

  // Mini stream: each stream padded to whole mini sectors, chained in the mini FAT.
  const miniFat: number[] = [];
  const miniParts: Buffer[] = [];
  for (const entry of entries) {
    if (entry.type !== 2 || !entry.data) continue;
    const count = Math.ceil(entry.data.length / MINI_SECTOR);
    entry.start = miniFat.length;
    for (let i = 0; i < count; i++) miniFat.push(i === count - 1 ? ENDOFCHAIN : miniFat.length + 1);
    miniParts.push(entry.data, Buffer.alloc(count * MINI_SECTOR - entry.data.length));
  }
  const miniStream = Buffer.concat(miniParts);

  // Sector layout: FAT (one sector is plenty here), directory, mini FAT, mini stream.
  const dirSectors = Math.ceil(entries.length / 4);
  const miniFatSectors = Math.ceil((miniFat.length * 4) / SECTOR);
  const miniStreamSectors = Math.ceil(miniStream.length / SECTOR);
  const dirStart = 1;
  const miniFatStart = dirStart + dirSectors;
  const miniStreamStart = miniFatStart + miniFatSectors;
  const total = miniStreamStart + miniStreamSectors;
  if (total > SECTOR / 4) throw new Error('compound file too large for this writer');

  const fat = new Array<number>(SECTOR / 4).fill(FREESECT);
  fat[0] = FATSECT;
  const chain = (start: number, count: number) => {
    for (let i = 0; i < count; i++) fat[start + i] = i === count - 1 ? ENDOFCHAIN : start + i + 1;
  };
  chain(dirStart, dirSectors);
  chain(miniFatStart, miniFatSectors);
  chain(miniStreamStart, miniStreamSectors);
  entries[0]!.start = miniStreamSectors ? miniStreamStart : ENDOFCHAIN;
  entries[0]!.size = miniStream.length;

  const header = Buffer.alloc(SECTOR);
  Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(header, 0);
  header.writeUInt16LE(0x003e, 24); // minor version
  header.writeUInt16LE(0x0003, 26); // major version 3
  header.writeUInt16LE(0xfffe, 28); // little-endian
  header.writeUInt16LE(9, 30); // 512-byte sectors
  header.writeUInt16LE(6, 32); // 64-byte mini sectors
  header.writeUInt32LE(1, 44); // FAT sectors
  header.writeUInt32LE(dirStart, 48);
  header.writeUInt32LE(4096, 56); // mini stream cutoff
  header.writeUInt32LE(miniFatSectors ? miniFatStart : ENDOFCHAIN, 60);
  header.writeUInt32LE(miniFatSectors, 64);
  header.writeUInt32LE(ENDOFCHAIN, 68); // no DIFAT sectors
  header.writeUInt32LE(0, 72);
  for (let i = 0; i < 109; i++) header.writeUInt32LE(i === 0 ? 0 : FREESECT, 76 + i * 4);

  const fatSector = Buffer.alloc(SECTOR);
  fat.forEach((value, i) => {
    fatSector.writeUInt32LE(value, i * 4);
  });

  const directory = Buffer.alloc(dirSectors * SECTOR);
  for (let i = 0; i < dirSectors * 4; i++) {
    const at = i * 128;
    const entry = entries[i];
    if (!entry) {
      directory.writeUInt32LE(NOSTREAM, at + 68);
      directory.writeUInt32LE(NOSTREAM, at + 72);
      directory.writeUInt32LE(NOSTREAM, at + 76);
      continue;
    }
    const name = Buffer.from(`${entry.name}\0`, 'utf16le');
    name.copy(directory, at, 0, Math.min(name.length, 64));
    directory.writeUInt16LE(name.length, at + 64);
    directory.writeUInt8(entry.type, at + 66);
    directory.writeUInt8(1, at + 67); // black
    directory.writeUInt32LE(NOSTREAM, at + 68); // left sibling
    directory.writeUInt32LE(entry.right, at + 72);
    directory.writeUInt32LE(entry.child, at + 76);
    directory.writeUInt32LE(entry.type === 1 ? 0 : entry.start, at + 116);
    directory.writeUInt32LE(entry.type === 1 ? 0 : entry.size, at + 120);
  }

  const miniFatBuffer = Buffer.alloc(miniFatSectors * SECTOR, 0xff);
  miniFat.forEach((value, i) => {
    miniFatBuffer.writeUInt32LE(value, i * 4);
  });
  const miniStreamBuffer = Buffer.alloc(miniStreamSectors * SECTOR);
  miniStream.copy(miniStreamBuffer);
  return Buffer.concat([header, fatSector, directory, miniFatBuffer, miniStreamBuffer]);
}

/** MS-OVBA 2.4.1 compressed container made of literal-only chunks (see the file comment). */
export function ovbaCompress(data: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x01])];
  // 455 groups of (flag byte + 8 literals) = 4095 bytes: with the 2-byte header, within 4098.
  const perChunk = 455 * 8;
  for (let start = 0; start < data.length; start += perChunk) {
    const chunk = data.subarray(start, start + perChunk);
    const body: Buffer[] = [];
    for (let i = 0; i < chunk.length; i += 8) body.push(Buffer.from([0x00]), chunk.subarray(i, i + 8));
    const bodyBuffer = Buffer.concat(body);
    const header = Buffer.alloc(2);
    // size - 3 in 12 bits, signature 0b011, flag 1 (compressed).
    header.writeUInt16LE(((bodyBuffer.length + 2 - 3) & 0x0fff) | 0x3000 | 0x8000);
    parts.push(header, bodyBuffer);
  }
  return Buffer.concat(parts);
}

const record = (id: number, payload: Buffer) => {
  const head = Buffer.alloc(6);
  head.writeUInt16LE(id, 0);
  head.writeUInt32LE(payload.length, 2);
  return Buffer.concat([head, payload]);
};
const ascii = (text: string) => Buffer.from(text, 'latin1');

/** The decompressed `dir` stream for one standard module (MS-OVBA 2.3.4.2). */
function dirStream(moduleName: string): Buffer {
  return Buffer.concat([
    record(0x0001, u32(1)), // PROJECTSYSKIND: 32-bit Windows
    record(0x0002, u32(0x409)), // PROJECTLCID
    record(0x0014, u32(0x409)), // PROJECTLCIDINVOKE
    record(0x0003, u16(1252)), // PROJECTCODEPAGE
    record(0x0004, ascii('VBAProject')), // PROJECTNAME
    record(0x0005, Buffer.alloc(0)), // PROJECTDOCSTRING ...
    record(0x0040, Buffer.alloc(0)), // ... and its Unicode form
    record(0x0006, Buffer.alloc(0)), // PROJECTHELPFILEPATH ...
    record(0x003d, Buffer.alloc(0)), // ... second copy
    record(0x0007, u32(0)), // PROJECTHELPCONTEXT
    record(0x0008, u32(0)), // PROJECTLIBFLAGS
    Buffer.concat([u16(0x0009), u32(4), u32(1), u16(0)]), // PROJECTVERSION (Reserved = 4, no size)
    record(0x000c, Buffer.alloc(0)), // PROJECTCONSTANTS ...
    record(0x003c, Buffer.alloc(0)), // ... Unicode form
    // No REFERENCE records. PROJECTMODULES: count, then the project cookie.
    record(0x000f, u16(1)),
    record(0x0013, u16(0xffff)),
    // MODULE record.
    record(0x0019, ascii(moduleName)), // MODULENAME
    record(0x0047, Buffer.from(moduleName, 'utf16le')), // MODULENAMEUNICODE
    record(0x001a, ascii(moduleName)), // MODULESTREAMNAME ...
    record(0x0032, Buffer.from(moduleName, 'utf16le')), // ... Unicode form
    record(0x001c, Buffer.alloc(0)), // MODULEDOCSTRING ...
    record(0x0048, Buffer.alloc(0)), // ... Unicode form
    record(0x0031, u32(0)), // MODULEOFFSET: source starts at 0 (no p-code)
    record(0x001e, u32(0)), // MODULEHELPCONTEXT
    record(0x002c, u16(0xffff)), // MODULECOOKIE
    Buffer.concat([u16(0x0021), u32(0)]), // MODULETYPE: procedural
    Buffer.concat([u16(0x002b), u32(0)]), // module TERMINATOR
    Buffer.concat([u16(0x0010), u32(0)]), // dir TERMINATOR
  ]);
}

/** A `vbaProject.bin` with one standard module holding `source` (VBA text, CRLF line ends). */
export function makeVbaProject(moduleName: string, source: string): Buffer {
  const project = [
    'ID="{00000000-0000-0000-0000-000000000000}"',
    `Module=${moduleName}`,
    'Name="VBAProject"',
    'HelpContextID="0"',
    'VersionCompatible32="393222000"',
    '',
    '[Host Extender Info]',
    '&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000',
    '',
  ].join('\r\n');
  const code = `Attribute VB_Name = "${moduleName}"\r\n${source.replace(/\r?\n/g, '\r\n')}`;
  return makeCompoundFile([
    { name: 'PROJECT', data: ascii(project) },
    {
      name: 'VBA',
      children: [
        { name: '_VBA_PROJECT', data: Buffer.from([0xcc, 0x61, 0xff, 0xff, 0x00, 0x00, 0x00]) },
        { name: 'dir', data: ovbaCompress(dirStream(moduleName)) },
        { name: moduleName, data: ovbaCompress(ascii(code)) },
      ],
    },
  ]);
}
