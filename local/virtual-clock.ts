import type { Clock } from '../lambdas/core/contracts/clock';

/** A caller blocked until the clock reaches `wakeAt`. */
interface Sleeper {
  wakeAt: number;
  /** Registration order: sleepers due at the same time wake in the order they went to sleep. */
  seq: number;
  wake: () => void;
}

/** Why a sleep ended early: its execution ended (aborted, timed out) before the wake time. */
export class SleepCancelledError extends Error {
  override name = 'SleepCancelledError';
}

/**
 * A discrete-event clock for the local runtime: Wait states and Retry intervals sleep on it instead
 * of on the wall clock, and time moves only by jumps from one pending wake time to the next.
 *
 * Time stands still while anything is in flight ({@link inFlight}: Lambda handler calls and the I/O
 * they do, emulator requests included); once nothing is, the clock jumps to the earliest pending wake
 * and wakes every sleeper due then. So each Wait wakes at its own time, concurrent executions wait in
 * parallel as on AWS (two executions waiting 60 s move the clock by 60 s, not 120 s), and no request
 * is overtaken by a jump: a rate limiter's window, a vendor's task lifecycle and a deadline all see
 * the schedule a deployed pipeline would have. Work takes no virtual time, as events of a
 * discrete-event simulation do.
 */
export class VirtualClock implements Clock {
  private current: number;
  private readonly start: number;
  private active = 0;
  private seq = 0;
  /** Pending sleepers, earliest wake first (ties by registration). */
  private readonly sleepers: Sleeper[] = [];
  private tickScheduled = false;

  constructor(start = Date.now()) {
    this.current = start;
    this.start = start;
  }

  now(): number {
    return this.current;
  }

  /** How far time has moved since the clock started, in milliseconds. */
  get elapsedMs(): number {
    return this.current - this.start;
  }

  /** Sleepers not woken yet. */
  get pendingSleepers(): number {
    return this.sleepers.length;
  }

  /** Resolves once the clock has moved `ms` forward (at once for 0 or less); see {@link sleepUntil}. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.sleepUntil(this.current + Math.max(0, ms), signal);
  }

  /**
   * Resolves once the clock reads `wakeAt` or later: at once when it already does, else when the
   * clock jumps there. Rejects with {@link SleepCancelledError} if `signal` aborts first, and the
   * sleeper is forgotten, so an ended execution never pulls time forward.
   */
  sleepUntil(wakeAt: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isFinite(wakeAt)) return Promise.reject(new RangeError(`cannot sleep until ${wakeAt}`));
    if (signal?.aborted) return Promise.reject(new SleepCancelledError('the sleep was cancelled'));
    if (wakeAt <= this.current) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const at = this.sleepers.indexOf(sleeper);
        if (at >= 0) this.sleepers.splice(at, 1);
        reject(new SleepCancelledError('the sleep was cancelled'));
      };
      const sleeper: Sleeper = {
        wakeAt,
        seq: this.seq++,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.splice(this.insertionIndex(sleeper), 0, sleeper);
      this.scheduleTick();
    });
  }

  /**
   * Runs `work` as in-flight: time stands still until it settles, whatever sleepers are due, so
   * that I/O started at one virtual time completes at that time (a request admitted in a rate-limit
   * window reaches the vendor in that window).
   */
  async inFlight<T>(work: () => Promise<T>): Promise<T> {
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.scheduleTick();
    }
  }

  /**
   * Waits, inside {@link inFlight} work, for something that only the outside can release (a test
   * holding an execution at a gate): while it waits, the work counts as blocked, not in flight, so
   * the other executions' waits still end. Time may have moved when it resolves.
   */
  async blockedOn<T>(released: Promise<T>): Promise<T> {
    if (this.active === 0) throw new Error('blockedOn is for work running inFlight');
    this.active--;
    this.scheduleTick();
    try {
      return await released;
    } finally {
      this.active++;
    }
  }

  private insertionIndex(sleeper: Sleeper): number {
    let low = 0;
    let high = this.sleepers.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const other = this.sleepers[mid] as Sleeper;
      if (other.wakeAt < sleeper.wakeAt || (other.wakeAt === sleeper.wakeAt && other.seq < sleeper.seq)) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /**
   * Looks for quiescence after the current turn of the event loop: by then every promise chain that
   * was runnable (the engine moving an execution from state to state) has run, so an execution is
   * either in flight again or asleep.
   */
  private scheduleTick(): void {
    if (this.tickScheduled || this.active > 0 || this.sleepers.length === 0) return;
    this.tickScheduled = true;
    setImmediate(() => {
      this.tickScheduled = false;
      this.tick();
    });
  }

  private tick(): void {
    const first = this.sleepers[0];
    if (this.active > 0 || !first) return;
    this.current = Math.max(this.current, first.wakeAt);
    let due = 0;
    while (due < this.sleepers.length && (this.sleepers[due] as Sleeper).wakeAt <= this.current) due++;
    for (const sleeper of this.sleepers.splice(0, due)) sleeper.wake();
    // The woken may end without sleeping again or going in flight: look again for the next wake.
    this.scheduleTick();
  }
}
