import type { PollPolicy } from '../../config/runtime-config';

/** What a vendor's status call tells us about when to look again. */
export interface PollHint {
  /** The vendor's own estimate of the seconds left, when it gives one. */
  etaSeconds?: number;
  /**
   * How long this vendor's analyses have taken (learnt from the ones that ended): the first look is
   * aimed no earlier, whatever the vendor estimates, since the vendor's estimate may cover its run
   * but not the processing after it. Until an analysis is half again as old it should be ready any
   * moment, so the schedule's short steps pace the next looks, not its age.
   */
  learntSeconds?: number;
  /** Seconds since the submission, for the policy's `elapsedFraction`. */
  elapsedSeconds?: number;
}

/**
 * An analysis this many times as old as the vendor's learnt duration is past what that duration
 * says: from then on its age paces the looks. Before, it should be ready any moment.
 */
const PAST_USUAL = 1.5;

/**
 * Seconds to wait before the next poll: the vendor's estimate when it gives one (and hints are on),
 * otherwise the policy's backoff schedule, and after the first look no less than `elapsedFraction`
 * of the time taken so far once the analysis is well past the vendor's usual (a vendor new to us
 * still processing at 240 s is asked again at 300 s, not at 270 s and 330 s); before the first look,
 * no less than the vendor's learnt duration; always within [min, max] and never past the deadline.
 */
export function nextPollWait(
  policy: PollPolicy,
  attempt: number,
  secondsToDeadline: number,
  hint: PollHint = {},
): number {
  const schedule = policy.scheduleSeconds;
  const fromSchedule = schedule[Math.min(attempt, schedule.length - 1)] ?? schedule[schedule.length - 1] ?? 60;
  const paced =
    attempt > 0 &&
    hint.elapsedSeconds !== undefined &&
    (hint.learntSeconds === undefined || hint.elapsedSeconds >= hint.learntSeconds * PAST_USUAL)
      ? Math.max(fromSchedule, hint.elapsedSeconds * policy.elapsedFraction)
      : fromSchedule;
  const hinted =
    policy.useVendorHints && hint.etaSeconds !== undefined && hint.etaSeconds > 0 ? hint.etaSeconds : paced;
  const wanted = attempt === 0 && hint.learntSeconds !== undefined ? Math.max(hinted, hint.learntSeconds) : hinted;
  const bounded = Math.min(policy.maxWaitSeconds, Math.max(policy.minWaitSeconds, Math.ceil(wanted)));
  return Math.max(1, Math.min(bounded, Math.ceil(secondsToDeadline)));
}
