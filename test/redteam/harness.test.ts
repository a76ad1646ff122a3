import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Canaries } from './harness';

// The suite's "no byte reached a canary" assertions mean something only if a canary does see a byte
// sent to it from outside the sandbox: this is that control.
describe('red-team canaries', () => {
  const canaries = new Canaries();
  beforeAll(() => canaries.start());
  afterAll(() => canaries.stop());

  it('record a TCP connection and a datagram on each loopback family', async () => {
    for (const [host, port] of [
      ['127.0.0.1', canaries.ports.tcp4],
      ['::1', canaries.ports.tcp6],
    ] as const) {
      await new Promise<void>((resolve, reject) => {
        const socket = connect(port, host, () => socket.end('hello', resolve));
        socket.on('error', reject);
      });
    }
    for (const [type, host, port] of [
      ['udp4', '127.0.0.1', canaries.ports.udp4],
      ['udp6', '::1', canaries.ports.udp6],
    ] as const) {
      const socket = createSocket(type);
      await new Promise<void>((resolve, reject) =>
        socket.send('ping', port, host, (error) => (error ? reject(error) : resolve())),
      );
      socket.close();
    }
    await expect.poll(() => canaries.hits.map((h) => h.canary).sort()).toEqual(['tcp4', 'tcp6', 'udp4', 'udp6']);
    await expect
      .poll(() => canaries.hits.filter((h) => h.canary.startsWith('tcp')).every((h) => h.bytes === 5))
      .toBe(true);
  });
});
