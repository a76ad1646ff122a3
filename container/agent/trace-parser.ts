import { createReadStream } from 'node:fs';

/**
 * A streaming parser for `strace -f -ttt [-yy]` output: one line in, at most one event out, with
 * `<unfinished ...>` / `<... resumed>` pairs stitched per pid. It only splits lines; decoding the
 * arguments of the few calls that matter is left to `strace-args.ts`, so that a trace of a million
 * lines costs little more than reading it.
 */

/** A completed system call. */
export interface SyscallEvent {
  kind: 'syscall';
  pid: number;
  /** Epoch seconds, as strace -ttt prints them. */
  time: number;
  name: string;
  /** The raw argument text between the outer parentheses. */
  args: string;
  /** The raw return text after `= `, e.g. `3</etc/passwd>` or `-1 EACCES (Permission denied)`. */
  ret: string;
  /** The leading number of `ret`; null for `?`. */
  retval: number | null;
  /** `EACCES`, `ERESTARTSYS`...; null on success. */
  errno: string | null;
  line: string;
}

/** `+++ exited with N +++` or `+++ killed by SIGx +++`. */
export interface ExitEvent {
  kind: 'exit';
  pid: number;
  time: number;
  code: number | null;
  signal: string | null;
  line: string;
}

/** `--- SIGx {...} ---` (a signal delivered) or `--- stopped by SIGx ---`. */
export interface SignalEvent {
  kind: 'signal';
  pid: number;
  time: number;
  signal: string;
  line: string;
}

/**
 * A fork call entered and not yet returned (`vfork( <unfinished ...>`). Under load strace prints
 * the child's first lines before the parent's call returns the child's pid, so this is the only
 * sign, when they arrive, of whose child they are. The call itself follows as a SyscallEvent.
 */
export interface SpawningEvent {
  kind: 'spawning';
  pid: number;
  time: number;
  /** True for a `clone` or `clone3` with CLONE_THREAD: the child is a thread of `pid`'s process. */
  thread: boolean;
  line: string;
}

/** One event of the trace. */
export type TraceEvent = SyscallEvent | ExitEvent | SignalEvent | SpawningEvent;

/** Counts kept while parsing, for the report and the benchmark. */
export interface TraceStats {
  lines: number;
  syscalls: number;
  exits: number;
  signals: number;
  /** Resumed lines stitched to their unfinished start. */
  resumed: number;
  /** Unfinished calls still open at the end (the process was killed inside them). */
  unfinished: number;
  /** Lines that are not strace event lines (strace's own messages, garbage). */
  unparsed: number;
}

const UNFINISHED = ' <unfinished ...>';
/** The calls that make a process or a thread, as their unfinished lines begin. */
const FORK_START = /^(clone3?|v?fork)\(/;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Index just past the closing quote of the string literal opening at `start`. */
function skipString(s: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const q = s.indexOf('"', i);
    if (q < 0) return s.length;
    // An escaped quote has an odd number of backslashes before it.
    let b = q - 1;
    while (b >= i && s.charCodeAt(b) === BACKSLASH) b--;
    if ((q - b) % 2 === 1) return q + 1;
    i = q + 1;
  }
}

/**
 * Index just past a `-y` annotation opening at `start` (`<...>`). Paths in annotations have `<`, `>`
 * and `"` escaped with a backslash, so nesting (`</dev/null<char 1:3>>`) is literal; socket
 * annotations contain `->`, which never closes one.
 */
function skipAnnotation(s: string, start: number): number {
  let depth = 1;
  let i = start + 1;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) {
      i += 2; // an escaped character of a path (\", \76...)
      continue;
    }
    if (c === QUOTE) {
      i = skipString(s, i);
      continue;
    }
    if (c === 0x3c) depth++;
    else if (c === 0x3e && s.charCodeAt(i - 1) !== 0x2d && --depth === 0) return i + 1;
    i++;
  }
  return n;
}

/**
 * Index of the `)` closing the argument list that opens at `open`, respecting strings, annotations
 * and nested brackets; -1 when the line ends first. A file named `x) = 0` cannot fool it.
 */
