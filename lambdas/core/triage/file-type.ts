import { fileTypeFromBuffer } from 'file-type';

/** A file type as routing and reports name it, with its MIME type. */
export interface FileType {
  /** Short stable name, e.g. `elf`, `pe`, `pdf`, `zip`, `script-sh`, `text`, `binary`. */
  type: string;
  mime: string;
}

/**
 * Our names for what `file-type` recognises, where routing, the detonation and the static engine
 * already use a name of their own (`pe` for file-type's `exe`, `ole` for its `cfb`, ...). Every other
 * type file-type names keeps file-type's extension as its name (`docx`, `jar`, `apk`, `mp4`, ...).
 */
const OUR_NAMES: Readonly<Record<string, string>> = {
  exe: 'pe',
  cfb: 'ole',
  gz: 'gzip',
  // A gzip'd tar is a gzip to the detonation's extractor and the static engine, which open both layers.
  'tar.gz': 'gzip',
  bz2: 'bzip2',
  jpg: 'jpeg',
};

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
 * (scripts without a shebang, C sources). Binary formats and containers are file-type's (a
 * maintained signature set that looks inside zip and OLE: docx, docm, xlsx, pptx, jar, apk, ...);
 * scripts and text are ours, since file-type does not name them. Magic bytes always win over the
 * extension.
 */
export async function detectFileType(head: Buffer, fileName = ''): Promise<FileType> {
  if (head.length === 0) return { type: 'empty', mime: 'application/x-empty' };
  const known = await fileTypeFromBuffer(head).catch(() => undefined);
  if (known) return { type: OUR_NAMES[known.ext] ?? known.ext, mime: known.mime };
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
