import { describe, expect, it } from 'vitest';
import { STATES } from '../../lib/workflow';
import { EngineStates, KNOWN_STATES } from '../../cli/engine-states';
import type { Transition } from '../../local/runtime';

const at = (
  name: string,
  index?: number,
  workflow: Transition['workflow'] = 'standard',
  engine?: string,
): Transition => ({
  name,
  type: 'Task',
  workflow,
  ...(index === undefined ? {} : { index }),
  ...(engine === undefined ? {} : { engine }),
});

describe('the engines states shown as progress', () => {
  it('knows only states the workflow has', () => {
    const workflow = new Set<string>(Object.values(STATES));
    expect(KNOWN_STATES.filter((name) => !workflow.has(name))).toEqual([]);
  });

  it('shows each engine, counts vendor polls, and marks them done at Finalize', () => {
    const states = new EngineStates();
    states.update(at('Triage', undefined, 'front'));
    expect(states.toString()).toBe('triage');
    states.update(at('StaticAnalysis', 0, 'front'));
    states.update(at('AnythingWaits', undefined, 'front'));
    states.update(at('WaitForDetonationSlot', 0));
    states.update(at('SubmitToVendor', 1));
    states.update(at('PollVendor', 1));
    states.update(at('WaitForVendor', 1));
    states.update(at('PollVendor', 1));
    expect(states.toString()).toBe('static done · detonation waiting for a slot · vendor #2 polling (2)');
    states.update(at('EngineFailed', 0));
    states.update(at('Finalize'));
    expect(states.toString()).toBe('finalizing (static done · detonation failed · vendor #2 done)');
  });

  it("names a vendor by its id, and shows each engine's place in its queue only while it waits for its turn", () => {
    const states = new EngineStates();
    states.update(at('ReserveDetonationSlot', 0, 'standard', 'detonation'));
    states.update(at('SubmitToVendor', 1, 'standard', 'cape'));
    states.update(at('SubmitToVendor', 2, 'standard', 'joe'));
    // Told before the Wait is entered (the submit step queued it), shown once it waits.
    expect(states.queue({ engine: 'vendor', vendor: 'cape', position: 2, of: 3 })).toBe(false);
    expect(states.queue({ engine: 'detonation', position: 1, of: 1 })).toBe(true);
    states.update(at('WaitForSubmissionSlot', 1, 'standard', 'cape'));
    states.update(at('WaitForVendor', 2, 'standard', 'joe'));
    expect(states.toString()).toBe('detonation queued (position 1 of 1) · cape queued (position 2 of 3) · joe waiting');
    expect(states.queue({ engine: 'vendor', vendor: 'cape', position: 1, of: 2 })).toBe(true);
    expect(states.toString()).toContain('cape queued (position 1 of 2)');
    // Its turn came: submitted, then polled; a stale place is not shown again.
    states.update(at('SubmitQueuedSample', 1, 'standard', 'cape'));
    states.update(at('PrepareDetonation', 0, 'standard', 'detonation'));
    expect(states.toString()).toBe('detonation preparing · cape submitting · joe waiting');
    states.update(at('WaitForVendor', 1, 'standard', 'cape'));
    expect(states.toString()).toBe('detonation preparing · cape waiting · joe waiting');
  });
});
