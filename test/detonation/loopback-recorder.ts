import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';

/** How many leading bytes of a connection or datagram a hit keeps. */
const FIRST_BYTES = 64;

/**
 * TCP and UDP listeners on loopback that record whatever reaches them, for tests that assert a
 * sample did (or, far more often, did not) get bytes through. A TCP connection is one hit, counted
 * from its first byte on; a datagram is one hit.
 */
export class LoopbackRecorder<Hit extends { bytes: number; first: string }> {
  readonly hits: Hit[] = [];
  private readonly servers: Server[] = [];
  private readonly sockets: UdpSocket[] = [];
  private readonly open = new Set<Socket>();

  /** `hitOf` makes the record of one arrival at the listener named `listener`. */
  constructor(private readonly hitOf: (listener: string, bytes: number, first: string) => Hit) {}

  /** Listens on `host`, port chosen by the system; returns the port. */
  protected async listenTcp(listener: string, host: string): Promise<number> {
    const server = createServer((socket) => {
      this.open.add(socket);
      const hit = this.hitOf(listener, 0, '');
      this.hits.push(hit);
      socket.on('data', (chunk: Buffer) => {
        if (hit.first.length < FIRST_BYTES)
          hit.first += chunk.toString('latin1').slice(0, FIRST_BYTES - hit.first.length);
        hit.bytes += chunk.length;
      });
      socket.on('error', () => undefined);
      socket.on('close', () => this.open.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, resolve);
    });
    this.servers.push(server);
    return (server.address() as AddressInfo).port;
  }

  /** Binds a datagram socket on `host`; returns the port. */
  protected async bindUdp(listener: string, type: 'udp4' | 'udp6', host: string): Promise<number> {
    const socket = createSocket(type);
    socket.on('message', (message) =>
      this.hits.push(this.hitOf(listener, message.length, message.toString('latin1').slice(0, FIRST_BYTES))),
    );
    await new Promise<void>((resolve) => socket.bind(0, host, resolve));
    this.sockets.push(socket);
    return socket.address().port;
  }

  async stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const socket of this.sockets) socket.close();
  }
}
