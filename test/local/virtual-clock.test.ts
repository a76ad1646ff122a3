import { setTimeout as sleep } from 'node:timers/promises';
import { StateMachine } from 'aws-local-stepfunctions';
import { afterEach, describe, expect, it } from 'vitest';
import { allStates, type AslState } from '../../local/definition';
import { SleepCancelledError, VirtualClock } from '../../local/virtual-clock';
import { retryDelay, virtualTask, virtualTimeDefinition, virtualWait } from '../../local/virtual-states';
import { startCapeHarness, type CapeHarness } from '../support';

const T0 = Date.UTC(2026, 0, 1);

describe('VirtualClock', () => {
  it('stands still until something sleeps, then jumps to the wake time', async () => {
    const clock = new VirtualClock(T0);
    await sleep(20);
    expect(clock.now()).toBe(T0);
    await clock.sleep(300_000);
    expect(clock.now()).toBe(T0 + 300_000);
    expect(clock.elapsedMs).toBe(300_000);
  });

  it('moves by 60 s, not 120 s, for two sleepers waiting 60 s at the same time', async () => {
    const clock = new VirtualClock(T0);
    const woke = await Promise.all([0, 1].map(() => clock.sleep(60_000).then(() => clock.now() - T0)));
    expect(woke).toEqual([60_000, 60_000]);
    expect(clock.elapsedMs).toBe(60_000);
  });

  it('wakes a 10 s and a 30 s sleep at 10 s and 30 s', async () => {
    const clock = new VirtualClock(T0);
    const woke: [string, number][] = [];
    await Promise.all([
      clock.sleep(30_000).then(() => woke.push(['30 s', clock.now() - T0])),
      clock.sleep(10_000).then(() => woke.push(['10 s', clock.now() - T0])),
    ]);
    expect(woke).toEqual([
      ['10 s', 10_000],
      ['30 s', 30_000],
    ]);
  });

  it('never jumps while work is in flight: the work starts and ends at one time, the sleeper wakes after', async () => {
    const clock = new VirtualClock(T0);
    const order: string[] = [];
    const asleep = clock.sleep(10_000).then(() => order.push(`woke at ${clock.now() - T0}`));
    const work = clock.inFlight(async () => {
      const before = clock.now();
      await sleep(100); // real I/O that takes real time
      order.push(`work done at ${clock.now() - T0}`);
      return clock.now() - before;
    });
    expect(await work).toBe(0);
    await asleep;
    expect(order).toEqual(['work done at 0', 'woke at 10000']);
  });

  it('ends a sleep of zero at once, even while other work is in flight', async () => {
    const clock = new VirtualClock(T0);
    await clock.inFlight(async () => {
      await clock.sleep(0);
      await clock.sleepUntil(T0 - 1);
    });
    expect(clock.now()).toBe(T0);
  });

  it('forgets a cancelled sleep: it rejects, and time does not move to its wake', async () => {
    const clock = new VirtualClock(T0);
    const cancel = new AbortController();
    const cancelled = clock.sleep(3_600_000, cancel.signal);
    const kept = clock.sleep(5_000);
    cancel.abort();
    await expect(cancelled).rejects.toBeInstanceOf(SleepCancelledError);
    await kept;
    await sleep(20);
    expect(clock.now()).toBe(T0 + 5_000);
    expect(clock.pendingSleepers).toBe(0);
    await expect(clock.sleep(1, cancel.signal)).rejects.toBeInstanceOf(SleepCancelledError);
    await expect(clock.sleepUntil(Number.NaN)).rejects.toBeInstanceOf(RangeError);
  });

  it('lets time move while in-flight work is blocked on something only the outside releases', async () => {
    const clock = new VirtualClock(T0);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = clock.inFlight(() => clock.blockedOn(gate));
    // The other execution's wait ends although the held one is still in its handler.
    await clock.sleep(60_000);
    expect(clock.elapsedMs).toBe(60_000);
    release();
    await held;
    await expect(clock.blockedOn(Promise.resolve())).rejects.toThrow(/inFlight/);
  });
});

