import { createLogUpdate } from 'log-update';
import type { QueuePosition, Transition } from '../local/runtime';
import { EngineStates } from './engine-states';
import type { Output } from './io';
import { escapeTerminal } from './terminal-escape';

/** The progress of one file of a batch. */
export interface FileProgress {
  /** A step of this file's analysis: uploading, analysing, its verdict. */
  say(text: string): void;
  /** A state its analysis entered: shown as the engines' states. */
  transition(transition: Transition): void;
  /** Its place in a queue for an engine (a detonation slot): shown in that engine's state. */
  queue(queue: QueuePosition): void;
  /** The file's last line: its verdict or why it failed. */
  end(text: string): void;
}

/** The progress of a batch on stderr; {@link stop} before printing the results. */
export interface BatchProgress {
  file(index: number, name: string): FileProgress;
  /** A line about the batch as a whole (the pipeline starting, reports written). */
  note(text: string): void;
  stop(): void;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_MS = 120;

/** No progress at all (`--quiet`). */
const SILENT: BatchProgress = {
  file: () => ({ say: () => undefined, transition: () => undefined, queue: () => undefined, end: () => undefined }),
  note: () => undefined,
  stop: () => undefined,
};

/**
 * Plain lines, for a pipe or a CI log: `[2/5] name: text`, one per step and one each time the
 * engines' states change, never a repaint.
 */
function plainProgress(stderr: Output, total: number): BatchProgress {
  return {
    file(index, name) {
      const label = `[${index + 1}/${total}] ${escapeTerminal(name)}`;
      const engines = new EngineStates();
      let last = '';
      const line = (text: string) => stderr.write(`${label}: ${escapeTerminal(text)}\n`);
      const changed = (shown: boolean) => {
        if (!shown) return;
        const now = engines.toString();
        if (now !== last) line(now);
        last = now;
      };
      return {
        say: line,
        transition: (transition) => changed(engines.update(transition)),
        queue: (queue) => changed(engines.queue(queue)),
        end: line,
      };
    },
    note: (text) => stderr.write(`${escapeTerminal(text)}\n`),
    stop: () => undefined,
  };
}

/**
 * On a terminal: one spinner line per file being analysed, redrawn in place with its engines'
 * states; a finished file's line stays in the scrollback above the running ones.
 */
function terminalProgress(stderr: Output, total: number): BatchProgress {
  const render = createLogUpdate(stderr as NodeJS.WriteStream);
  const running = new Map<number, { label: string; text: string }>();
  let frame = 0;
  const draw = () => {
    const spinner = SPINNER[frame % SPINNER.length];
    render([...running.values()].map((file) => `${spinner} ${file.label}  ${file.text}`).join('\n'));
  };
  const timer = setInterval(() => {
    frame += 1;
    draw();
  }, FRAME_MS);
  // The spinner must never keep the process alive on its own.
  timer.unref();
  return {
    file(index, name) {
      const label = `[${index + 1}/${total}] ${escapeTerminal(name)}`;
      const engines = new EngineStates();
      const set = (text: string) => {
        running.set(index, { label, text: escapeTerminal(text) });
        draw();
      };
      return {
        say: set,
        transition(transition) {
          if (engines.update(transition)) set(engines.toString());
        },
        queue(queue) {
          if (engines.queue(queue)) set(engines.toString());
        },
        end(text) {
          running.delete(index);
          render.clear();
          stderr.write(`${label}: ${escapeTerminal(text)}\n`);
          draw();
        },
      };
    },
    note(text) {
      render.clear();
      stderr.write(`${escapeTerminal(text)}\n`);
      draw();
    },
    stop() {
      clearInterval(timer);
      render.clear();
      render.done();
    },
  };
}

/** Progress for a batch of `total` files: silent, plain lines, or spinners on a terminal. */
export function batchProgress(stderr: Output, total: number, quiet = false): BatchProgress {
  if (quiet) return SILENT;
  return stderr.isTTY ? terminalProgress(stderr, total) : plainProgress(stderr, total);
}
