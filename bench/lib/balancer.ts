/**
 * The bench's load balancer for the scale-out scenario (issue 17): a TCP proxy
 * on loopback that hands each new client connection to the next upstream in
 * turn (round robin, no stickiness), so the requests of one SockJS session
 * reach whichever process their connection landed on. It runs in the
 * orchestrator's process; one upstream or two, it is the same hop.
 */
import net from 'node:net';

export class Balancer {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #next = 0;

  private constructor(server: net.Server) {
    this.#server = server;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  static async start(upstreams: readonly number[]): Promise<Balancer> {
    if (upstreams.length === 0) throw new RangeError('Balancer: no upstream');
    const server = net.createServer({ noDelay: true });
    const balancer = new Balancer(server);
    server.on('connection', (client) => balancer.#proxy(client, upstreams[balancer.#next++ % upstreams.length]!));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return balancer;
  }

  #proxy(client: net.Socket, port: number): void {
    const upstream = net.connect({ port, host: '127.0.0.1', noDelay: true });
    this.#sockets.add(client).add(upstream);
    // Resets travel on as resets (the load generator resets to leave no TIME_WAIT behind).
    const drop = (): void => {
      if (!client.destroyed) client.resetAndDestroy();
      if (!upstream.destroyed) upstream.resetAndDestroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', () => {
      this.#sockets.delete(client);
      if (!upstream.destroyed) upstream.destroy();
    });
    upstream.on('close', () => {
      this.#sockets.delete(upstream);
      if (!client.destroyed) client.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
