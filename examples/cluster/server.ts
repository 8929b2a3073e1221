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

const PAGE_FILE = fileURLToPath(new URL('./public/index.html', import.meta.url));
const SOCKJS_CLIENT_FILE = createRequire(import.meta.url).resolve('sockjs-client/dist/sockjs.min.js');

class ChatSession extends Session {
  override onOpen() {
    // Runs once, in the process that opened the session (its owner), wherever later requests land.
    this.send(`Welcome! Your session lives in process ${process.pid}.`);
    this.manager.broadcast('Someone joined.');
  }
  override onMessage(message: unknown) {
    // A broadcast reaches the sessions of every process, through Redis pub/sub.
    this.manager.broadcast(message);
  }
  override onClose() {
    this.manager.broadcast('Someone left.');
  }
}

export interface ClusterApp {
  app: Koa;
  chat: SockjsMiddleware;
}

export function createClusterApp(redisUrl: string): ClusterApp {
  const app = new Koa();
  // Every process of the cluster must use the same keyPrefix for a route (the default is fine
  // when a Redis serves one app).
  const chat = sockjs({ name: 'chat', prefix: '/chat', session: ChatSession, sockjsUrl: '/sockjs.min.js', store: new RedisStore({ url: redisUrl, keyPrefix: 'koa-sockjs-cluster-example:chat:' }) });

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
  return { app, chat };
}

// Started directly: listen on PORT, and tell a parent (cluster.ts) the port.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { app, chat } = createClusterApp(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const server = app.listen(Number(process.env.PORT ?? 8081), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    if (process.send) process.send({ type: 'ready', port });
    else console.log(`Chat process ${process.pid} at http://${address}:${port}/`);
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
