// One process of the cluster example: the chat on a RedisStore. Run several (cluster.ts does),
// put any round-robin balancer in front, and every poll, send and broadcast works whichever
// process it lands on.
//
//   REDIS_URL=redis://127.0.0.1:6379 PORT=8081 npx tsx examples/cluster/server.ts
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Koa from 'koa';
import { sockjs, Session, type SockjsMiddleware } from 'koa-sockjs';
import { RedisStore } from 'koa-sockjs/redis';
import { nicknameOf } from '../chat/server.js';

const PAGE_FILE = fileURLToPath(new URL('./public/index.html', import.meta.url));
const SOCKJS_CLIENT_FILE = createRequire(import.meta.url).resolve('sockjs-client/dist/sockjs.min.js');

class ChatSession extends Session {
  /** From the SockJS URL (`/chat?name=alice`), as in examples/chat. */
  readonly nickname = nicknameOf(this.url);

  override onOpen() {
    // Runs once, in the process that opened the session (its owner), wherever later requests land.
    this.send(`Welcome, ${this.nickname}! Your session lives in process ${process.pid}.`);
    // Everyone else, on every process (through Redis pub/sub): nobody is told they joined.
    this.manager.except(this).broadcast(`${this.nickname} joined.`);
  }
  override onMessage(message: unknown) {
    // The server puts the name in front: nobody can speak as someone else.
    if (typeof message === 'string' && message.trim()) this.manager.broadcast(`${this.nickname}: ${message}`);
  }
  override onClose() {
    this.manager.except(this).broadcast(`${this.nickname} left.`);
  }
}

export interface ClusterApp {
  app: Koa;
  chat: SockjsMiddleware;
  /** The route's store: `await store.ready()` before serving, to fail early without Redis. */
  store: RedisStore;
}

export function createClusterApp(redisUrl: string): ClusterApp {
  const app = new Koa();
  // Every process of the cluster must use the same keyPrefix for a route (the default is fine
  // when a Redis serves one app).
  const store = new RedisStore({ url: redisUrl, keyPrefix: 'koa-sockjs-cluster-example:chat:' });
  const chat = sockjs({ name: 'chat', prefix: '/chat', session: ChatSession, sockjsUrl: '/sockjs.min.js', store });

  app.use(async function servePage(ctx, next) {
    if (ctx.method !== 'GET') return next();
    if (ctx.path === '/') {
      ctx.type = 'html';
      ctx.body = await readFile(PAGE_FILE);
    } else if (ctx.path === '/sockjs.min.js') {
      ctx.type = 'application/javascript';
      ctx.body = await readFile(SOCKJS_CLIENT_FILE);
    } else if (ctx.path === '/stats') {
      // count() is the whole cluster's; activeSessions() only this process's.
      const manager = ctx.sockjs('chat');
      ctx.body = { process: process.pid, sessionsInCluster: await manager.count(), sessionsHere: manager.activeSessions().length };
    } else {
      return next();
    }
  });
  app.use(chat);
  return { app, chat, store };
}

// Started directly: wait for Redis, listen on PORT, say so, and tell a parent (cluster.ts).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const { app, chat, store } = createClusterApp(redisUrl);
  try {
    // Without this, a process started with no Redis would listen and answer 503 to every
    // session request; better to refuse to start, and say why.
    await store.ready();
  } catch (error) {
    console.error(
      `Chat process ${process.pid}: no Redis at ${redisUrl} (${error instanceof Error ? error.message : String(error)}).\n` +
        `Start one that writes nothing to disk: redis-server --port 6379 --save '' --appendonly no`,
    );
    await chat.close().catch(() => undefined);
    process.exit(1);
  }
  const port = Number(process.env.PORT ?? 8081);
  const server = app.listen(port, process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`Chat process ${process.pid} listening on http://${address}:${port}/ (Redis at ${redisUrl})`);
    process.send?.({ type: 'ready', pid: process.pid, port });
  });
  server.on('error', (error: NodeJS.ErrnoException) => {
    console.error(`Chat process ${process.pid}: cannot listen on port ${port}: ${error.code === 'EADDRINUSE' ? 'it is taken (set PORT)' : error.message}`);
    void chat.close().finally(() => process.exit(1));
  });
  const stop = () => {
    // Closing the route deregisters this process from Redis: its sessions' clients are told to
    // go, and new ones are served by the other processes.
    server.close();
    server.closeAllConnections();
    chat.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
