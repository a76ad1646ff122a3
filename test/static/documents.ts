import { randomBytes } from 'node:crypto';
import { makeZip, type ZipEntry } from './containers';
import { makeVbaProject } from './ole';

/**
 * Inert samples for the static engine, built from parts: PDFs, OOXML documents, jar/apk, a PE
 * with chosen imports, and the EICAR test string (assembled here so that no file in the
 * repository contains it in one piece).
 */

/** The 68-byte EICAR anti-virus test string. */
export function eicar(): string {
  const prefix = ['X5O!P%@AP[4\\PZX54', '(P^)7CC)7}$'].join('');
  const label = ['EICAR', 'STANDARD', 'ANTIVIRUS', 'TEST', 'FILE!'].join('-');
  return `${prefix}${label}$H+H*`;
}

/** A PDF from object bodies (object n is `objects[n - 1]`), with a correct xref table. */
export function makePdf(objects: string[]): Buffer {
  let body = '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) body += `${offset.toString().padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

const PAGE_TREE = [
  '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
  '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>',
  '<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 720 Td (Hello, world) Tj ET\nendstream',
];

export const cleanPdf = () => makePdf(['<< /Type /Catalog /Pages 2 0 R >>', ...PAGE_TREE]);

/** Opens with a JavaScript action (an inert alert). */
export const javascriptPdf = () =>
  makePdf([
    '<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>',
    ...PAGE_TREE,
    "<< /Type /Action /S /JavaScript /JS (app.alert\\('sandtrap test'\\);) >>",
  ]);

const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
const R = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const PKG = 'http://schemas.openxmlformats.org/package/2006/relationships';

export interface DocxOptions {
  /** The body's inner XML. */
  body?: string;
  /** Relationships of word/settings.xml (remote templates live there). */
  settingsRels?: string;
  /** VBA source: makes the document a docm with a real vbaProject.bin. */
  macro?: { module: string; source: string };
}

/** A Word document as Word writes its skeleton: content types, package and part relationships. */
export function makeDocx(options: DocxOptions = {}): Buffer {
  const macro = options.macro;
  const main = macro
    ? 'application/vnd.ms-word.document.macroEnabled.main+xml'
    : 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml';
  const contentTypes = [
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">',
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>',
    '<Default Extension="xml" ContentType="application/xml"/>',
    macro ? '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>' : '',
    `<Override PartName="/word/document.xml" ContentType="${main}"/>`,
    '<Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>',
    '</Types>',
  ].join('');
  const documentRels = [
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="${PKG}">`,
    `<Relationship Id="rId1" Type="${R}/settings" Target="settings.xml"/>`,
    macro
      ? '<Relationship Id="rId2" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/>'
      : '',
    '</Relationships>',
  ].join('');
  const entries: ZipEntry[] = [
    { name: '[Content_Types].xml', data: contentTypes, deflate: true },
    {
      name: '_rels/.rels',
      data: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="${PKG}"><Relationship Id="rId1" Type="${R}/officeDocument" Target="word/document.xml"/></Relationships>`,
      deflate: true,
    },
    {
      name: 'word/document.xml',
      data: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="${W}" xmlns:r="${R}"><w:body>${options.body ?? '<w:p><w:r><w:t>Quarterly report</w:t></w:r></w:p>'}</w:body></w:document>`,
      deflate: true,
    },
    { name: 'word/_rels/document.xml.rels', data: documentRels, deflate: true },
    {
      name: 'word/settings.xml',
      data: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:settings xmlns:w="${W}" xmlns:r="${R}">${options.settingsRels ? '<w:attachedTemplate r:id="rId1"/>' : ''}<w:defaultTabStop w:val="720"/></w:settings>`,
      deflate: true,
    },
  ];
  if (options.settingsRels) entries.push({ name: 'word/_rels/settings.xml.rels', data: options.settingsRels });
  if (macro) entries.push({ name: 'word/vbaProject.bin', data: makeVbaProject(macro.module, macro.source) });
  return makeZip(entries);
}

/** settings.xml.rels pointing the attached template at a remote URL (template injection). */
export const remoteTemplateRels = (url: string) =>
  `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="${PKG}"><Relationship Id="rId1" Type="${R}/attachedTemplate" Target="${url}" TargetMode="External"/></Relationships>`;

/** A DDEAUTO field split over several instrText runs, as Word stores it. */
export const ddeBody = () =>
  [
    '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>',
    '<w:r><w:instrText xml:space="preserve"> DDE</w:instrText></w:r>',
    '<w:r><w:instrText xml:space="preserve">AUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k echo sandtrap-test" </w:instrText></w:r>',
    '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>!Unexpected End of Formula</w:t></w:r>',
    '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>',
  ].join('');

export const makeJar = () =>
  makeZip([
    { name: 'META-INF/MANIFEST.MF', data: 'Manifest-Version: 1.0\r\nMain-Class: demo.Main\r\n\r\n' },
    { name: 'demo/Main.class', data: Buffer.from('cafebabe00000034', 'hex') },
  ]);

