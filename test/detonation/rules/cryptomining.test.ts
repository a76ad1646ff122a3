import { describe, expect, it } from 'vitest';
import type { Observation } from '../../../container/agent/observations';
import { judgeTrace } from '../judge';
import { network, Trace } from './trace';

/**
 * Compute hijacking (T1496.001): pools, the stratum protocol, miner programs, and CPU burnt over the
 * run as the runner's sampling measured it, whether or not a limit stopped it.
 */

const usage = (cpuSeconds: number, wallSeconds: number): Observation => ({
  type: 'usage',
  time: 1795370990,
  pid: null,
  line: `sandbox usage: ${cpuSeconds} CPU s over ${wallSeconds} s`,
  cpuSeconds,
  wallSeconds,
});

describe('mining pools and the stratum protocol', () => {
  it('resolving a pool name is T1496.001; an NTP pool or a name merely containing "pool" is not', () => {
    expect(new Trace().ids(network([], [{ name: 'xmr.pool.example.test' }])).get('cryptomining.pool-name')).toEqual([
      'T1496.001',
    ]);
    expect(new Trace().ids(network([], [{ name: '2.pool.ntp.org' }, { name: 'poolside.example.test' }])).size).toBe(0);
  });

  it('a stratum port is low T1496.001; HTTPS is not', () => {
    const to = (port: number) => network([{ address: '127.10.0.7', name: 'node.example.test', port }]);
    expect(new Trace().ids(to(3333)).get('cryptomining.stratum-port')).toEqual(['T1496.001']);
    expect(new Trace().ids(to(443)).has('cryptomining.stratum-port')).toBe(false);
  });

  it('a reverse shell to port 4444 of a named host is an uncommon port (T1571), and its port alone no more than low mining context', () => {
    const to4444 = network([{ address: '127.10.0.7', name: 'c2.example.test', port: 4444 }]);
    expect(new Trace().ids(to4444).get('network.unusual-port')).toEqual(['T1571']);
    expect(judgeTrace(new Trace().text(), {}, to4444).behavior.cryptomining.map((i) => i.severity)).toEqual(['low']);
  });

  it('stratum login bytes are T1496; other JSON-RPC is not', () => {
    const speak = (payload: string) =>
      new Trace().ids(network([{ address: '127.10.0.7', name: 'node.example.test', port: 3333, payload }]));
    expect(speak('{"id":1,"method":"mining.subscribe","params":[]}').get('cryptomining.stratum-protocol')).toEqual([
      'T1496.001',
    ]);
    expect(speak('{"id":1,"method":"eth_blockNumber","params":[]}').has('cryptomining.stratum-protocol')).toBe(false);
  });

  it('a miner program is T1496.001; a similarly named tool is not', () => {
    expect(
      new Trace()
        .run(701, '/tmp/xmrig', ['xmrig', '-o', 'pool.example.test:3333'])
        .ids()
        .get('cryptomining.miner-program'),
    ).toEqual(['T1496.001']);
    expect(new Trace().run(701, '/usr/bin/xmllint', ['xmllint', 'a.xml']).ids().has('cryptomining.miner-program')).toBe(
      false,
    );
  });
});

describe('CPU burnt', () => {
  it('the CPU limit stopping the sample is low T1496.001', () => {
    const limit: Observation = { type: 'limit', limit: 'cpu', time: 1795370990, pid: 700, line: '--- SIGXCPU ---' };
    expect(new Trace().ids([limit]).get('cryptomining.cpu-burn')).toEqual(['T1496.001']);
  });

  it('a core kept busy over the whole run is low T1496.001, under the limit too', () => {
    const { behavior } = judgeTrace(new Trace().text(), {}, [usage(55, 60)]);
    expect(behavior.cryptomining).toEqual([
      expect.objectContaining({
        id: 'cryptomining.sustained-cpu',
        severity: 'low',
        attack: ['T1496.001'],
        evidence: ['sandbox usage: 55 CPU s over 60 s'],
      }),
    ]);
  });

  it.each([
    ['a mostly idle run', usage(3, 60)],
    ['a short burst', usage(4, 4.5)],
  ])('%s is not', (_, observation) => {
    expect(new Trace().ids([observation]).has('cryptomining.sustained-cpu')).toBe(false);
  });
});
