import { describe, expect, it } from 'vitest';
import { commandTargets } from '../../../container/agent/rules/command-targets';
import type { ExecObservation } from '../../../container/agent/observations';

/**
 * What a command line says it will change: the files a refused `sed -i`, `tee` or `su -c '... > f'`
 * set out to write, read from argv alone, and nothing where argv names no written file.
 */

function exec(path: string, argv: string[], cwd: string | null = '/home/sandbox'): ExecObservation {
  return {
    type: 'exec',
    time: 0,
    line: argv.join(' '),
    pid: 10,
    path,
    argv,
    env: [],
    uid: 1000,
    ok: true,
    errno: null,
    parentExe: null,
    cwd,
  };
}

describe('commandTargets', () => {
  it.each([
    ['sed -i with the script as first operand', exec('/usr/bin/sed', ['sed', '-i', 's/a/b/', '/etc/a']), ['/etc/a']],
    [
      'sed -i with -e scripts',
      exec('/usr/bin/sed', ['sed', '-i.bak', '-e', 's/a/b/', '-e', '1d', '/etc/a', 'b']),
      ['/etc/a', '/home/sandbox/b'],
    ],
    ['sed --in-place=.orig', exec('/bin/sed', ['sed', '--in-place=.orig', '1d', '/etc/x']), ['/etc/x']],
    ['perl -pi -e', exec('/usr/bin/perl', ['perl', '-pi', '-e', 's/a/b/', '/etc/hosts']), ['/etc/hosts']],
    ['tee -a', exec('/usr/bin/tee', ['tee', '-a', '/etc/ld.so.preload']), ['/etc/ld.so.preload']],
    ['truncate -s 0', exec('/usr/bin/truncate', ['truncate', '-s', '0', '/var/log/auth.log']), ['/var/log/auth.log']],
    ['dd of=', exec('/bin/dd', ['dd', 'if=/dev/zero', 'of=/var/log/wtmp', 'bs=1']), ['/var/log/wtmp']],
    [
      'cp to a directory (name and name below it)',
      exec('/bin/cp', ['cp', '-p', 'x.so', '/lib/']),
      ['/lib', '/lib/x.so'],
    ],
    [
      'cp -t DIR',
      exec('/bin/cp', ['cp', '-t', '/etc/cron.d', 'job', 'other']),
      ['/etc/cron.d/job', '/etc/cron.d/other'],
    ],
    ['mv relative to its cwd', exec('/bin/mv', ['mv', 'a', '../b'], '/tmp/w'), ['/tmp/b', '/tmp/b/a']],
    ['rsync to a remote names no local file', exec('/usr/bin/rsync', ['rsync', 'a', 'host:/x']), []],
    ['su -c with a redirection', exec('/usr/bin/su', ['su', '-c', 'echo x >> /etc/sudoers', 'root']), ['/etc/sudoers']],
    [
      'sh -c with quoted and stderr redirections',
      exec('/bin/sh', ['sh', '-c', 'cat k 2> "/tmp/err" ; echo a>/etc/motd']),
      ['/tmp/err', '/etc/motd'],
    ],
  ])('%s', (_name, o, expected) => {
    expect(commandTargets(o)).toEqual(expected);
  });

  it.each([
    ['sed without -i', exec('/usr/bin/sed', ['sed', 's/a/b/', '/etc/passwd'])],
    ['perl -Mstrict -e (no in-place switch)', exec('/usr/bin/perl', ['perl', '-Mstrict', '-Ilib', '-e', '1', 'f'])],
    ['tee to stdout only', exec('/usr/bin/tee', ['tee', '-'])],
    ['dd without of=', exec('/bin/dd', ['dd', 'if=/etc/passwd'])],
    ['cp with one operand', exec('/bin/cp', ['cp', 'a'])],
    ['sh -c copying descriptors and writing /dev/null', exec('/bin/sh', ['sh', '-c', 'ls 2>&1 >/dev/null'])],
    ['sh -c into a variable', exec('/bin/bash', ['bash', '-c', 'echo x > "$OUT"'])],
    ['sh running a script', exec('/bin/sh', ['sh', './install.sh'])],
    ['a tool that names no targets', exec('/usr/bin/cat', ['cat', '/etc/passwd'])],
  ])('%s: no target', (_name, o) => {
    expect(commandTargets(o)).toEqual([]);
  });

  it('resolves nothing against an unknown cwd but normalises absolute names', () => {
    expect(commandTargets(exec('/usr/bin/tee', ['tee', '/etc//x/../y'], null))).toEqual(['/etc/y']);
  });
});
