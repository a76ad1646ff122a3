/** A file type as routing and reports name it, with its MIME type. */
export interface FileType {
  /** Short stable name, e.g. `elf`, `pe`, `pdf`, `zip`, `script-sh`, `text`, `binary`. */
  type: string;
  mime: string;
}

interface MagicRule {
  type: string;
  mime: string;
  offset: number;
  bytes: number[];
}

const rule = (type: string, mime: string, offset: number, signature: string | number[]): MagicRule => ({
  type,
  mime,
  offset,
  bytes: typeof signature === 'string' ? [...Buffer.from(signature, 'latin1')] : signature,
});

// Ordered: more specific signatures first.
const MAGIC: MagicRule[] = [
  rule('elf', 'application/x-executable', 0, [0x7f, 0x45, 0x4c, 0x46]),
  rule('pe', 'application/vnd.microsoft.portable-executable', 0, 'MZ'),
  rule('macho', 'application/x-mach-binary', 0, [0xcf, 0xfa, 0xed, 0xfe]),
  rule('macho', 'application/x-mach-binary', 0, [0xce, 0xfa, 0xed, 0xfe]),
  rule('macho', 'application/x-mach-binary', 0, [0xca, 0xfe, 0xba, 0xbe]),
  rule('pdf', 'application/pdf', 0, '%PDF-'),
  rule('zip', 'application/zip', 0, [0x50, 0x4b, 0x03, 0x04]),
  rule('zip', 'application/zip', 0, [0x50, 0x4b, 0x05, 0x06]),
  rule('gzip', 'application/gzip', 0, [0x1f, 0x8b]),
  rule('bzip2', 'application/x-bzip2', 0, 'BZh'),
  rule('xz', 'application/x-xz', 0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
  rule('7z', 'application/x-7z-compressed', 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]),
  rule('rar', 'application/vnd.rar', 0, 'Rar!\x1a\x07'),
  rule('tar', 'application/x-tar', 257, 'ustar'),
  rule('ole', 'application/x-ole-storage', 0, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
  rule('rtf', 'application/rtf', 0, '{\\rtf'),
  rule('png', 'image/png', 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  rule('jpeg', 'image/jpeg', 0, [0xff, 0xd8, 0xff]),
  rule('gif', 'image/gif', 0, 'GIF8'),
  rule('class', 'application/java-vm', 0, [0xca, 0xfe, 0xba, 0xbe, 0x00]),
  rule('wasm', 'application/wasm', 0, [0x00, 0x61, 0x73, 0x6d]),
  rule('lnk', 'application/x-ms-shortcut', 0, [0x4c, 0x00, 0x00, 0x00, 0x01, 0x14, 0x02, 0x00]),
];

const INTERPRETERS: Record<string, string> = {
  sh: 'script-sh',
  bash: 'script-sh',
  dash: 'script-sh',
  zsh: 'script-sh',
  ksh: 'script-sh',
  python: 'script-python',
  python2: 'script-python',
  python3: 'script-python',
  perl: 'script-perl',
  node: 'script-js',
  ruby: 'script-ruby',
  php: 'script-php',
};

const EXTENSIONS: Record<string, FileType> = {
  sh: { type: 'script-sh', mime: 'text/x-shellscript' },
  bash: { type: 'script-sh', mime: 'text/x-shellscript' },
  py: { type: 'script-python', mime: 'text/x-python' },
  pl: { type: 'script-perl', mime: 'text/x-perl' },
  js: { type: 'script-js', mime: 'text/javascript' },
  rb: { type: 'script-ruby', mime: 'text/x-ruby' },
  php: { type: 'script-php', mime: 'text/x-php' },
  ps1: { type: 'script-powershell', mime: 'text/x-powershell' },
  vbs: { type: 'script-vbs', mime: 'text/vbscript' },
  bat: { type: 'script-batch', mime: 'text/x-msdos-batch' },
  c: { type: 'source-c', mime: 'text/x-c' },
  html: { type: 'html', mime: 'text/html' },
  htm: { type: 'html', mime: 'text/html' },
  json: { type: 'json', mime: 'application/json' },
  md: { type: 'text', mime: 'text/markdown' },
};

const MIME_OF_SCRIPT: Record<string, string> = {
  'script-sh': 'text/x-shellscript',
  'script-python': 'text/x-python',
  'script-perl': 'text/x-perl',
  'script-js': 'text/javascript',
  'script-ruby': 'text/x-ruby',
  'script-php': 'text/x-php',
};

function matches(head: Buffer, magic: MagicRule): boolean {
  if (head.length < magic.offset + magic.bytes.length) return false;
  return magic.bytes.every((byte, i) => head[magic.offset + i] === byte);
}

function isText(head: Buffer): boolean {
  if (head.length === 0) return false;
  if (head.includes(0)) return false;
  const text = head.toString('utf8');
  let control = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code === 0xfffd || (code < 0x20 && ch !== '\n' && ch !== '\r' && ch !== '\t' && ch !== '\f')) control++;
  }
  // Allow a few stray bytes (a truncated multi-byte character at the end of the head, say).
  return control <= Math.max(2, text.length / 100);
}

/**
 * The program a shebang line names, without its directory: through `env` the first argument that is
 * neither an option nor a `NAME=value` assignment. Undefined when the file has no shebang.
 */
export function shebangProgram(head: Buffer): string | undefined {
  if (head[0] !== 0x23 || head[1] !== 0x21) return undefined;
  const line = head
    .subarray(2, head.indexOf(0x0a) === -1 ? head.length : head.indexOf(0x0a))
    .toString('latin1')
    .trim();
  const parts = line.split(/\s+/);
  const program = parts[0]?.split('/').pop() ?? '';
  if (program !== 'env') return program;
  return (
    parts
      .slice(1)
      .find((p) => !p.startsWith('-') && !p.includes('='))
      ?.split('/')
      .pop() ?? ''
  );
}

/** Looks a program up by its name, then by its name without a version (`python3.12` as `python`). */
export function byProgramName<T>(table: Readonly<Record<string, T>>, program: string): T | undefined {
  return table[program] ?? table[program.replace(/[0-9.]+$/, '')];
}

function shebangType(head: Buffer): string | undefined {
  const program = shebangProgram(head);
  return program === undefined ? undefined : byProgramName(INTERPRETERS, program);
}

/**
 * Names a file's type from its leading bytes, and from its name only where the bytes cannot tell
 * (scripts without a shebang, C sources). Magic bytes always win over the extension.
 */
export function detectFileType(head: Buffer, fileName = ''): FileType {
  if (head.length === 0) return { type: 'empty', mime: 'application/x-empty' };
  for (const magic of MAGIC) if (matches(head, magic)) return { type: magic.type, mime: magic.mime };
  const script = shebangType(head);
  if (script) return { type: script, mime: MIME_OF_SCRIPT[script] ?? 'text/plain' };
  if (!isText(head)) return { type: 'binary', mime: 'application/octet-stream' };
  const extension = fileName.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1] ?? '';
  const byExtension = EXTENSIONS[extension];
  if (byExtension) return byExtension;
  const start = head.toString('utf8', 0, 512).trimStart().toLowerCase();
  if (start.startsWith('<!doctype html') || start.startsWith('<html')) return { type: 'html', mime: 'text/html' };
  if (start.startsWith('<?xml')) return { type: 'xml', mime: 'application/xml' };
  return { type: 'text', mime: 'text/plain' };
}
