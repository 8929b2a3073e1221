/**
 * One koa-sockjs process of the cross-process tests (a real child process): a Koa app on a free
 * port whose routes share a RedisStore. Started by test/helpers/redis-cluster.ts; reports to
 * its parent over IPC: `{ type: 'ready', port, pid }`, then every hook as `{ type: 'hook', ... }`.
 *
 * Environment: REDIS_TARGET (JSON, see test/helpers/redis-deployments.ts), KEY_PREFIX, NODE_TTL, HEARTBEAT_DELAY, DISCONNECT_DELAY (ms),
 * RESPONSE_LIMIT (bytes; small values make streaming clients reconnect, to another process).
 *
 * Routes: /echo echoes; /chat broadcasts every message to every session of the route (on every
 * process); GET /broadcast?route=<name>&message=<text> broadcasts from a plain Koa route, as
 * `ctx.sockjs(name).broadcast()`; GET /count?route=<name> answers the cluster-wide count and
 * this process's active sessions.
 *
 * /rooms: a session obeys its client's commands (JSON text) `{ join }`, `{ leave }` (answering `{ joined }`
 * once the join is effective on every process, `{ left }`) and `{ to, except?, say }` (a room
 * broadcast; `except: 'me'` leaves the sender out). GET /rooms-broadcast?rooms=a,b&tag=t&count=n
 * &every=ms&mix=1 broadcasts `t-0` .. `t-(n-1)` to those rooms (one every `every` ms, or all in
 * one tick; with mix=1 every other one goes to everyone through broadcast()), answering at once;
 * a `{ type: 'sent', tag }` report follows the last.
 *
 * /secure: an echo route with the security options on, their state in Redis: sessions bound to
 * the `X-User` header (identity), at most SECURE_POINTS new sessions per client (the `X-Client`
 * header, else the address) per minute through a RateLimiterRedis, at most SECURE_MAX sessions.
 */
import { Redis } from 'ioredis';
import Koa from 'koa';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { Session, StoreError, sockjs, type SockjsMiddleware } from '../../src/index.js';
import { RedisStore } from '../../src/store/redis/index.js';
import { connectRedis, storeOptions, type RedisTarget } from '../helpers/redis-deployments.js';

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`cluster-node: ${name} is not set`);
  return value;
};

function report(event: Record<string, unknown>): void {
  process.send?.({ ...event, pid: process.pid });
}

class Echo extends Session {
  override onOpen(): void {
    report({ type: 'hook', hook: 'onOpen', route: 'echo', id: this.id });
  }
  override onMessage(message: unknown): void {
    report({ type: 'hook', hook: 'onMessage', route: 'echo', id: this.id, message });
    this.send(message);
  }
  override onClose(): void {
    report({ type: 'hook', hook: 'onClose', route: 'echo', id: this.id });
  }
}

class Secure extends Session {
  override onOpen(): void {
    report({ type: 'hook', hook: 'onOpen', route: 'secure', id: this.id });
  }
  override onMessage(message: unknown): void {
    report({ type: 'hook', hook: 'onMessage', route: 'secure', id: this.id, message });
    this.send(message);
  }
}

class Chat extends Session {
  override onOpen(): void {
    report({ type: 'hook', hook: 'onOpen', route: 'chat', id: this.id });
  }
  override onMessage(message: unknown): void {
    this.manager.broadcast(message);
  }
}

class Rooms extends Session {
  override onOpen(): void {
    report({ type: 'hook', hook: 'onOpen', route: 'rooms', id: this.id });
  }
  override onMessage(message: unknown): void {
    // sockjs-client sends strings: commands come JSON-encoded.
    const command = JSON.parse(String(message)) as { join?: string; leave?: string; to?: string[]; except?: string; say?: unknown };
    if (command.join !== undefined) {
      const room = command.join;
      void this.join(room).then(() => this.send({ joined: room }));
    } else if (command.leave !== undefined) {
      this.send({ left: command.leave, was: this.leave(command.leave) });
    } else if (command.to !== undefined) {
      const target = this.manager.to(command.to);
      (command.except === 'me' ? target.except(this) : target).broadcast(command.say);
    }
  }
}

