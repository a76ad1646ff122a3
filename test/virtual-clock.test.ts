import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../local/virtual-clock';

describe('VirtualClock', () => {
  it('moves forward by the waits it is told about, on top of the wall clock', () => {
    const clock = new VirtualClock();
    const before = clock.now();
    clock.advance(300_000);
    expect(clock.now() - before).toBeGreaterThanOrEqual(300_000);
    expect(clock.skippedMs).toBe(300_000);
  });

  it('holds time still while held, and applies the waits it deferred once every hold is released', () => {
    const clock = new VirtualClock();
    const releaseA = clock.hold();
    const frozen = clock.now();
    const releaseB = clock.hold();
    clock.advance(60_000);
    expect(clock.now()).toBe(frozen);
    releaseA();
    releaseA(); // releasing twice changes nothing
    expect(clock.now()).toBe(frozen);
    releaseB();
    expect(clock.now() - frozen).toBeGreaterThanOrEqual(60_000);
    expect(clock.skippedMs).toBe(60_000);
  });
});
