/**
 * Decoding of strace argument text: splitting an argument list, string literals with their escapes,
 * `-yy` fd annotations (`3</etc/passwd>`), argv arrays and modes. Only the calls the agent looks at
 * are decoded, so none of this is on the parser's hot path.
 */

/** Splits `a, "b, c", {x=1, y=2}, 3</p, q>` at its top-level commas. */
export function splitArgs(args: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  const n = args.length;
  for (let i = 0; i < n; i++) {
    const c = args[i];
    if (c === '"') {
      i = endOfString(args, i) - 1;
    } else if (c === '<') {
      i = endOfAnnotation(args, i) - 1;
    } else if (c === '(' || c === '[' || c === '{') {
      depth++;
    } else if (c === ')' || c === ']' || c === '}') {
      depth--;
    } else if (c === ',' && depth === 0) {
      out.push(args.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = args.slice(start).trim();
  if (last.length > 0 || out.length > 0) out.push(last);
  return out;
}

function endOfString(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i + 1;
  }
  return s.length;
}

function endOfAnnotation(s: string, start: number): number {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '"') i = endOfString(s, i) - 1;
    else if (c === '<') depth++;
    else if (c === '>' && s[i - 1] !== '-' && --depth === 0) return i + 1;
  }
  return s.length;
}

const SIMPLE_ESCAPES: Record<string, number> = {
  n: 10,
  t: 9,
  r: 13,
  v: 11,
  f: 12,
  a: 7,
  b: 8,
  e: 27,
  '\\': 92,
  '"': 34,
  "'": 39,
};

/** Decodes strace's escaped text (string literal bodies and annotation bodies) to a UTF-8 string. */
export function unescapeStrace(body: string): string {
  if (!body.includes('\\')) return body;
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\' || i + 1 >= body.length) {
      bytes.push(body.charCodeAt(i) & 0xff);
      continue;
    }
    const next = body[i + 1] as string;
    if (next === 'x') {
      bytes.push(parseInt(body.slice(i + 2, i + 4), 16) || 0);
      i += 3;
    } else if (next >= '0' && next <= '7') {
      let j = i + 1;
      while (j < i + 4 && j < body.length && (body[j] as string) >= '0' && (body[j] as string) <= '7') j++;
      bytes.push(parseInt(body.slice(i + 1, j), 8) & 0xff);
      i = j - 1;
    } else {
      bytes.push(SIMPLE_ESCAPES[next] ?? next.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** A decoded string argument; `truncated` when strace cut it at `-s` (`"..."...`). */
export interface DecodedString {
  value: string;
  truncated: boolean;
}

/** Decodes a string-literal argument; null when the argument is not one (a NULL or an address). */
export function decodeString(arg: string | undefined): DecodedString | null {
  if (arg?.[0] !== '"') return null;
  const end = endOfString(arg, 0);
  return { value: unescapeStrace(arg.slice(1, end - 1)), truncated: arg.slice(end).startsWith('...') };
}

/** An fd argument or return with its `-y` annotation: `3</etc/passwd>`, `AT_FDCWD</tmp>`. */
export interface AnnotatedFd {
  fd: string;
  /** The annotation body, unescaped: a path, or `TCP:[...]`-style socket text. */
  target: string | null;
}

/** Splits an annotated fd; the target is null without `-y`. */
export function decodeFd(text: string | undefined): AnnotatedFd {
  if (!text) return { fd: '', target: null };
  const lt = text.indexOf('<');
  if (lt < 0) return { fd: text.split(' ')[0] ?? text, target: null };
  const end = endOfAnnotation(text, lt);
  return { fd: text.slice(0, lt), target: unescapeStrace(text.slice(lt + 1, end - 1)) };
}

/** Decodes `["sh", "-c", "x"]` (possibly cut: `["a", ...]`). */
export function decodeArgv(arg: string | undefined, max: number): string[] {
  if (arg?.[0] !== '[') return [];
  const inner = arg.slice(1, arg.lastIndexOf(']') > 0 ? arg.lastIndexOf(']') : undefined);
  const out: string[] = [];
  for (const part of splitArgs(inner)) {
    if (out.length >= max) break;
    const s = decodeString(part);
    if (s) out.push(s.truncated ? `${s.value}...` : s.value);
  }
  return out;
}

/** The numeric permission bits of a mode argument (`0755`, `04755`, `S_IFREG|0644`); null when absent. */
export function decodeMode(arg: string | undefined): number | null {
  if (!arg) return null;
  const match = /(?:^|\|)(0[0-7]*)$/.exec(arg.trim());
  return match ? parseInt(match[1] as string, 8) : null;
}

/** Reads `name=value` out of a struct argument (`{flags=O_RDONLY, mode=0}`). */
export function structField(arg: string | undefined, name: string): string | undefined {
  if (arg?.[0] !== '{') return undefined;
  for (const part of splitArgs(arg.slice(1, -1))) if (part.startsWith(`${name}=`)) return part.slice(name.length + 1);
  return undefined;
}

/** Decodes a sockaddr struct as strace prints it for connect/sendto/bind. */
export function decodeSockaddr(
  arg: string | undefined,
): { family: string; address: string | null; port: number | null } | null {
  if (!arg?.startsWith('{sa_family=')) return null;
  const family = /sa_family=(\w+)/.exec(arg)?.[1] ?? 'AF_UNSPEC';
  const port = /htons\((\d+)\)/.exec(arg)?.[1];
  const inet = /inet_addr\("([^"]+)"\)/.exec(arg)?.[1] ?? /inet_pton\(AF_INET6, "([^"]+)"/.exec(arg)?.[1];
  const unix = /sun_path=(@?"(?:[^"\\]|\\.)*")/.exec(arg)?.[1];
  const address =
    inet ??
    (unix
      ? unix.startsWith('@')
        ? `@${decodeString(unix.slice(1))?.value ?? ''}`
        : (decodeString(unix)?.value ?? null)
      : null);
  return { family, address, port: port === undefined ? null : Number(port) };
}

/**
 * The file path of an fd annotation (`3</home/x/.bashrc>`, `AT_FDCWD</tmp>`), as the kernel named
 * the open file; null when there is none or it is not a path (a socket, a pipe, an anonymous inode).
 * A device's nested annotation (`</dev/null<char 1:3>>`) and the ` (deleted)` the kernel adds to
 * an unlinked file are not part of the path. Paths have their own `<` escaped, so the first raw
 * `<` inside the annotation starts a nested one.
 */
export function fdPath(text: string | undefined): string | null {
  if (!text) return null;
  const lt = text.indexOf('<');
  if (lt < 0) return null;
  let body = text.slice(lt + 1, endOfAnnotation(text, lt) - 1);
  const nested = body.indexOf('<');
  if (nested >= 0) body = body.slice(0, nested);
  if (body[0] !== '/') return null;
  const path = unescapeStrace(body);
  return path.endsWith(' (deleted)') ? path.slice(0, -10) : path;
}
