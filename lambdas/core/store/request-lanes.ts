import type { SlotLimit } from './slot-reservations';

/**
 * A vendor's requests per minute are split in two lanes reserved apart: new submissions, and the
 * follow-up of work already at the vendor (status polls, report downloads, deletes). Without the
 * split a burst reserves every slot for hours of submissions ahead, and the analyses already running
 * could not poll until their deadline passed. Each submission needs at least two follow-up requests
 * (the status that says done, the report), so submissions get a quarter of the rate.
 */
export type RequestLane = 'submit' | 'follow-up';

/** The share of a vendor's requests per minute new submissions may use. */
export const SUBMIT_LANE_SHARE = 0.25;

/** The two lanes of `perMinute` requests a minute; under 2 a minute both share one limit. */
export function requestLanes(perMinute: number): Record<RequestLane, SlotLimit> {
  if (perMinute < 2) {
    const shared = { name: 'request', limit: perMinute, windowSeconds: 60 };
    return { submit: shared, 'follow-up': shared };
  }
  const submit = Math.max(1, Math.floor(perMinute * SUBMIT_LANE_SHARE));
  return {
    submit: { name: 'request:submit', limit: submit, windowSeconds: 60 },
    'follow-up': { name: 'request:follow-up', limit: perMinute - submit, windowSeconds: 60 },
  };
}

/** A vendor's submissions per UTC day (days are epoch-aligned windows, so they are UTC days). */
export function dailySubmissions(perDay: number): SlotLimit {
  return { name: 'submission', limit: perDay, windowSeconds: 86_400, spread: false };
}
