import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../../../lambdas/core/config/runtime-config';
import { isTimeZone, naiveWallClock, parseNaiveTime } from '../../../../lambdas/core/contracts/time-zones';

describe('naive timestamps in a time zone', () => {
  it('reads a wall-clock time east of UTC as the earlier UTC instant', () => {
    expect(parseNaiveTime('2026-11-22 21:00:00', 'Asia/Tokyo')).toBe(Date.parse('2026-11-22T12:00:00Z'));
    expect(parseNaiveTime('2026-11-22 13:00:00', 'Europe/Berlin')).toBe(Date.parse('2026-11-22T12:00:00Z'));
    expect(parseNaiveTime('2026-11-22 07:00:00', 'America/New_York')).toBe(Date.parse('2026-11-22T12:00:00Z'));
  });

  it('follows daylight saving time: Berlin is UTC+2 in July', () => {
    expect(parseNaiveTime('2026-07-01 14:00:00', 'Europe/Berlin')).toBe(Date.parse('2026-07-01T12:00:00Z'));
    // Either side of the spring-forward instant (2026-03-29 01:00 UTC).
    expect(parseNaiveTime('2026-03-29 01:30:00', 'Europe/Berlin')).toBe(Date.parse('2026-03-29T00:30:00Z'));
    expect(parseNaiveTime('2026-03-29 03:30:00', 'Europe/Berlin')).toBe(Date.parse('2026-03-29T01:30:00Z'));
  });

  it('reads UTC by default, honours an explicit offset, and refuses what is not a date', () => {
    expect(parseNaiveTime('2026-11-22 12:00:00')).toBe(Date.parse('2026-11-22T12:00:00Z'));
    expect(parseNaiveTime('2026-11-22T12:00:00+01:00', 'Asia/Tokyo')).toBe(Date.parse('2026-11-22T11:00:00Z'));
    expect(parseNaiveTime('2026-11-22 12:00:00Z', 'Asia/Tokyo')).toBe(Date.parse('2026-11-22T12:00:00Z'));
    expect(parseNaiveTime('not a date', 'UTC')).toBeUndefined();
    expect(parseNaiveTime(null)).toBeUndefined();
  });

  it('writes the wall clock of an instant, and reads back what it wrote', () => {
    const at = Date.parse('2026-11-22T12:34:56Z');
    expect(naiveWallClock(at, 'Asia/Kolkata')).toBe('2026-11-22 18:04:56');
    for (const zone of ['UTC', 'Asia/Kolkata', 'Pacific/Auckland', 'America/Los_Angeles'])
      expect(parseNaiveTime(naiveWallClock(at, zone), zone)).toBe(at);
  });

  it('knows IANA names and refuses others, in the vendor settings too', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    const vendor = (extra: object) => ({
      vendors: [{ id: 'cape', baseUrl: 'https://cape.example.org/apiv2/', ...extra }],
    });
    expect(parseSettings(vendor({})).vendors[0]?.timeZone).toBe('UTC');
    expect(parseSettings(vendor({ timeZone: 'Asia/Tokyo' })).vendors[0]?.timeZone).toBe('Asia/Tokyo');
    expect(() => parseSettings(vendor({ timeZone: 'CEST+2' }))).toThrow(/vendors\[0\]\.timeZone|timeZone/);
  });
});