export function closingParen(s: string, open: number): number {
  let depth = 0;
  let i = open;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) {
      i = skipString(s, i);
      continue;
    }
    if (c === 0x3c) {
      i = skipAnnotation(s, i);
      continue;
    }
    if (c === 0x28 || c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x29 || c === 0x5d || c === 0x7d) {
      depth--;
      if (depth === 0) return c === 0x29 ? i : -1;
    }
    i++;
  }
  return -1;
}

function parseReturn(ret: string): { retval: number | null; errno: string | null } {
  const c = ret.charCodeAt(0);
  if (c === 0x3f) {
    // `?` or `? ERESTARTSYS (To be restarted...)`
    const e = ret.length > 2 ? ret.slice(2, ret.indexOf(' ', 2) > 0 ? ret.indexOf(' ', 2) : undefined) : null;
    return { retval: null, errno: e };
  }
  let end = 0;
  if (c === 0x2d) end = 1;
  while (end < ret.length) {
    const d = ret.charCodeAt(end);
    if ((d >= 0x30 && d <= 0x39) || (d >= 0x61 && d <= 0x66) || d === 0x78) end++;
    else break;
  }
  const text = ret.slice(0, end);
  const retval = text.startsWith('0x') ? parseInt(text.slice(2), 16) : parseInt(text, 10);
  if (retval === -1 && ret.charCodeAt(end) === 0x20 && ret.charCodeAt(end + 1) === 0x45) {
    const stop = ret.indexOf(' ', end + 1);
    return { retval, errno: ret.slice(end + 1, stop > 0 ? stop : undefined) };
  }
  return { retval: Number.isNaN(retval) ? null : retval, errno: null };
}

/**
 * Turns strace text into events. Feed it chunks with `push` (they may split lines anywhere) and call
 * `end` once; events go to the callback in file order.
 */
export class TraceParser {
  readonly stats: TraceStats = { lines: 0, syscalls: 0, exits: 0, signals: 0, resumed: 0, unfinished: 0, unparsed: 0 };
  private carry = '';
  private readonly pending = new Map<number, string>();

  constructor(private readonly onEvent: (event: TraceEvent) => void) {}

