import type { PollPolicy } from '../../config/runtime-config';

/** What a vendor's status call tells us about when to look again. */
export interface PollHint {
  /** The vendor's own estimate of the seconds left, when it gives one. */
  etaSeconds?: number;
}

/**
 * Seconds to wait before the next poll: the vendor's estimate when it gives one (and hints are on),
 * otherwise the policy's backoff schedule; always within [min, max] and never past the deadline.
 */
export function nextPollWait(
  policy: PollPolicy,
  attempt: number,
  secondsToDeadline: number,
  hint: PollHint = {},
): number {
  const schedule = policy.scheduleSeconds;
  const fromSchedule = schedule[Math.min(attempt, schedule.length - 1)] ?? schedule[schedule.length - 1] ?? 60;
  const wanted =
    policy.useVendorHints && hint.etaSeconds !== undefined && hint.etaSeconds > 0 ? hint.etaSeconds : fromSchedule;
  const bounded = Math.min(policy.maxWaitSeconds, Math.max(policy.minWaitSeconds, Math.ceil(wanted)));
  return Math.max(1, Math.min(bounded, Math.ceil(secondsToDeadline)));
}
