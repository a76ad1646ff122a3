/** Time as the pipeline sees it. Production reads the wall clock; the local runtime can run a virtual one. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Keeps time still until the returned function is called: a virtual clock does, so that a request
   * admitted by a rate limiter reaches the vendor in the window it was admitted in. The wall clock cannot.
   */
  hold?(): () => void;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