  /** Parses every complete line of `chunk` (plus what the previous chunk left over). */
  push(chunk: string): void {
    const text = this.carry.length > 0 ? this.carry + chunk : chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      if (nl > start) this.line(text.slice(start, nl));
      start = nl + 1;
    }
    this.carry = start < text.length ? text.slice(start) : '';
  }

  /** Flushes the last line and returns the counts. */
  end(): TraceStats {
    if (this.carry.length > 0) this.line(this.carry);
    this.carry = '';
    this.stats.unfinished = this.pending.size;
    this.pending.clear();
    return this.stats;
  }

  /** Parses one line (without its newline). */
  line(line: string): void {
    this.stats.lines++;
    const n = line.length;
    let i = 0;
    let pid = 0;
    for (; i < n; i++) {
      const d = line.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) break;
      pid = pid * 10 + d;
    }
    if (i === 0 || line.charCodeAt(i) !== 0x20) {
      this.stats.unparsed++;
      return;
    }
    // strace pads the pid column to five characters.
    while (line.charCodeAt(i + 1) === 0x20) i++;
    // -ttt: seconds.microseconds, read digit by digit (faster than slicing and converting).
    let seconds = 0;
    let fraction = 0;
    let scale = 1;
    for (i++; i < n; i++) {
      const d = line.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) break;
      seconds = seconds * 10 + d;
    }
    if (line.charCodeAt(i) === 0x2e) {
      for (i++; i < n; i++) {
        const d = line.charCodeAt(i) - 0x30;
        if (d < 0 || d > 9) break;
        fraction = fraction * 10 + d;
        scale *= 10;
      }
    }
    if (line.charCodeAt(i) !== 0x20 || seconds === 0) {
      this.stats.unparsed++;
      return;
    }
    const time = seconds + fraction / scale;
    const at = i + 1;
    const first = line.charCodeAt(at);
    if (first === 0x2b && line.startsWith('+++ ', at)) {
      this.exit(pid, time, line, at);
      return;
    }
    if (first === 0x2d && line.startsWith('--- ', at)) {
      this.signal(pid, time, line, at);
      return;
    }
    if (first === 0x3c && line.startsWith('<... ', at)) {
      const close = line.indexOf(' resumed>', at);
      if (close < 0) {
        this.stats.unparsed++;
        return;
      }
      const head = this.pending.get(pid);
      this.pending.delete(pid);
      this.stats.resumed++;
      const rest = (head ?? `${line.slice(at + 5, close)}(`) + line.slice(close + 9);
      if (rest.endsWith(UNFINISHED)) this.pending.set(pid, rest.slice(0, rest.length - UNFINISHED.length));
      // The stitched call, under the resumed line's pid and time, is the evidence line.
      else this.syscall(pid, time, line.slice(0, at) + rest, at);
      return;
    }
    if (line.charCodeAt(n - 1) === 0x3e && line.endsWith(UNFINISHED)) {
      const head = line.slice(at, n - UNFINISHED.length);
      this.pending.set(pid, head);
      if (FORK_START.test(head))
        this.onEvent({ kind: 'spawning', pid, time, thread: head.includes('CLONE_THREAD'), line });
      return;
    }
    this.syscall(pid, time, line, at);
  }

  /** `text` from `at` holds `name(args) = ret`; the whole of `text` is the evidence line. */
  private syscall(pid: number, time: number, text: string, at: number): void {
    const open = text.indexOf('(', at);
    // Fast path: when `) = ` occurs exactly once it is the separator (every call line has one).
    // Otherwise a string or a -yy path contains it too, and only the full scan can tell which.
    const once = open > at ? text.indexOf(') = ', open) : -1;
    const close = once >= 0 && once === text.lastIndexOf(') = ') ? once : open > at ? closingParen(text, open) : -1;
    if (close < 0) {
      this.stats.unparsed++;
      return;
    }
    // strace pads short calls with spaces before `=`.
    let eq = close + 1;
    while (text.charCodeAt(eq) === 0x20) eq++;
    if (text.charCodeAt(eq) !== 0x3d) {
      this.stats.unparsed++;
      return;
    }
    const ret = text.slice(eq + 2);
    // Inline for the common case (a plain number, maybe annotated); parseReturn for `?` and errors.
    let retval: number | null = 0;
    let errno: string | null = null;
    const c = ret.charCodeAt(0);
    if (c >= 0x30 && c <= 0x39 && ret.charCodeAt(1) !== 0x78) {
      for (let i = 0; i < ret.length; i++) {
        const d = ret.charCodeAt(i) - 0x30;
        if (d < 0 || d > 9) break;
        retval = retval * 10 + d;
      }
    } else {
      ({ retval, errno } = parseReturn(ret));
    }
    this.stats.syscalls++;
    this.onEvent({
      kind: 'syscall',
      pid,
      time,
      name: text.slice(at, open),
      args: text.slice(open + 1, close),
      ret,
      retval,
      errno,
      line: text,
    });
  }

  private exit(pid: number, time: number, line: string, at: number): void {
    this.stats.exits++;
    const body = line.slice(at + 4, line.length - 4);
    if (body.startsWith('exited with ')) {
      this.onEvent({ kind: 'exit', pid, time, code: parseInt(body.slice(12), 10), signal: null, line });
    } else if (body.startsWith('killed by ')) {
      const signal = body.slice(10).split(' ')[0] ?? 'SIGKILL';
      this.onEvent({ kind: 'exit', pid, time, code: null, signal, line });
    } else {
      // `superseded by execve in pid N`: a thread replaced by its group leader's exec, not an exit.
      this.stats.exits--;
      this.stats.unparsed++;
    }
  }

  private signal(pid: number, time: number, line: string, at: number): void {
    const match = /SIG[A-Z0-9+-]+/.exec(line.slice(at + 4, at + 64));
    if (!match) {
      this.stats.unparsed++;
      return;
    }
    this.stats.signals++;
    this.onEvent({ kind: 'signal', pid, time, signal: match[0], line });
  }
}

/** Parses a trace file as a stream: memory stays at one chunk whatever the size of the file. */
export async function parseTraceFile(path: string, onEvent: (event: TraceEvent) => void): Promise<TraceStats> {
  const parser = new TraceParser(onEvent);
  // latin1: strace escapes every non-ASCII byte, so no multi-byte character can straddle a chunk.
  const stream = createReadStream(path, { encoding: 'latin1', highWaterMark: 1 << 20 });
  for await (const chunk of stream) parser.push(chunk as string);
  return parser.end();
}