/** A stream of room broadcasts, paced by a timer so a test can kill a process in the middle. */
function roomBroadcasts(route: string, rooms: string[], tag: string, count: number, every: number, mix: boolean): void {
  const manager = routes.find((candidate) => candidate.manager.name === route)!.manager;
  const send = (i: number): void => {
    if (mix && i % 2 === 1) manager.broadcast(`${tag}-${i}`);
    else manager.to(rooms).broadcast(`${tag}-${i}`);
  };
  if (every === 0) {
    for (let i = 0; i < count; i++) send(i);
    report({ type: 'sent', tag });
    return;
  }
  let i = 0;
  const next = (): void => {
    send(i++);
    if (i < count) setTimeout(next, every);
    else report({ type: 'sent', tag });
  };
  next();
}

const timing = {
  heartbeatDelay: Number(env('HEARTBEAT_DELAY', '25000')),
  disconnectDelay: Number(env('DISCONNECT_DELAY', '5000')),
  responseLimit: Number(env('RESPONSE_LIMIT', String(128 * 1024))),
};
const target = JSON.parse(env('REDIS_TARGET')) as RedisTarget;
/** The application's client (on a cluster or through Sentinel), shared by every route's store. */
const shared = storeOptions(target);
const storeFor = (name: string): RedisStore => new RedisStore({ ...shared.options, keyPrefix: `${env('KEY_PREFIX')}${name}:`, nodeTtl: Number(env('NODE_TTL', '10000')) });

/** The rate limiter's own connection: its counters live in the same Redis as the sessions. */
const limiterClient = target.kind === 'single' ? new Redis(target.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }) : connectRedis(target);
limiterClient.on('error', () => {});

const routes: SockjsMiddleware[] = [
  sockjs({ name: 'echo', prefix: '/echo', session: Echo, store: storeFor('echo'), ...timing, onError: () => {} }),
  sockjs({ name: 'chat', prefix: '/chat', session: Chat, store: storeFor('chat'), ...timing, onError: () => {} }),
  sockjs({ name: 'rooms', prefix: '/rooms', session: Rooms, store: storeFor('rooms'), ...timing, onError: () => {} }),
  sockjs({
    name: 'secure',
    prefix: '/secure',
    session: Secure,
    store: storeFor('secure'),
    ...timing,
    onError: () => {},
    identity: (ctx) => ctx.get('X-User') || undefined,
    limits: {
      newSessions: new RateLimiterRedis({ storeClient: limiterClient, keyPrefix: `${env('KEY_PREFIX')}limits`, points: Number(env('SECURE_POINTS', '3')), duration: 60 }),
      key: (ctx) => ctx.get('X-Client') || ctx.ip,
      maxSessions: Number(env('SECURE_MAX', '1000')),
    },
  }),
];

const app = new Koa();
// /count fails with a StoreError (503) while Redis is down, as the failure drills expect; Koa
// would print each one. Anything else is still printed.
app.on('error', (error: unknown) => {
  if (!(error instanceof StoreError)) console.error(error);
});
app.use(async function routesOutsideSockjs(ctx, next) {
  const route = typeof ctx.query.route === 'string' ? ctx.query.route : 'echo';
  if (ctx.path === '/broadcast') {
    ctx.sockjs(route).broadcast(String(ctx.query.message));
    ctx.body = 'ok';
  } else if (ctx.path === '/rooms-broadcast') {
    const rooms = String(ctx.query.rooms ?? '').split(',').filter(Boolean);
    roomBroadcasts(route === 'echo' ? 'rooms' : route, rooms, String(ctx.query.tag), Number(ctx.query.count ?? 1), Number(ctx.query.every ?? 0), ctx.query.mix === '1');
    ctx.body = 'ok';
  } else if (ctx.path === '/count') {
    const manager = ctx.sockjs(route);
    ctx.body = { count: await manager.count(), local: manager.activeSessions().length, pid: process.pid };
  } else {
    await next();
  }
});
for (const route of routes) app.use(route);

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  report({ type: 'ready', port: address.port });
});

// A clean stop (SIGTERM): close every route (deregistering from Redis), then exit.
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  Promise.all([...routes.map((route) => route.close()), limiterClient.quit()]).then(
    () => {
      shared.close();
      process.exit(0);
    },
    () => process.exit(1),
  );
});
process.on('disconnect', () => process.exit(0));
