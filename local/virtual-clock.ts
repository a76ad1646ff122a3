import type { Clock } from '../lambdas/core/clock';

/**
 * A clock that Wait states move forward instead of sleeping: the local runtime skips each wait and
 * advances this clock by its length, so handlers, rate limiters and vendor emulators see the time
 * pass that a deployed execution would have waited. Between waits it follows the wall clock.
 * With concurrent executions every wait moves the one clock, so time runs faster than it would.
 */
export class VirtualClock implements Clock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Moves time forward. */
  advance(ms: number): void {
    if (ms > 0) this.offsetMs += ms;
  }

  /** Milliseconds added by waits so far. */
  get skippedMs(): number {
    return this.offsetMs;
  }
}
