// The chat from koa-sockjs's README, plus what it takes to try it in a browser: a page with a
// nickname field and a transport picker, and the sockjs-client bundle served locally.
//
//   npm start                      # from the repository root: http://127.0.0.1:8080
//   PORT=3000 npx tsx examples/chat/server.ts
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Koa from 'koa';
import { sockjs, Session } from 'koa-sockjs';

class ChatSession extends Session {
  override onOpen() {
    this.send('Hello');
    this.manager.broadcast('Someone joined.');
  }
  override onMessage(message: unknown) {
    this.manager.broadcast(message);
  }
  override onClose() {
    this.manager.broadcast('Someone left.');
  }
}

const PAGE_FILE = fileURLToPath(new URL('./public/index.html', import.meta.url));

/**
 * The sockjs-client bundle from node_modules. The page loads it, and so does the iframe page
 * that the iframe-* transports open (the `sockjsUrl` option), so no CDN is involved.
 */
const SOCKJS_CLIENT_FILE = createRequire(import.meta.url).resolve('sockjs-client/dist/sockjs.min.js');

export function createChatApp(): Koa {
  const app = new Koa();

  app.use(async function servePage(ctx, next) {
    if (ctx.method !== 'GET') return next();
    if (ctx.path === '/') {
      ctx.type = 'html';
      ctx.body = await readFile(PAGE_FILE);
    } else if (ctx.path === '/sockjs.min.js') {
      ctx.type = 'application/javascript';
      ctx.body = await readFile(SOCKJS_CLIENT_FILE);
    } else {
      return next();
    }
  });

  app.use(sockjs({ name: 'chat-service', prefix: '/chat', session: ChatSession, sockjsUrl: '/sockjs.min.js' }));

  // Any Koa route can reach the sessions: GET /broadcast?message=hi
  app.use(async (ctx, next) => {
    if (ctx.path !== '/broadcast') return next();
    const message = ctx.query.message;
    if (typeof message === 'string' && message) {
      for (const session of ctx.sockjs('chat-service').activeSessions()) session.send(message);
    }
    ctx.body = 'Message has been sent';
  });

  return app;
}

// Started directly (not imported by a test): listen.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = createChatApp().listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`Chat running at http://${address}:${port}/`);
  });
}
