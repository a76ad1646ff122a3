import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VerdictDocumentSchema } from '../../lambdas/core/contracts/pipeline';
import { runCli } from './fake-io';

const root = join(import.meta.dirname, '..', '..');

/** Runs the real CLI with `stdin` piped in; resolves with its exit code and output. */
function sandtrap(args: string[], stdin = '') {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'sandtrap.mjs'), 'analyze', ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/**
 * A snippet analysed as a script of a language, as the seed's `execute_script(content, language)`
 * does: given on stdin (`-`) or inline (`--script`), typed by its language and detonated as such.
 */
describe('sandtrap analyze - --language / --script', () => {
  it('detonates a Python snippet given on stdin as a Python script', async () => {
    const snippet = readFileSync(join(root, 'samples', 'behaviors', 'data_harvesting.py'), 'utf8');
    const result = await sandtrap(['-', '--language', 'python', '--json', '-q'], snippet);
    expect(result.code, result.stderr).toBe(0);
    const line = JSON.parse(result.stdout.trim());
    expect(line.file).toBe('-');
    const document = VerdictDocumentSchema.parse(line);
    expect(document).toMatchObject({ key: 'local/stdin.py', fileType: 'script-python' });
    const detonation = document.engineResults.find((e) => e.engine === 'detonation');
    expect(detonation?.status).toBe('completed');
    // What the snippet did, seen by the detonation: it harvested data as the file of the same content does.
    expect(Object.values(document.behavior ?? {}).flat().length).toBeGreaterThan(0);
  }, 180_000);

  it('detonates --script text as a shell script', async () => {
    const result = await sandtrap([
      '--script',
      'echo hello from a snippet > /tmp/snippet.txt',
      '--language',
      'sh',
      '--json',
      '-q',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const line = JSON.parse(result.stdout.trim());
    expect(line.file).toBe('--script');
    const document = VerdictDocumentSchema.parse(line);
    expect(document).toMatchObject({ key: 'local/script.sh', fileType: 'script-sh' });
    expect(document.engineResults.find((e) => e.engine === 'detonation')?.status).toBe('completed');
  }, 180_000);

  it('refuses a language without a snippet, a snippet without a language, and an unknown language, in one line', async () => {
    for (const [args, message] of [
      [['README.md', '--language', 'python'], '--language is the language of a snippet'],
      [['--script', 'echo hi'], '--script needs --language'],
      [['-', '--language', 'cobol'], '--language takes one of python, sh, perl, c, js'],
    ] as const) {
      const result = await runCli(['analyze', ...args]);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr).toContain(message);
    }
  });
});