describe('retryDelay: the Retry decisions of aws-local-stepfunctions, without jitter', () => {
  const retriers = [
    { ErrorEquals: ['RateLimitedError'], IntervalSeconds: 60, MaxAttempts: 3, BackoffRate: 1.5, MaxDelaySeconds: 100 },
    { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 2, MaxAttempts: 1 },
  ];
  const error = (name: string) => Object.assign(new Error(name), { name });

  it('waits interval × backoff^n, capped by MaxDelaySeconds, until MaxAttempts', () => {
    const attempts: number[] = [];
    const delays = [1, 2, 3, 4].map(() => retryDelay(retriers, error('RateLimitedError'), attempts));
    expect(delays).toEqual([60_000, 90_000, 100_000, undefined]);
  });

  it('lets the first retrier naming an error decide; States.TaskFailed names every error but a timeout', () => {
    const attempts: number[] = [];
    expect(retryDelay(retriers, error('Boom'), attempts)).toBe(2_000);
    expect(retryDelay(retriers, error('Boom'), attempts)).toBeUndefined();
    expect(retryDelay(retriers, error('States.Timeout'), [])).toBeUndefined();
    expect(retryDelay([{ ErrorEquals: ['States.ALL'] }], error('States.Timeout'), [])).toBe(1_000);
    expect(retryDelay(retriers, Object.assign(error('Boom'), { isRetryable: false }), [])).toBeUndefined();
  });
});

/** A definition run on virtual time by the engine, with the local handlers the runtime gives it. */
function virtualMachine(
  spec: { StartAt: string; States: Record<string, unknown> },
  clock: VirtualClock,
  handlers: Record<string, (input: unknown) => Promise<unknown>> = {},
) {
  const definition = spec as { StartAt: string; States: Record<string, AslState> };
  const machine = new StateMachine(virtualTimeDefinition(definition) as never, {
    validationOptions: { checkArn: false },
  });
  return (input: unknown) => {
    const ended = new AbortController();
    const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [name, state] of allStates(definition)) {
      if (state.Type === 'Wait') overrides[name] = virtualWait(state, clock, ended.signal);
      const handler = handlers[name];
      if (state.Type === 'Task' && handler) overrides[name] = virtualTask(state, handler, clock, ended.signal);
    }
    const execution = machine.run(input as never, { overrides: { taskResourceLocalHandlers: overrides as never } });
    return execution.result.finally(() => ended.abort());
  };
}

