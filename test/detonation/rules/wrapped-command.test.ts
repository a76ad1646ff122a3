import { describe, expect, it } from 'vitest';
import type { ExecObservation } from '../../../container/agent/observations';
import { wrappedCommand, wrappedExec } from '../../../container/agent/rules/wrapped-command';
import { sample } from './trace-script';

/**
 * What a wrapper was asked to run is judged as that program's exec, whether or not the program
 * exists: a shell never calls exec for a missing one, so `sudo mdatp ...` leaves only sudo's argv.
 */

const exec = (argv: string[], cwd: string | null = '/tmp/w'): ExecObservation => ({
  type: 'exec',
  time: 0,
  line: argv.join(' '),
  pid: 10,
  path: `/usr/bin/${argv[0]}`,
  argv,
  env: [],
  uid: 1000,
  ok: true,
  errno: null,
  parentExe: '/bin/sh',
  cwd,
});

describe('wrappedCommand', () => {
  it.each([
    [
      ['sudo', 'mdatp', 'config', 'x'],
      ['mdatp', 'config', 'x'],
    ],
    [
      ['sudo', '-u', 'root', '-E', '--', 'id', '-u'],
      ['id', '-u'],
    ],
    [
      ['timeout', '-s', 'KILL', '4', 'tcpdump', '-i', 'any'],
      ['tcpdump', '-i', 'any'],
    ],
    [['nohup', './x'], ['./x']],
    [['env', '-i', 'PATH=/bin', 'HISTFILE=/dev/null', 'bash'], ['bash']],
    [['nice', '-n', '19', 'xmrig'], ['xmrig']],
  ])('%j runs %j', (argv, expected) => {
    expect(wrappedCommand(exec(argv))).toEqual(expected);
  });

  it.each([[['sudo', '-l']], [['sudo', '-v']], [['env']], [['timeout', '4']], [['cat', 'x']]])(
    '%j runs nothing',
    (argv) => {
      expect(wrappedCommand(exec(argv))).toBeNull();
    },
  );

  it('resolves a relative program against the working directory, with the wrapper as parent', () => {
    const inner = wrappedExec(exec(['nohup', './payload', '-d']));
    expect(inner?.path).toBe('/tmp/w/payload');
    expect(inner?.argv).toEqual(['./payload', '-d']);
    expect(inner?.parentExe).toBe('/usr/bin/nohup');
  });
});

describe('rules on wrapped commands', () => {
  it('judges `sudo mdatp ... disabled` when mdatp is never run', () => {
    const ids = sample().run(['sudo', 'mdatp', 'config', 'real-time-protection', '--value', 'disabled']).judge();
    expect(ids.get('evasion.disable-security-tools')).toEqual(['T1562.001']);
  });

  it('judges nested wrappers (sudo timeout 4 tcpdump)', () => {
    const ids = sample().run(['sudo', 'timeout', '4', 'tcpdump', '-i', 'any']).judge();
    expect(ids.get('network.sniffing')).toEqual(['T1040']);
  });

  it('adds nothing for sudo -l', () => {
    const ids = sample().run(['sudo', '-l']).judge();
    expect([...ids.keys()].filter((id) => !id.startsWith('privilegeEscalation.'))).toEqual([]);
  });
});
