/**
 * The SockJS conformance test server: the services every SockJS test suite expects
 * (sockjs-protocol's suite, sockjs-client's tests), as sockjs-node's own test server offers them.
 *
 *   npm run test-server -- --port 8081 [--host 127.0.0.1] [--sockjs-url URL]
 *                          [--redis URL [--redis-prefix PREFIX]]
 *
 * `--redis redis://host:port` gives every route a RedisStore (koa-sockjs/redis) on that Redis,
 * so the whole protocol suite can run on it. Its keys go under `--redis-prefix` (default
 * `koa-sockjs-test-server:`), plus the route's name: every test server started with the same
 * Redis and prefix shares the sessions, so two of them behind a round-robin balancer (or a
 * client that alternates between their ports) serve one session. A different prefix keeps a
 * server apart.
 *
 * Tests start it in-process: `await startConformanceServer({ port: 0 })`.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Koa from 'koa';
import { DEFAULTS, Session, sockjs, type SessionClass, type SessionStore, type SockjsMiddleware, type SockjsManagedOptions } from '../../src/index.js';

/** Echoes every message back. */
class EchoSession extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

/** Closes every new session at once (protocol suite: close_base_url). */
class CloseSession extends Session {
  override onOpen(): void {
    this.close(3000, 'Go away!');
  }
}

/** Sends `tick!` every second. */
class TickerSession extends Session {
  #timer: NodeJS.Timeout | undefined;
  override onOpen(): void {
    this.#timer = setInterval(() => this.send('tick!'), 1000).unref();
  }
  override onClose(): void {
    clearInterval(this.#timer);
  }
}

/** Sends every message to every session of the route. */
class BroadcastSession extends Session {
  override onMessage(message: unknown): void {
    this.manager.broadcast(message);
  }
}

/** Answers a message n with 2^n `x` (1 <= n <= 18; anything else counts as 1). */
class AmplifySession extends Session {
  override onMessage(message: unknown): void {
    const n = Math.floor(Number(message));
    this.send('x'.repeat(2 ** (n > 0 && n < 19 ? n : 1)));
  }
}

export interface ConformanceOptions {
  /** The client script the iframe page loads. @default the sockjs-client 1.x CDN URL */
  sockjsUrl?: string;
  /** Makes the store of each route (by route name); e.g. a RedisStore. @default a MemoryStore each */
  store?: (routeName: string) => SessionStore;
  /** For tests of heartbeats and timeouts. @default the library's (25 s, 5 s) */
  heartbeatDelay?: number;
  disconnectDelay?: number;
  /** How long a websocket ping waits for its pong. @default heartbeatDelay, as the library's */
  pingTimeout?: number;
}

export interface ConformanceApp {
  readonly app: Koa;
  /** The SockJS middleware of each service, by prefix (`/echo`, ...). */
  readonly routes: ReadonlyMap<string, SockjsMiddleware>;
  /** Closes every route's sessions and stores. */
  close(): Promise<void>;
}

/** Builds the Koa app with the standard services. */
export function createConformanceApp(options: ConformanceOptions = {}): ConformanceApp {
  const app = new Koa();
  const routes = new Map<string, SockjsMiddleware>();
  const mount = (name: string, session: SessionClass, extra: SockjsManagedOptions = {}): void => {
    const route = sockjs({
      name,
      prefix: `/${name}`,
      session,
      sockjsUrl: options.sockjsUrl ?? DEFAULTS.sockjsUrl,
      // The protocol suites send made-up origins (`test`, `null`) and expect them answered: a
      // test server for any client. The library's default allows only the route's own origin.
      origins: ['*', 'null'],
      ...(options.store ? { store: options.store(name) } : {}),
      ...(options.heartbeatDelay !== undefined ? { heartbeatDelay: options.heartbeatDelay } : {}),
      ...(options.disconnectDelay !== undefined ? { disconnectDelay: options.disconnectDelay } : {}),
      ...(options.pingTimeout !== undefined ? { pingTimeout: options.pingTimeout } : {}),
      ...extra,
    });
    routes.set(`/${name}`, route);
    app.use(route);
  };
  mount('echo', EchoSession, { responseLimit: 4096 });
  mount('disabled_websocket_echo', EchoSession, { websocket: false });
  mount('cookie_needed_echo', EchoSession, { jsessionid: true });
  mount('close', CloseSession);
  mount('ticker', TickerSession);
  mount('amplify', AmplifySession);
  mount('broadcast', BroadcastSession);
  return {
    app,
    routes,
    async close() {
      await Promise.all([...routes.values()].map((route) => route.close()));
    },
  };
}

export interface ConformanceServer extends ConformanceApp {
  readonly server: Server;
  /** `http://host:port`, without a trailing slash. */
  readonly url: string;
}

/** Starts the app on `port` (0 picks a free one). `close()` ends every connection and session. */
export async function startConformanceServer(
  options: ConformanceOptions & { port?: number; host?: string } = {},
): Promise<ConformanceServer> {
  const conformance = createConformanceApp(options);
  const host = options.host ?? '127.0.0.1';
  const server = conformance.app.listen(options.port ?? 0, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    ...conformance,
    server,
    url,
    async close() {
      await conformance.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Fixed, so that test servers pointed at one Redis share their sessions (see the top). */
export const DEFAULT_REDIS_PREFIX = 'koa-sockjs-test-server:';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8081' },
      host: { type: 'string', default: '127.0.0.1' },
      'sockjs-url': { type: 'string' },
      redis: { type: 'string' },
      'redis-prefix': { type: 'string', default: DEFAULT_REDIS_PREFIX },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`--port must be a port number, got ${values.port}`);
  const options: ConformanceOptions = values['sockjs-url'] ? { sockjsUrl: values['sockjs-url'] } : {};
  const redisUrl = values.redis;
  if (redisUrl !== undefined) {
    // Loaded only when asked for, as an application would.
    const { RedisStore } = await import('../../src/store/redis/index.js');
    const namespace = values['redis-prefix']!;
    options.store = (route) => new RedisStore({ url: redisUrl, keyPrefix: `${namespace}${route}:` });
  }
  const running = await startConformanceServer({ port, host: values.host!, ...options });
  console.log(`SockJS conformance server listening on ${running.url}`);
  console.log(`services: ${[...running.routes.keys()].join(' ')}`);
  if (redisUrl !== undefined) console.log(`session store: Redis at ${redisUrl}, keys under ${values['redis-prefix']}`);
  const stop = (signal: string): void => {
    console.log(`${signal}: closing`);
    // Nothing else holds the event loop: once the server is closed, the process ends.
    running.close().catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
