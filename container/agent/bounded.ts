import { REPORT_LIMITS } from '../../lambdas/core/contracts/detonation-report';

/**
 * Bounds for values the sample controls, applied when they are recorded. A sample chooses its
 * DNS names, HTTP headers, argv, file names and much of what the fake network counts; one value
 * the report schema refuses (an Infinity byte count, a 770-character name, a lone surrogate) would
 * otherwise make the whole report invalid and lose every indicator with it. Each function returns
 * something the schema accepts, and a `Clip` remembers whether anything was cut or clamped so the
 * record can say so.
 */

const LONE_SURROGATE_SOURCE = '[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]';
const LONE_SURROGATE = new RegExp(LONE_SURROGATE_SOURCE);
const LONE_SURROGATE_ALL = new RegExp(LONE_SURROGATE_SOURCE, 'g');

/** Records whether any value passed through it was cut or clamped. */
export class Clip {
  clipped = false;

  /** A well-formed string of at most `max` characters; longer ones end in `...`. */
  text(value: unknown, max: number = REPORT_LIMITS.text): string {
    let s = typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value);
    // A lone surrogate (invalid UTF-16, e.g. from invalid UTF-8 decoded upstream) cannot be encoded
    // as UTF-8 faithfully; replacing it keeps the JSON the agent uploads well-formed.
    if (LONE_SURROGATE.test(s)) {
      s = s.replace(LONE_SURROGATE_ALL, '\uFFFD');
      this.clipped = true;
    }
    if (s.length <= max) return s;
    this.clipped = true;
    let cut = s.slice(0, Math.max(0, max - 3));
    // Never end on the first half of a surrogate pair.
    if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
    return `${cut}...`;
  }

  /** `text`, or null when there is no value. */
  nullableText(value: unknown, max: number = REPORT_LIMITS.text): string | null {
    return value === null || value === undefined ? null : this.text(value, max);
  }

  /** A non-negative safe integer: NaN and negatives are 0, Infinity and huge values are clamped. */
  count(value: unknown): number {
    const n = typeof value === 'number' ? value : Number.NaN;
    if (Number.isNaN(n) || n < 0) {
      if (value !== 0) this.clipped = true;
      return 0;
    }
    if (n > Number.MAX_SAFE_INTEGER) {
      this.clipped = true;
      return Number.MAX_SAFE_INTEGER;
    }
    return Math.floor(n) || 0;
  }

  /** A non-negative finite number (seconds, CPU time). */
  seconds(value: unknown): number {
    const n = typeof value === 'number' ? value : Number.NaN;
    if (!Number.isFinite(n) || n < 0) {
      this.clipped = true;
      return 0;
    }
    return n || 0;
  }

  // `|| 0` below: -0 passes every range check but becomes 0 in the JSON report, so the report as
  // built and the report as read would differ.

  /** A TCP/UDP port, or null when the value is not one. */
  port(value: unknown): number | null {
    if (value === null || value === undefined) return null;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535) return value || 0;
    this.clipped = true;
    return null;
  }

  /** A process id (positive safe integer), or null. */
  pid(value: unknown): number | null {
    if (value === null || value === undefined) return null;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
    this.clipped = true;
    return null;
  }

  /** A uid (non-negative safe integer), or null. */
  uid(value: unknown): number | null {
    if (value === null || value === undefined) return null;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value || 0;
    this.clipped = true;
    return null;
  }

  /** An exit code (safe integer), or null. */
  integer(value: unknown): number | null {
    if (value === null || value === undefined) return null;
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value || 0;
    this.clipped = true;
    return null;
  }

  /** At most `max` items of a list that may not even be one. */
  list<T>(value: unknown, max: number): T[] {
    if (!Array.isArray(value)) {
      if (value !== undefined && value !== null) this.clipped = true;
      return [];
    }
    if (value.length > max) this.clipped = true;
    return value.slice(0, max) as T[];
  }

  /** `{ truncated: true }` when something was cut, to spread into the record. */
  flag(): { truncated?: true } {
    return this.clipped ? { truncated: true } : {};
  }
}

/** Seconds since `t0`, rounded to the millisecond, never negative or non-finite. */
export function offsetSeconds(time: unknown, t0: number, clip: Clip): number {
  const t = typeof time === 'number' && Number.isFinite(time) ? time : Number.NaN;
  if (Number.isNaN(t) || !Number.isFinite(t0)) {
    clip.clipped = true;
    return 0;
  }
  const seconds = Math.round((t - t0) * 1000) / 1000;
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
}
