import type { QueuePosition, Transition } from '../local/runtime';

/**
 * What a state of the analysis means to someone waiting for it: which engine it belongs to and what
 * that engine is doing. The names are those lib/workflow.ts gives the states (its STATES); they are
 * repeated here rather than imported because importing the workflow loads the CDK, seconds of start-up
 * for a progress line. test/cli/engine-states.test.ts keeps the two lists in step.
 */
const ENGINE_STATES: Record<string, { engine: 'static' | 'detonation' | 'vendor'; doing: string }> = {
  StaticAnalysis: { engine: 'static', doing: 'analysing' },
  ReserveDetonationSlot: { engine: 'detonation', doing: 'queued' },
  WaitForDetonationSlot: { engine: 'detonation', doing: 'waiting for a slot' },
  PrepareDetonation: { engine: 'detonation', doing: 'preparing' },
  PrepareDetonationOnDemand: { engine: 'detonation', doing: 'preparing (on demand)' },
  RunDetonation: { engine: 'detonation', doing: 'running' },
  RunDetonationOnDemand: { engine: 'detonation', doing: 'running (on demand)' },
  CollectDetonation: { engine: 'detonation', doing: 'collecting' },
  SubmitToVendor: { engine: 'vendor', doing: 'submitting' },
  WaitForSubmissionSlot: { engine: 'vendor', doing: 'waiting for a submission slot' },
  SubmitQueuedSample: { engine: 'vendor', doing: 'submitting' },
  WaitForVendor: { engine: 'vendor', doing: 'waiting' },
  PollVendor: { engine: 'vendor', doing: 'polling' },
  WaitForReportSlot: { engine: 'vendor', doing: 'waiting for a report slot' },
  CollectVendorReport: { engine: 'vendor', doing: 'collecting' },
};

/** The states of an engine whose turn has not come (a detonation slot, a vendor's submission slot): where a queue position applies. */
const QUEUE_STATES = new Set(['ReserveDetonationSlot', 'WaitForDetonationSlot', 'WaitForSubmissionSlot']);

/** States of the analysis as a whole, outside any engine. */
const ANALYSIS_STATES: Record<string, string> = {
  Triage: 'triage',
  WaitForPeer: 'waiting for the analysis of the same content',
  UseCachedVerdict: 'cached verdict',
  Finalize: 'finalizing',
};

/** Every state name this module knows (the test compares them with the workflow's). */
export const KNOWN_STATES = [
  ...Object.keys(ENGINE_STATES),
  ...Object.keys(ANALYSIS_STATES),
  'AnythingWaits',
  'EngineFailed',
  'VendorEngineEnded',
];

/**
 * The engines' states of one analysis, updated transition by transition: `static done · detonation
 * running · cape polling (3)`. An engine is one iteration of the engines' Map; vendors go by their
 * id (or, when the runtime did not name it, `vendor #` and the iteration's number), polls are counted.
 */
export class EngineStates {
  private readonly engines = new Map<string, { doing: string; polls: number; queued: boolean }>();
  /** Which engine each Map iteration (of either workflow) runs, to place the iteration's end. */
  private readonly byIteration = new Map<string, string>();
  private phase = 'starting';
  /** Each engine's place in its queue while it waits for its turn (the runtime tells it), by engine shown. */
  private readonly places = new Map<string, QueuePosition>();

  /** Takes one state entered; true when what is shown changed. */
  update(transition: Transition): boolean {
    const iteration = `${transition.workflow}:${transition.index ?? '-'}`;
    const step = ENGINE_STATES[transition.name];
    if (step) {
      const id =
        step.engine !== 'vendor'
          ? step.engine
          : (this.byIteration.get(iteration) ?? transition.engine ?? `vendor #${(transition.index ?? 0) + 1}`);
      this.byIteration.set(iteration, id);
      const engine = this.engines.get(id) ?? { doing: '', polls: 0, queued: false };
      engine.queued = QUEUE_STATES.has(transition.name);
      if (!engine.queued) this.places.delete(id);
      if (transition.name === 'PollVendor') engine.polls += 1;
      engine.doing = transition.name === 'PollVendor' ? `polling (${engine.polls})` : step.doing;
      this.engines.set(id, engine);
      this.phase = 'engines';
      return true;
    }
    const ended = transition.name === 'EngineFailed' ? 'failed' : transition.name === 'VendorEngineEnded' ? 'done' : '';
    if (ended) {
      const engine = this.engines.get(this.byIteration.get(iteration) ?? '');
      if (engine) engine.doing = ended;
      return engine !== undefined;
    }
    // The front's engines (the static one) have all ended once the front asks whether anything waits.
    if (transition.name === 'AnythingWaits') {
      for (const [key, id] of this.byIteration) {
        const engine = this.engines.get(id);
        if (key.startsWith('front:') && engine && engine.doing !== 'failed') engine.doing = 'done';
      }
      return true;
    }
    const phase = ANALYSIS_STATES[transition.name];
    if (!phase) return false;
    // Finalize runs once every engine ended: those not marked failed are done.
    if (transition.name === 'Finalize')
      for (const engine of this.engines.values()) if (engine.doing !== 'failed') engine.doing = 'done';
    this.phase = phase;
    return true;
  }

  /** Takes the analysis's place in a queue; true when what is shown changed. */
  queue(queue: QueuePosition): boolean {
    const id = queue.engine === 'vendor' ? queue.vendor : queue.engine;
    this.places.set(id, queue);
    return this.engines.get(id)?.queued === true;
  }

  /** One line: the analysis' phase, then each engine's state. */
  toString(): string {
    const engines = [...this.engines]
      .map(([id, engine]) => {
        const place = engine.queued ? this.places.get(id) : undefined;
        return place ? `${id} queued (position ${place.position} of ${place.of})` : `${id} ${engine.doing}`;
      })
      .join(' · ');
    if (!engines) return this.phase;
    return this.phase === 'engines' ? engines : `${this.phase} (${engines})`;
  }
}
