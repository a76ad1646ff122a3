import * as z from 'zod';
import type { VendorId } from '../core/contracts/pipeline';
import { parseNaiveTime } from '../core/contracts/time-zones';
import type { ItemStatus } from '../core/connector/connector';
import { BaseConnector, itemStatus } from './base-connector';

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
}): number | undefined {
  if (task.state === 'pending') return task.timeoutSeconds + task.processingSeconds;
  if (task.state !== 'running' || task.startedOn === undefined) return undefined;
  const runLeft = Math.max(0, (task.startedOn + task.timeoutSeconds * 1000 - task.now) / 1000);
  return runLeft + task.processingSeconds;
}

/** A task as `tasks/view` shows it in Cuckoo and CAPE (Cuckoo wraps it in `{"task": …}`). */
export const TaskView = z.object({
  id: z.number().int(),
  /** The scheduler's state: `pending`, `running`, `completed`, `reported`, `failed_*`, … */
  status: z.string(),
  timeout: z.number().nullable().optional(),
  added_on: z.string().nullable().optional(),
  /** When the run started, once it has: a naive wall-clock time in the vendor's time zone (`timeZone`). */
  started_on: z.string().nullable().optional(),
  errors: z.array(z.unknown()).optional(),
});

/** A task with the run time it was given, in seconds, as the vendor's API means a missing or zero `timeout`. */
export type FamilyTask = z.infer<typeof TaskView> & { timeoutSeconds: number };

/**
 * The `tasks/create/file` options Cuckoo and CAPE share, what to run and where, first in both lists;
 * each adds its own after them.
 */
export const TASK_OPTIONS = ['package', 'options', 'priority', 'machine', 'platform', 'tags', 'custom'] as const;

/**
 * Cuckoo and its fork CAPE share a task lifecycle (pending → running → completed → reported, or a
 * `failed_*` state): the report exists only at `reported`, a failed state ends the poll, and while the
 * task runs its start and timeout say when to look again. A connector supplies how it reads a task,
 * its failed states, and what a failed task means.
 */
export abstract class CuckooFamilyConnector<Id extends VendorId> extends BaseConnector<Id> {
  /** Task states after which no report will ever come. */
  protected abstract readonly failedStates: ReadonlySet<string>;

  /** The task as the vendor's API shows it. */
  protected abstract task(itemId: string): Promise<FamilyTask>;

  /** What a task in a failed state means: a failed analysis with its reason, or a typed error. */
  protected abstract failure(task: FamilyTask): ItemStatus;

  async status(itemId: string): Promise<ItemStatus> {
    const task = await this.task(itemId);
    const state = task.status;
    if (state === 'reported') return itemStatus.ready(state);
    if (this.failedStates.has(state)) return this.failure(task);
    const pollAfterSeconds = taskPollHint({
      state,
      // Naive: the sandbox's wall clock, in the zone the vendor's configuration names (UTC by default).
      startedOn: parseNaiveTime(task.started_on, this.config.timeZone),
      timeoutSeconds: task.timeoutSeconds,
      processingSeconds: this.processingSeconds(),
      now: this.clock.now(),
    });
    return itemStatus.inProgress(state, pollAfterSeconds);
  }
}
