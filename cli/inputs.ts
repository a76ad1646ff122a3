import { accessSync, constants, createWriteStream, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { glob, isDynamicPattern } from 'tinyglobby';
import { humanBytes } from './format';

/**
 * What the analyst named on the command line, resolved into the files to analyse. Each input keeps
 * the name it is reported under (`file` of every output line); one that cannot be analysed carries
 * the reason instead of a path, so it becomes one failed line and the rest of the batch still runs.
 */
export type Input =
  | {
      file: string;
      path: string;
      size: number;
      /** The object's name when it is not the file's own: a snippet's, whose extension tells its language. */
      name?: string;
    }
  | { file: string; error: string };

/**
 * The languages a snippet (`-` or `--script`) may be given in, as the seed's `execute_script`
 * takes them, and the extension that makes triage type it so (and the detonation run it so).
 */
export const SNIPPET_LANGUAGES = { python: 'py', sh: 'sh', perl: 'pl', c: 'c', js: 'js' } as const;
export type SnippetLanguage = keyof typeof SNIPPET_LANGUAGES;

/** What `--script` names an inline snippet in the output. */
export const SCRIPT_NAME = '--script';

/** The name stdin is reported under. */
export const STDIN_NAME = '-';

/** Where stdin is read from and how much of it is accepted. */
export interface InputOptions {
  stdin: Readable;
  /** The configured maximum object size: no file above it is uploaded, stdin is cut off there. */
  maxBytes: number;
  /**
   * Told of each temporary directory as soon as it exists, before anything is written: the caller
   * removes them when done, or at once on Ctrl-C, even while stdin is still being read.
   */
  onTemporary: (dir: string) => void;
  /** Stops reading stdin (Ctrl-C). */
  signal?: AbortSignal;
  /** The language of the snippet on stdin or in {@link script}: it is analysed as a script of it. */
  language?: SnippetLanguage;
  /** A snippet given inline (`--script`), analysed before the other inputs. */
  script?: string;
}

function snippetName(base: string, language: SnippetLanguage | undefined): string | undefined {
  return language ? `${base}.${SNIPPET_LANGUAGES[language]}` : undefined;
}

/** Writes `--script`'s text to a temporary file (0600) of its language, within the size limit. */
function scriptInput(text: string, options: InputOptions): Input {
  const size = Buffer.byteLength(text);
  if (size > options.maxBytes)
    return { file: SCRIPT_NAME, error: `${humanBytes(size)} is larger than the ${humanBytes(options.maxBytes)} limit` };
  const dir = mkdtempSync(join(tmpdir(), 'sandtrap-script-'));
  options.onTemporary(dir);
  const name = snippetName('script', options.language) ?? 'script';
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return { file: SCRIPT_NAME, path, size, name };
}

/** A regular file, readable, within the size limit; or why not. */
function fileInput(file: string, path: string, maxBytes: number): Input {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return { file, error: 'not a regular file' };
    size = stat.size;
    accessSync(path, constants.R_OK);
  } catch {
    return { file, error: 'not a readable file' };
  }
  // Refused here, before the upload: a file the pipeline would refuse is not worth sending first.
  if (size > maxBytes) return { file, error: `${humanBytes(size)} is larger than the ${humanBytes(maxBytes)} limit` };
  return { file, path, size };
}

/** Copies stdin to a temporary file, stopping (and failing) once it passes `maxBytes`. */
async function stdinInput(options: InputOptions): Promise<Input> {
  const dir = mkdtempSync(join(tmpdir(), 'sandtrap-stdin-'));
  options.onTemporary(dir);
  const path = join(dir, 'stdin');
  let received = 0;
  try {
    await pipeline(
      options.stdin,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          received += chunk.length;
          if (received > options.maxBytes)
            throw new Error(`more than the ${humanBytes(options.maxBytes)} limit on stdin`);
          yield chunk;
        }
      },
      createWriteStream(path, { mode: 0o600 }),
      { signal: options.signal },
    );
  } catch (error) {
    return { file: STDIN_NAME, error: (error as Error).message };
  }
  const name = snippetName('stdin', options.language);
  return { file: STDIN_NAME, path, size: received, ...(name ? { name } : {}) };
}

/** The files of a directory, recursively, in a stable order; hidden ones included (samples hide). */
async function directoryFiles(dir: string): Promise<string[]> {
  const files = await glob('**/*', {
    cwd: dir,
    dot: true,
    onlyFiles: true,
    followSymbolicLinks: false,
    expandDirectories: false,
  });
  return files.sort().map((f) => join(dir, f));
}

/**
 * Resolves the arguments in order: `-` (stdin, once), a directory (its files, recursively), a path
 * that exists, else a glob pattern (its matches; the shell usually expands them, but not on a quoted
 * pattern or one that matched nothing there). What resolves to nothing is a failed input.
 */
export async function resolveInputs(args: string[], options: InputOptions): Promise<Input[]> {
  const inputs: Input[] = options.script === undefined ? [] : [scriptInput(options.script, options)];
  let stdinRead = false;
  for (const arg of args) {
    if (arg === STDIN_NAME) {
      inputs.push(stdinRead ? { file: STDIN_NAME, error: 'stdin named twice' } : await stdinInput(options));
      stdinRead = true;
      continue;
    }
    let isDirectory = false;
    let exists = false;
    try {
      isDirectory = statSync(arg).isDirectory();
      exists = true;
    } catch {
      exists = false;
    }
    if (isDirectory) {
      const files = await directoryFiles(arg);
      if (files.length === 0) inputs.push({ file: arg, error: 'no file in this directory' });
      for (const file of files) inputs.push(fileInput(file, file, options.maxBytes));
    } else if (!exists && isDynamicPattern(arg)) {
      const files = (await glob(arg, { dot: true, onlyFiles: true, expandDirectories: false })).sort();
      // A name that merely looks like a pattern (brackets, braces) is most often a missing file.
      if (files.length === 0) inputs.push({ file: arg, error: 'not a readable file' });
      for (const file of files) inputs.push(fileInput(file, file, options.maxBytes));
    } else {
      inputs.push(fileInput(arg, arg, options.maxBytes));
    }
  }
  return inputs;
}
