import { describe, expect, it } from 'vitest';
import { LocalPipeline, type Transition } from '../../local/runtime';

describe("the local runtime's hooks for the CLI", () => {
  it('tells each state entered as it is entered, and stops the whole analysis on the signal as Interrupted', async () => {
    let release: () => void = () => undefined;
    const hang = new Promise<void>((resolve) => {
      release = resolve;
    });
    const pipeline = await LocalPipeline.start({
      detonator: 'none',
      // The static engine waits until the test lets it go: the signal must end the analysis first.
      beforeInvoke: (id) => (id === 'StaticFn' ? hang : undefined),
    });
    try {
      const seen: Transition[] = [];
      const stop = new AbortController();
      const event = await pipeline.upload({ key: 'local/hooks.txt', body: 'hooks\n' });
      const report = pipeline.run(event, {
        signal: stop.signal,
        onTransition: (transition) => {
          seen.push(transition);
          if (transition.name === 'StaticAnalysis') setTimeout(() => stop.abort(), 50);
        },
      });
      const started = Date.now();
      const ended = await report;
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(ended).toMatchObject({ status: 'FAILED', error: 'Interrupted' });
      expect(seen.map((t) => t.name)).toContain('Triage');
      expect(seen.map((t) => t.name)).toContain('StaticAnalysis');
    } finally {
      release();
      await pipeline.stop();
    }
  }, 60_000);
});
