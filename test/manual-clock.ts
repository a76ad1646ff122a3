import type { Clock } from '../lambdas/core/contracts/clock';

/** A clock that moves only when a test moves it: `ms` is its time, epoch milliseconds. */
export class ManualClock implements Clock {
  constructor(public ms: number = Date.UTC(2030, 0, 15, 12, 0, 0)) {}

  now(): number {
    return this.ms;
  }

  /** Moves the clock on by `seconds`. */
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}
