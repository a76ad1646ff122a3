import { describe, expect, it } from 'vitest';
import { JUDGED_HOME, judgeTrace } from './judge';

/**
 * Encryption-style renames need the pattern of ransomware: each original read (or rewritten in
 * place), then renamed to a new mark. Renames alone (log rotation, backups, a build moving its
 * outputs) are housekeeping.
 */

const PID = 700;
const RULE = 'destructive.encrypt-rename';
const start = `${PID} 1795370910.000001 execve("${JUDGED_HOME}/s", ["s"], 0x7ffd /* 7 vars */) = 0\n`;
const line = (call: string, ret: string) => `${PID} 1795370910.5 ${call} = ${ret}\n`;
const read = (path: string) => line(`openat(AT_FDCWD, "${path}", O_RDONLY)`, '3');
const rewrite = (path: string) => line(`openat(AT_FDCWD, "${path}", O_RDWR)`, '3');
const rename = (from: string, to: string) => line(`rename("${from}", "${to}")`, '0');
const files = (n: number) => Array.from({ length: n }, (_, i) => `${JUDGED_HOME}/docs/report${i}.odt`);

describe('the encryption pattern', () => {
  it('is T1486 when five files are each read and then renamed to a new mark', () => {
    const trace = files(5)
      .map((f) => read(f) + rename(f, `${f}.crypt`))
      .join('');
    expect(judgeTrace(start + trace).ids.get(RULE)).toEqual(['T1486']);
  });

  it('is T1486 when the originals are rewritten in place before the rename', () => {
    const trace = files(5)
      .map((f) => rewrite(f) + rename(f, `${f}.locked`))
      .join('');
    expect(judgeTrace(start + trace).ids.get(RULE)).toEqual(['T1486']);
  });

  it.each([
    ['renames to a new mark of files never read', (f: string) => rename(f, `${f}.done`)],
    ['log rotation to a number', (f: string) => rename(f, `${f}.1`)],
    ['log rotation to a compressed number', (f: string) => read(f) + rename(f, `${f}.2.gz`)],
    ['backups read and renamed to .bak', (f: string) => read(f) + rename(f, `${f}.bak`)],
    ['old copies kept as .old', (f: string) => read(f) + rename(f, `${f}.old`)],
  ])('stays silent for %s', (_, step) => {
    expect(judgeTrace(start + files(8).map(step).join('')).ids.has(RULE)).toBe(false);
  });

  it('needs five distinct files, not one renamed five times', () => {
    const f = files(1)[0] as string;
    const trace = Array.from({ length: 5 }, () => read(f) + rename(f, `${f}.crypt`)).join('');
    expect(judgeTrace(start + trace).ids.has(RULE)).toBe(false);
  });
});
