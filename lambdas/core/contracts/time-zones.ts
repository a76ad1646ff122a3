/**
 * Naive timestamps: `YYYY-MM-DD HH:MM:SS` without an offset, as Cuckoo and CAPE store them. They
 * are wall-clock times of some IANA time zone (the sandbox host's, or the one its configuration
 * names), so reading them as UTC is right only for hosts that run on UTC. Everything here uses the
 * `Intl` time zone data Node ships with: no dependency, no Temporal.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A formatter giving the wall-clock fields of an instant in `timeZone`; throws a RangeError for an unknown zone. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** True when `name` is a time zone `Intl` knows (an IANA name such as `Europe/Berlin`, or `UTC`). */
export function isTimeZone(name: string): boolean {
  try {
    formatterFor(name);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock fields of instant `ms` in `timeZone`. */
function wallFields(
  ms: number,
  timeZone: string,
): Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number> {
  const fields = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(timeZone).formatToParts(ms)) {
    if (part.type in fields) fields[part.type as keyof typeof fields] = Number(part.value);
  }
  return fields;
}

/** How far `timeZone` is ahead of UTC at instant `ms`, in milliseconds (east of UTC positive). */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const f = wallFields(ms, timeZone);
  const wallAsUtc = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  return wallAsUtc - Math.floor(ms / 1000) * 1000;
}

/** Instant `ms` as a naive `YYYY-MM-DD HH:MM:SS` wall-clock time in `timeZone`. */
export function naiveWallClock(ms: number, timeZone = 'UTC'): string {
  const f = wallFields(ms, timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${String(f.year).padStart(4, '0')}-${two(f.month)}-${two(f.day)} ${two(f.hour)}:${two(f.minute)}:${two(f.second)}`;
}

/**
 * A naive timestamp read as a wall-clock time in `timeZone`, as epoch milliseconds; an explicit `Z` or
 * offset, where one appears, wins over the zone. Undefined when the value is missing or not a date.
 * A wall time that occurs twice (the hour a zone turns its clocks back) is read as one of the two.
 */
export function parseNaiveTime(value: string | null | undefined, timeZone = 'UTC'): number | undefined {
  if (!value) return undefined;
  const iso = value.trim().replace(' ', 'T');
  if (/[zZ]$|[+-]\d\d:?\d\d$/.test(iso)) {
    const ms = Date.parse(iso);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const wallAsUtc = Date.parse(`${iso}Z`);
  if (Number.isNaN(wallAsUtc)) return undefined;
  // The offset at the wall time read as UTC is off by at most one zone transition; a second look settles it.
  const first = wallAsUtc - zoneOffsetMs(wallAsUtc, timeZone);
  const offset = zoneOffsetMs(first, timeZone);
  return wallAsUtc - offset;
}
