import { describe, expect, it } from 'vitest';
import { batchProgress } from '../../cli/batch-progress';
import type { Transition } from '../../local/runtime';

const at = (name: string, index?: number): Transition => ({
  name,
  type: 'Task',
  workflow: 'standard',
  ...(index === undefined ? {} : { index }),
});

/** A stream that records what is written. */
function recorder(isTTY: boolean) {
  const written: string[] = [];
  return { out: { write: (chunk: string | Uint8Array) => written.push(String(chunk)), isTTY, columns: 100 }, written };
}

describe('batch progress', () => {
  it('writes plain lines off a terminal: each step, and each change of the engines states, names escaped', () => {
    const { out, written } = recorder(false);
    const progress = batchProgress(out, 2);
    const file = progress.file(1, 'evil\x1b[2J.sh');
    file.say('uploading');
    file.transition(at('SubmitToVendor', 0));
    file.transition(at('PollVendor', 0));
    file.transition(at('KeepEvent'));
    file.end('malicious');
    progress.stop();
    expect(written.join('')).toBe(
      [
        '[2/2] evil\\x1b[2J.sh: uploading',
        '[2/2] evil\\x1b[2J.sh: vendor #1 submitting',
        '[2/2] evil\\x1b[2J.sh: vendor #1 polling (1)',
        '[2/2] evil\\x1b[2J.sh: malicious',
        '',
      ].join('\n'),
    );
  });

  it('draws a spinner line per running file on a terminal, and leaves the finished line in the scrollback', () => {
    const { out, written } = recorder(true);
    const progress = batchProgress(out, 1);
    const file = progress.file(0, 'a.sh');
    file.transition(at('RunDetonation', 0));
    expect(written.join('')).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \[1\/1\] a\.sh {2}detonation running/);
    file.end('benign');
    progress.stop();
    expect(written.join('')).toContain('[1/1] a.sh: benign\n');
  });

  it('says nothing with --quiet', () => {
    const { out, written } = recorder(true);
    const progress = batchProgress(out, 1, true);
    progress.file(0, 'a').say('uploading');
    progress.stop();
    expect(written).toEqual([]);
  });
});
