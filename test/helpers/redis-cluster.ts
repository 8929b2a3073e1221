/**
 * What the cross-process tests need besides Redis: koa-sockjs processes (real child processes
 * running test/redis/cluster-node.ts) and a tiny round-robin proxy in front of them that sends
 * each new HTTP request to the next backend, as a load balancer without sticky sessions does.
 *
 * The proxy behaves like nginx's defaults: a backend that refuses the connection (dead) is
 * skipped and the request goes to the next one; a backend that fails after taking the request
 * gets the client a 502. Websocket upgrades are piped, raw, to the next backend.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { RedisTarget } from './redis-deployments.js';
import { TestClient as BaseTestClient } from './sockjs-client.js';

const NODE_SCRIPT = fileURLToPath(new URL('../redis/cluster-node.ts', import.meta.url));

export interface HookEvent {
  type: 'hook';
  pid: number;
  hook: 'onOpen' | 'onMessage' | 'onClose';
  route: string;
  id: string;
  message?: unknown;
}

export interface NodeSettings {
  /** One Redis, by URL; or give `redis`. */
  redisUrl?: string;
  /** The Redis deployment (test/helpers/redis-deployments.ts); wins over `redisUrl`. */
  redis?: RedisTarget;
  keyPrefix: string;
  nodeTtl?: number;
  heartbeatDelay?: number;
  disconnectDelay?: number;
  responseLimit?: number;
  /** /secure: new sessions per client per minute, and sessions on the route. */
  securePoints?: number;
  secureMax?: number;
}