export const makeApk = () =>
  makeZip([
    { name: 'AndroidManifest.xml', data: Buffer.from('03000800', 'hex') },
    { name: 'classes.dex', data: Buffer.from('dex\n035\0', 'latin1') },
    { name: 'META-INF/MANIFEST.MF', data: 'Manifest-Version: 1.0\r\n\r\n' },
  ]);

/**
 * A 32-bit PE that never runs (its entry point is a `ret` in a section of random bytes): an
 * import table naming `imports` (dll -> functions), a high-entropy executable section, and an
 * overlay, so that pefile has real structures to parse.
 */
export function makePe(imports: Record<string, string[]>): Buffer {
  const FILE_ALIGN = 0x200;
  const TEXT_RVA = 0x1000;
  const IDATA_RVA = 0x2000;
  const text = randomBytes(0x1000);
  text[0] = 0xc3; // ret

  // Import directory: descriptors, then per DLL its lookup table, address table, names.
  const dlls = Object.entries(imports);
  const descriptorsSize = (dlls.length + 1) * 20;
  const idata = Buffer.alloc(0x400);
  let cursor = descriptorsSize;
  const alloc = (size: number) => {
    const at = cursor;
    cursor += size + (size % 2);
    return at;
  };
  dlls.forEach(([dll, functions], i) => {
    const lookup = alloc((functions.length + 1) * 4);
    const addresses = alloc((functions.length + 1) * 4);
    const name = alloc(dll.length + 1);
    idata.write(dll, name, 'latin1');
    functions.forEach((fn, j) => {
      const hint = alloc(2 + fn.length + 1);
      idata.write(fn, hint + 2, 'latin1');
      idata.writeUInt32LE(IDATA_RVA + hint, lookup + j * 4);
      idata.writeUInt32LE(IDATA_RVA + hint, addresses + j * 4);
    });
    const descriptor = i * 20;
    idata.writeUInt32LE(IDATA_RVA + lookup, descriptor);
    idata.writeUInt32LE(IDATA_RVA + name, descriptor + 12);
    idata.writeUInt32LE(IDATA_RVA + addresses, descriptor + 16);
  });
  if (cursor > idata.length) throw new Error('import table too large for this builder');

  const headers = Buffer.alloc(FILE_ALIGN);
  headers.write('MZ', 0, 'latin1');
  headers.writeUInt32LE(0x40, 0x3c);
  headers.write('PE\0\0', 0x40, 'latin1');
  const coff = 0x44;
  headers.writeUInt16LE(0x14c, coff); // i386
  headers.writeUInt16LE(2, coff + 2); // sections
  headers.writeUInt16LE(0xe0, coff + 16); // optional header size
  headers.writeUInt16LE(0x0102, coff + 18); // executable, 32-bit
  const opt = coff + 20;
  headers.writeUInt16LE(0x10b, opt); // PE32
  headers.writeUInt32LE(text.length, opt + 4); // SizeOfCode
  headers.writeUInt32LE(idata.length, opt + 8); // SizeOfInitializedData
  headers.writeUInt32LE(TEXT_RVA, opt + 16); // AddressOfEntryPoint
  headers.writeUInt32LE(TEXT_RVA, opt + 20); // BaseOfCode
  headers.writeUInt32LE(IDATA_RVA, opt + 24); // BaseOfData
  headers.writeUInt32LE(0x400000, opt + 28); // ImageBase
  headers.writeUInt32LE(0x1000, opt + 32); // SectionAlignment
  headers.writeUInt32LE(FILE_ALIGN, opt + 36); // FileAlignment
  headers.writeUInt16LE(4, opt + 40); // OS version 4.0
  headers.writeUInt16LE(4, opt + 48); // subsystem version 4.0
  headers.writeUInt32LE(0x3000, opt + 56); // SizeOfImage
  headers.writeUInt32LE(FILE_ALIGN, opt + 60); // SizeOfHeaders
  headers.writeUInt16LE(2, opt + 68); // GUI subsystem
  headers.writeUInt32LE(0x100000, opt + 72);
  headers.writeUInt32LE(0x1000, opt + 76);
  headers.writeUInt32LE(0x100000, opt + 80);
  headers.writeUInt32LE(0x1000, opt + 84);
  headers.writeUInt32LE(16, opt + 92); // NumberOfRvaAndSizes
  headers.writeUInt32LE(IDATA_RVA, opt + 96 + 8); // import directory
  headers.writeUInt32LE(descriptorsSize, opt + 96 + 12);
  const section = (at: number, name: string, rva: number, raw: number, size: number, characteristics: number) => {
    headers.write(name, at, 8, 'latin1');
    headers.writeUInt32LE(size, at + 8); // VirtualSize
    headers.writeUInt32LE(rva, at + 12);
    headers.writeUInt32LE(size, at + 16); // SizeOfRawData
    headers.writeUInt32LE(raw, at + 20);
    headers.writeUInt32LE(characteristics >>> 0, at + 36);
  };
  const sections = opt + 0xe0;
  section(sections, '.text', TEXT_RVA, FILE_ALIGN, text.length, 0x60000020); // code, execute, read
  section(sections + 40, '.idata', IDATA_RVA, FILE_ALIGN + text.length, idata.length, 0xc0000040);
  const overlay = Buffer.alloc(2048, 0x41);
  return Buffer.concat([headers, text, idata, overlay]);
}
