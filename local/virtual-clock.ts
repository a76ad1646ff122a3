import type { Clock } from '../lambdas/core/clock';

/**
 * A clock that Wait states move forward instead of sleeping: the local runtime skips each wait and
 * advances this clock by its length, so handlers, rate limiters and vendor emulators see the time
 * pass that a deployed execution would have waited. Between waits it follows the wall clock.
 * With concurrent executions every wait moves the one clock, so time runs faster than it would.
 */
export class VirtualClock implements Clock {
  private offsetMs = 0;
  private pendingMs = 0;
  private holds = 0;
  private frozenAt?: number;

  now(): number {
    return this.frozenAt ?? Date.now() + this.offsetMs;
  }

  /** Moves time forward (once every hold is released, if any). */
  advance(ms: number): void {
    if (ms <= 0) return;
    if (this.holds > 0) this.pendingMs += ms;
    else this.offsetMs += ms;
  }

  hold(): () => void {
    if (this.holds++ === 0) this.frozenAt = Date.now() + this.offsetMs;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds > 0) return;
      this.frozenAt = undefined;
      this.offsetMs += this.pendingMs;
      this.pendingMs = 0;
    };
  }

  /** Milliseconds added by waits so far. */
  get skippedMs(): number {
    return this.offsetMs;
  }
}