/** One koa-sockjs child process. */
export class ClusterNode {
  readonly hooks: HookEvent[] = [];
  readonly events = new EventEmitter();
  #child: ChildProcess;
  port = 0;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (message: { type: string; port?: number }) => {
      if (message.type === 'hook') {
        this.hooks.push(message as HookEvent);
        this.events.emit('hook', message);
      } else if (message.type !== 'ready') {
        // Other reports (say, `sent` after a stream of room broadcasts) under their own type.
        this.events.emit(message.type, message);
      }
    });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(settings: NodeSettings): Promise<ClusterNode> {
    const child = spawn(process.execPath, ['--import', 'tsx', NODE_SCRIPT], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        REDIS_TARGET: JSON.stringify(settings.redis ?? { kind: 'single', url: settings.redisUrl }),
        KEY_PREFIX: settings.keyPrefix,
        NODE_TTL: String(settings.nodeTtl ?? 10_000),
        HEARTBEAT_DELAY: String(settings.heartbeatDelay ?? 25_000),
        DISCONNECT_DELAY: String(settings.disconnectDelay ?? 5_000),
        RESPONSE_LIMIT: String(settings.responseLimit ?? 128 * 1024),
        SECURE_POINTS: String(settings.securePoints ?? 3),
        SECURE_MAX: String(settings.secureMax ?? 1000),
      },
    });
    const node = new ClusterNode(child);
    const ready = new Promise<number>((resolve, reject) => {
      const onMessage = (message: { type: string; port?: number }): void => {
        if (message.type !== 'ready') return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message.port!);
      };
      const onExit = (code: number | null): void => reject(new Error(`cluster node exited early (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    node.port = await ready;
    return node;
  }

  /** Hooks of one session, as reported so far. */
  hooksOf(id: string): HookEvent[] {
    return this.hooks.filter((event) => event.id === id);
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** A crash: SIGKILL, no cleanup of any kind. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    const exited = once(this.#child, 'exit');
    this.#child.kill('SIGKILL');
    await exited;
  }

  /** A clean stop: the process closes its routes (and deregisters from Redis), then exits. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = once(this.#child, 'exit');
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Starts `count` nodes sharing one Redis key prefix. */
export async function startNodes(count: number, settings: NodeSettings): Promise<ClusterNode[]> {
  return Promise.all(Array.from({ length: count }, () => ClusterNode.start(settings)));
}

/** Round-robin HTTP proxy: every request (and websocket upgrade) goes to the next backend. */
export class RoundRobinProxy {
  /** Emits 'change' whenever a request starts or ends. */
  readonly events = new EventEmitter();
  /** Requests each backend port received, by the last path segment (`xhr`, `xhr_send`, ...). */
  readonly served = new Map<number, Map<string, number>>();
  readonly #inFlight = new Map<number, number>();
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  readonly #nextByKind = new Map<string, number>();
  port = 0;
  /**
   * When set, websocket upgrades go to this backend instead of the next in turn: a test that
   * needs a websocket session on a given process (other requests, sockjs-client's /info among
   * them, move the rotation unpredictably).
   */
  upgradesTo: number | undefined;

  /**
   * @param options.perKind rotate each kind of request (the last path segment: `xhr_send`,
   *   `xhr_streaming`, ...) on its own, so consecutive requests of one kind always alternate,
   *   whatever other requests come between them; by default one rotation for all requests
   */
  constructor(
    readonly backends: readonly number[],
    readonly options: { perKind?: boolean } = {},
  ) {
    for (const port of backends) {
      this.#inFlight.set(port, 0);
      this.served.set(port, new Map());
    }
    this.#server = http.createServer((req, res) => this.#forward(req, res));
    this.#server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => this.#upgrade(req, socket, head));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
    return this;
  }

  /** Requests (and websockets) now open to the backend on `port`. */
  inFlight(port: number): number {
    return this.#inFlight.get(port) ?? 0;
  }

  /** How many requests with this last path segment `port` received. */
  count(port: number, segment: string): number {
    return this.served.get(port)?.get(segment) ?? 0;
  }

  /** Resolves as soon as `predicate` holds, checked on every request start and end. */
  when(predicate: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off('change', check);
        reject(new Error(`proxy: timed out waiting for ${what}`));
      }, timeoutMs);
      const check = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.events.off('change', check);
        resolve();
      };
      this.events.on('change', check);
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  /** The next backend in the rotation (of this kind of request) that this request has not tried yet. */
  #pick(tried: ReadonlySet<number>, kind: string): number {
    const rotation = this.options.perKind ? kind : '';
    for (;;) {
      const next = this.#nextByKind.get(rotation) ?? 0;
      this.#nextByKind.set(rotation, next + 1);
      const port = this.backends[next % this.backends.length]!;
      if (!tried.has(port)) return port;
    }
  }

  #track(port: number, delta: number, segment?: string): void {
    this.#inFlight.set(port, (this.#inFlight.get(port) ?? 0) + delta);
    if (segment !== undefined) {
      const served = this.served.get(port)!;
      served.set(segment, (served.get(segment) ?? 0) + 1);
    }
    this.events.emit('change');
  }

  #forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => this.#attempt(req, res, Buffer.concat(chunks), new Set()));
  }

  #attempt(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, tried: Set<number>): void {
    const segment = (req.url ?? '').split('?')[0]!.split('/').at(-1)!;
    const port = this.#pick(tried, segment);
    tried.add(port);
    this.#track(port, +1, segment);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.#track(port, -1);
    };
    const upstream = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent: false });
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      res.flushHeaders();
      answer.on('data', (chunk: Buffer) => res.write(chunk));
      answer.on('end', () => {
        finish();
        res.end();
      });
      answer.on('error', () => {
        finish();
        res.destroy();
      });
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      finish();
      if (error.code === 'ECONNREFUSED' && tried.size < this.backends.length) {
        // Nothing reached that backend: the next one can take the request (nginx does so too).
        this.#attempt(req, res, body, tried);
        return;
      }
      if (!res.headersSent) {
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end('Bad gateway');
      } else {
        res.destroy();
      }
    });
    // The client went away: so does the request upstream (the server sees the abort).
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
      finish();
    });
    upstream.end(body);
  }

  #upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer, tried = new Set<number>()): void {
    const port = this.upgradesTo !== undefined && !tried.has(this.upgradesTo) ? this.upgradesTo : this.#pick(tried, 'websocket');
    tried.add(port);
    const upstream = connect(port, '127.0.0.1');
    let counted = false;
    const finish = (): void => {
      if (!counted) return;
      counted = false;
      this.#track(port, -1);
    };
    upstream.on('connect', () => {
      counted = true;
      this.#track(port, +1, 'websocket');
      let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      upstream.write(raw + '\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (!counted && error.code === 'ECONNREFUSED' && tried.size < this.backends.length) {
        this.#upgrade(req, socket, head, tried);
        return;
      }
      finish();
      socket.destroy();
    });
    upstream.on('close', () => {
      finish();
      socket.destroy();
    });
    socket.on('error', () => upstream.destroy());
    socket.on('close', () => upstream.destroy());
  }
}

/**
 * Resolves with `event` (say, `client.opened`); rejects, saying why, if the client closes first
 * or the time runs out: a lost message must fail a test, never hang it.
 */
export async function clientEvent<T>(client: TestClient, event: Promise<T>, what: string, timeoutMs = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  const failure = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${JSON.stringify(client.received)}`)), timeoutMs);
    void client.closed.then((close) => {
      // Messages that arrived with the close count first.
      setImmediate(() => {
        if (!settled) reject(new Error(`the client closed (${close.code} ${close.reason}) while waiting for ${what}; received ${JSON.stringify(client.received)}`));
      });
    });
  });
  failure.catch(() => undefined);
  try {
    return await Promise.race([event, failure]);
  } finally {
    settled = true;
    clearTimeout(timer);
  }
}

/** Resolves once `client` has received `count` messages in all (see clientEvent). */
export function awaitMessages(client: TestClient, count: number, what: string, timeoutMs = 15_000): Promise<unknown[]> {
  return clientEvent(client, client.waitFor(count), what, timeoutMs);
}

export type { ClientClose } from './sockjs-client.js';

/**
 * The real sockjs-client in Node (test/helpers/sockjs-client.ts) with a long connect `timeout`:
 * the default comes from the /info round trip (well under a second here), too short for a
 * session opened through a proxy, a child process and Redis on a loaded two-core machine.
 */
export class TestClient extends BaseTestClient {
  constructor(url: string, transport: string) {
    super(url, transport, { timeout: 10_000 });
  }
}
