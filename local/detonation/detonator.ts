/** What a caller may give one detonation besides the task's environment. */
export interface DetonationOptions {
  /**
   * Stops the detonation: the container or box is killed and removed, the temporary copies deleted,
   * and `run` rejects with the signal's reason once they are (an analysis stopped by `--timeout` or
   * Ctrl-C must not leave a sample running until its own time limit).
   */
  signal?: AbortSignal;
}

/** Runs the detonation agent with a task's environment, as the Fargate task would; returns its exit code. */
export interface Detonator {
  /** Which detonator: a real one (the host's namespaces, Docker), or a stand-in a test gives. */
  readonly kind: 'host' | 'docker' | 'stand-in';
  run(env: Record<string, string>, options?: DetonationOptions): Promise<number>;
}

/** What a detonation stopped by `signal` rejects with: the signal's own reason, or an AbortError. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? Object.assign(new Error('the detonation was aborted'), { name: 'AbortError' });
}

/** Rejects with {@link abortReason} when `signal` has aborted; a check between a detonation's steps. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}
