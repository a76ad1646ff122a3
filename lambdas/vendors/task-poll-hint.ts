/**
 * When a Cuckoo-family task (Cuckoo, CAPE) is worth polling again, in seconds: a pending task needs
 * its whole run plus processing; a running one what is left of its run plus processing (never less
 * than the processing); in other states there is no estimate.
 */
export function taskPollHint(task: {
  state: string;
  /** When the run started, epoch ms (undefined before it starts, or when the vendor did not say). */
  startedOn: number | undefined;
  timeoutSeconds: number;
  processingSeconds: number;
  now: number;
}): { pollAfterSeconds?: number } {
  if (task.state === 'pending') return { pollAfterSeconds: task.timeoutSeconds + task.processingSeconds };
  if (task.state !== 'running' || task.startedOn === undefined) return {};
  const runLeft = Math.max(0, (task.startedOn + task.timeoutSeconds * 1000 - task.now) / 1000);
  return { pollAfterSeconds: runLeft + task.processingSeconds };
}
