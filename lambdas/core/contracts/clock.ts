/** Time as the pipeline sees it. Production reads the wall clock; the local runtime can run a virtual one. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
