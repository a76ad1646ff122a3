import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../contracts/clock';

/** A reserved turn of a task slot: when the task may start, until when the slot is its own. */
export interface TaskSlot {
  /** Which of the `count` slots. */
  slot: number;
  /** Epoch milliseconds at which the task may start (now, or when the slot's previous holder's time is up). */
  at: number;
  /** Epoch milliseconds until which the slot is held: `at` plus the hold. */
  until: number;
}

/** Rounds of (append, start) before giving up: a round fails only when a slot turns free and busy between its two writes. */
const MAX_ATTEMPTS = 5;

/** Thrown when a slot's item kept changing under a reservation; the state machine retries it. */
export class TaskSlotContentionError extends Error {
  constructor(scope: string) {
    super(`${scope}: the task slot changed under ${MAX_ATTEMPTS} reservations in a row`);
    this.name = 'TaskSlotContentionError';
  }
}

/** The error name the reserving state retries. */
export const TASK_SLOT_CONTENTION_ERROR = 'TaskSlotContentionError';

/**
 * Turns of `count` concurrent task slots (our detonation tasks against the account's Fargate
 * capacity), reserved ahead: a task takes the next turn of a slot and its execution waits exactly until
 * then, so 50 detonations against 3 slots cost one Wait each and none fails for want of capacity.
 *
 * A ticket counter deals reservations round the slots (one atomic increment); each slot's item holds
 * until when it is taken, and a reservation extends that by the turn's length with an atomic
 * addition, so a burst queues without read-modify-write races. A task that ends early gives the rest of its turn back, when nobody has
 * queued behind it yet.
 */
export class TaskSlots {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  /** Reserves the next turn of one of `count` slots of `scope`, held `holdMs` from its start, for `holder`. */
  async reserve(scope: string, count: number, holdMs: number, holder: string): Promise<TaskSlot> {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`${scope}: ${count} task slots`);
    const ticket = await this.ddb.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `TASKSLOTS#${scope}`, sk: 'TICKETS' },
        UpdateExpression: 'ADD #next :one',
        ExpressionAttributeNames: { '#next': 'next' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const slot = (Number(ticket.Attributes?.next) - 1) % count;
    const key = { pk: `TASKSLOTS#${scope}#${slot}`, sk: 'SLOT' };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.clock.now();
      // A busy slot: the turn is appended behind the last one, by one atomic addition (no read, no
      // race: concurrent reservations each get their own turn in the order DynamoDB applies them).
      try {
        const queued = await this.ddb.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'ADD busyUntil :hold SET holder = :holder, expiresAt = :expires',
            ConditionExpression: 'busyUntil >= :now',
            ExpressionAttributeValues: {
              ':hold': holdMs,
              ':holder': holder,
              ':now': now,
              // Refreshed on every turn: a day after the last turn could end.
              ':expires': Math.ceil(now / 1000) + 86_400 * 30,
            },
            ReturnValues: 'UPDATED_NEW',
          }),
        );
        const until = Number(queued.Attributes?.busyUntil);
        return { slot, at: until - holdMs, until };
      } catch (error) {
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      }
      // A free slot: the turn starts now, unless another reservation took the slot in between (then
      // the addition above queues behind it on the next attempt).
      try {
        await this.ddb.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'SET busyUntil = :until, holder = :holder, expiresAt = :expires',
            ConditionExpression: 'attribute_not_exists(busyUntil) OR busyUntil < :now',
            ExpressionAttributeValues: {
              ':until': now + holdMs,
              ':holder': holder,
              ':now': now,
              ':expires': Math.ceil(now / 1000) + 86_400 * 30,
            },
          }),
        );
        return { slot, at: now, until: now + holdMs };
      } catch (error) {
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      }
    }
    throw new TaskSlotContentionError(scope);
  }

  /**
   * Gives back the rest of a turn once its task ended: the slot is free from now, if its turn is still
   * the last one reserved (a reservation behind it was promised a start already, and keeps it).
   * Returns whether it was given back.
   */
  async release(scope: string, taken: TaskSlot, holder: string): Promise<boolean> {
    const now = this.clock.now();
    if (now >= taken.until) return false;
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `TASKSLOTS#${scope}#${taken.slot}`, sk: 'SLOT' },
          UpdateExpression: 'SET busyUntil = :now',
          ConditionExpression: 'holder = :holder AND busyUntil = :until',
          ExpressionAttributeValues: { ':now': now, ':holder': holder, ':until': taken.until },
        }),
      );
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
