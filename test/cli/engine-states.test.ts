import { describe, expect, it } from 'vitest';
import { STATES } from '../../lib/workflow';
import { EngineStates, KNOWN_STATES } from '../../cli/engine-states';
import type { Transition } from '../../local/runtime';

const at = (name: string, index?: number, workflow: Transition['workflow'] = 'standard'): Transition => ({
  name,
  type: 'Task',
  workflow,
  ...(index === undefined ? {} : { index }),
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
});
