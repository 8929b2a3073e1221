/**
 * The bench's load balancer for the scale-out scenario (issue 17): a TCP proxy
 * on loopback that hands each new client connection to an upstream, in turn
 * (round robin). Plain, the requests of one SockJS session reach whichever
 * process their connection landed on, so most messages cross processes through
 * Redis. `sticky`, a session's connections all go to the upstream its first
 * connection got, as a balancer hashing the session id of the URL would (what
 * SockJS deployments are advised to do): the session id is read from the first
 * request line of each connection, since the load generator never mixes
 * sessions on one connection. It runs in the orchestrator's process; one
 * upstream or two, it is the same hop.
 */
import net from 'node:net';

export class Balancer {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  /** sticky: the upstream each session id was given. */
  readonly #bySession = new Map<string, number>();
  #next = 0;

  private constructor(server: net.Server) {
    this.#server = server;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  static async start(upstreams: readonly number[], options: { sticky?: boolean } = {}): Promise<Balancer> {
    if (upstreams.length === 0) throw new RangeError('Balancer: no upstream');
    const server = net.createServer({ noDelay: true });
    const balancer = new Balancer(server);
    const next = (): number => upstreams[balancer.#next++ % upstreams.length]!;
    server.on('connection', (client) => {
      if (options.sticky !== true) {
        balancer.#proxy(client, next(), null);
        return;
      }
      client.once('data', (first: Buffer) => {
        // "POST /echo/000/<session>/xhr HTTP/1.1": the session is the path's third segment.
        const path = first.toString('latin1', 0, Math.min(first.length, 512)).split(' ')[1] ?? '';
        const session = path.split('/')[3] ?? '';
        let port = balancer.#bySession.get(session);
        if (port === undefined) {
          port = next();
          balancer.#bySession.set(session, port);
        }
        balancer.#proxy(client, port, first);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return balancer;
  }

  #proxy(client: net.Socket, port: number, first: Buffer | null): void {
    const upstream = net.connect({ port, host: '127.0.0.1', noDelay: true });
    if (first !== null) upstream.write(first);
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