describe('Wait and Retry of executions on virtual time', () => {
  const lambda = 'arn:aws:lambda:us-east-1:000000000000:function:Record';
  /** A Task state invoking the test's handler of that state's name, with the given fields. */
  const task = (fields: Record<string, unknown>) => ({ Type: 'Task', Resource: lambda, ...fields });
  /** A machine that starts with the Task state `name` (its fields given), beside any other states. */
  const startingWithTask = (name: string, fields: Record<string, unknown>, others: Record<string, unknown> = {}) => ({
    StartAt: name,
    States: { [name]: task(fields), ...others },
  });
  /** A machine of one Wait state with the given timing. */
  const waitOnly = (timing: Record<string, unknown>) => ({
    StartAt: 'Wait',
    States: { Wait: { Type: 'Wait', ...timing, End: true } },
  });

  it('two concurrent executions waiting 60 s each move the clock by 60 s, not 120 s', async () => {
    const clock = new VirtualClock(T0);
    const run = virtualMachine(
      {
        StartAt: 'Wait',
        States: {
          Wait: { Type: 'Wait', Seconds: 60, Next: 'Woke' },
          Woke: task({ End: true }),
        },
      },
      clock,
      { Woke: async () => clock.now() - T0 },
    );
    expect(await Promise.all([run({}), run({})])).toEqual([60_000, 60_000]);
    expect(clock.elapsedMs).toBe(60_000);
  });

  it('wakes a Wait of 10 s and one of 30 s (SecondsPath, concurrent) at 10 s and 30 s', async () => {
    const clock = new VirtualClock(T0);
    const woke: number[] = [];
    const run = virtualMachine(
      {
        StartAt: 'Wait',
        States: {
          Wait: { Type: 'Wait', SecondsPath: '$.seconds', Next: 'Woke' },
          Woke: task({ End: true }),
        },
      },
      clock,
      {
        Woke: async () => {
          woke.push(clock.now() - T0);
          return clock.now() - T0;
        },
      },
    );
    expect(await Promise.all([run({ seconds: 30 }), run({ seconds: 10 })])).toEqual([30_000, 10_000]);
    expect(woke).toEqual([10_000, 30_000]);
    // Each wait as long as the state says, from when it began: a Timestamp wait ends at its timestamp.
    const until = virtualMachine(
      { StartAt: 'Until', States: { Until: { Type: 'Wait', TimestampPath: '$.at', End: true } } },
      clock,
    );
    await until({ at: new Date(T0 + 3_600_000).toISOString() });
    expect(clock.elapsedMs).toBe(3_600_000);
  });

  it('waits inside a Map in parallel, each iteration at its own time', async () => {
    const clock = new VirtualClock(T0);
    const run = virtualMachine(
      {
        StartAt: 'Each',
        States: {
          Each: {
            Type: 'Map',
            ItemsPath: '$.waits',
            ItemProcessor: {
              StartAt: 'Wait',
              States: {
                Wait: { Type: 'Wait', SecondsPath: '$', Next: 'Woke' },
                Woke: task({ End: true }),
              },
            },
            End: true,
          },
        },
      },
      clock,
      { Woke: async () => clock.now() - T0 },
    );
    expect(await run({ waits: [45, 15, 45] })).toEqual([45_000, 15_000, 45_000]);
    expect(clock.elapsedMs).toBe(45_000);
  });

  it('retries a failing Task after its Retry interval of virtual time, while a Wait elsewhere keeps its own', async () => {
    const clock = new VirtualClock(T0);
    const attempts: number[] = [];
    const flaky = virtualMachine(
      startingWithTask('Flaky', {
        TimeoutSeconds: 5,
        Retry: [{ ErrorEquals: ['Transient'], IntervalSeconds: 10, BackoffRate: 2, MaxAttempts: 3 }],
        End: true,
      }),
      clock,
      {
        Flaky: async () => {
          attempts.push(clock.now() - T0);
          if (attempts.length < 3) throw Object.assign(new Error('try again'), { name: 'Transient' });
          return 'done';
        },
      },
    );
    const waiting = virtualMachine(waitOnly({ Seconds: 15 }), clock);
    const [result] = await Promise.all([flaky({}), waiting({})]);
    expect(result).toBe('done');
    // First attempt at 0, then after 10 s and after 20 s more: the concurrent 15 s wait did not add to them.
    expect(attempts).toEqual([0, 10_000, 30_000]);
    expect(clock.elapsedMs).toBe(30_000);
  });

  it('keeps the clock still while a Task does real I/O: an attempt slower in real time than its timeout succeeds', async () => {
    const clock = new VirtualClock(T0);
    const seen: number[] = [];
    const run = virtualMachine(startingWithTask('Slow', { TimeoutSeconds: 1, End: true }), clock, {
      // A step of milliseconds on AWS, slow here behind the load of the one process.
      Slow: async () => {
        seen.push(clock.now() - T0);
        await sleep(1_300);
        seen.push(clock.now() - T0);
        return 'done';
      },
    });
    const waiting = virtualMachine(waitOnly({ Seconds: 2 }), clock);
    const [result] = await Promise.all([run({}), waiting({})]);
    expect(result).toBe('done');
    // The attempt began and ended at the time it began; the 2 s wait ended after it.
    expect(seen).toEqual([0, 0]);
    expect(clock.elapsedMs).toBe(2_000);
    // The attempt's virtual deadline was cancelled with it: nothing is left to pull the clock.
    expect(clock.pendingSleepers).toBe(0);
  }, 10_000);

  it('times an attempt blocked outside out after its TimeoutSeconds of virtual time, then retries it', async () => {
    const clock = new VirtualClock(T0);
    const seen: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const run = virtualMachine(
      startingWithTask(
        'Held',
        {
          TimeoutSeconds: 30,
          Retry: [{ ErrorEquals: ['States.Timeout'], IntervalSeconds: 5, MaxAttempts: 1 }],
          Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'TimedOut' }],
          End: true,
        },
        { TimedOut: { Type: 'Pass', Result: 'timed out', End: true } },
      ),
      clock,
      {
        Held: async () => {
          seen.push(clock.now() - T0);
          await clock.blockedOn(gate);
          return 'released';
        },
      },
    );
    expect(await run({})).toBe('timed out');
    // Each attempt ran out of its 30 s of virtual time; the retry came 5 s after the first.
    expect(seen).toEqual([0, 35_000]);
    expect(clock.elapsedMs).toBe(65_000);
    release();
  });

  it('sends a timed-out attempt past a States.TaskFailed catcher to the next catcher of a timeout, as on AWS', async () => {
    const clock = new VirtualClock(T0);
    const gate = new Promise<void>(() => undefined);
    const run = virtualMachine(
      startingWithTask(
        'Run',
        {
          TimeoutSeconds: 30,
          Catch: [
            { ErrorEquals: ['States.TaskFailed'], Next: 'Failed' },
            { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'TimedOut' },
          ],
          End: true,
        },
        {
          Failed: { Type: 'Pass', Result: 'failed', End: true },
          TimedOut: { Type: 'Pass', OutputPath: '$.error.Error', End: true },
        },
      ),
      clock,
      {
        Run: async (input) => {
          if ((input as { fails?: boolean }).fails) throw Object.assign(new Error('boom'), { name: 'Boom' });
          await clock.blockedOn(gate);
          return 'never';
        },
      },
    );
    expect(await run({ fails: true })).toBe('failed');
    expect(await run({})).toBe('States.Timeout');
    // With no later catcher of a timeout, the engine would catch it with States.TaskFailed: refused.
    expect(() =>
      virtualTimeDefinition({
        StartAt: 'T',
        States: { T: task({ Catch: [{ ErrorEquals: ['States.TaskFailed'], Next: 'T' }], End: true }) },
      }),
    ).toThrow(/Catch of States.TaskFailed/);
  });

  it('fails an attempt that hangs after its TimeoutSeconds times the real-time factor of real time', async () => {
    const clock = new VirtualClock(T0);
    const definition = {
      StartAt: 'Hangs',
      States: { Hangs: { Type: 'Task', Resource: lambda, TimeoutSeconds: 1, End: true } },
    };
    const machine = new StateMachine(virtualTimeDefinition(definition) as never, {
      validationOptions: { checkArn: false },
    });
    const ended = new AbortController();
    const hangs = virtualTask(definition.States.Hangs, () => new Promise(() => undefined), clock, ended.signal, {
      realTimeFactor: 0.2,
    });
    const started = Date.now();
    const execution = machine.run({} as never, { overrides: { taskResourceLocalHandlers: { Hangs: hangs } as never } });
    await expect(execution.result).rejects.toMatchObject({ cause: { name: 'States.Timeout' } });
    ended.abort();
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(() => virtualTask(definition.States.Hangs, hangs, clock, ended.signal, { realTimeFactor: 0 })).toThrow(
      /positive/,
    );
  });

  it('refuses definitions it cannot time rather than running them on the wall clock', () => {
    const map = (extra: Partial<AslState>) => ({
      StartAt: 'M',
      States: { M: { Type: 'Map', ItemProcessor: { StartAt: 'P', States: {} }, End: true, ...extra } },
    });
    expect(() => virtualTimeDefinition(map({ Retry: [{ ErrorEquals: ['States.ALL'] }] }))).toThrow(/Retry on a Map/);
    expect(() =>
      virtualTimeDefinition({
        StartAt: 'T',
        States: { T: task({ HeartbeatSeconds: 10, End: true }) },
      }),
    ).toThrow(/HeartbeatSeconds/);
  });
});

describe('the local pipeline on the discrete-event clock', () => {
  let h: CapeHarness | undefined;
  afterEach(async () => h?.stop());

  it('analyses two uploads at once in the virtual time of one: their vendor waits overlap', async () => {
    // CAPE's report exists 300 s after submission (20 s queued, 180 s run, 100 s processing).
    h = await startCapeHarness({ queueSeconds: 20, processingSeconds: 100 });
    const pipeline = h.pipeline;
    const start = h.clock.now();
    const events = await Promise.all(
      ['one', 'two'].map((name) => pipeline.upload({ key: `${name}.bin`, body: `analysis ${name}` })),
    );
    const runs = await Promise.all(events.map((event) => pipeline.run(event)));
    expect(runs.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(h.cape.submissions).toBe(2);
    const elapsed = h.clock.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(300_000);
    // Waits that added up would need 600 s at least.
    expect(elapsed).toBeLessThan(400_000);
  }, 120_000);
});
