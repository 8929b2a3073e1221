// The chat from koa-sockjs's README, grown into one to try in a browser: the server knows each
// person's nickname (join, leave and chat lines carry it), a page with a nickname field and a
// transport picker, and the sockjs-client bundle served locally.
//
//   npm start                      # from the repository root: http://127.0.0.1:8080
//   PORT=3000 npx tsx examples/chat/server.ts
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Koa from 'koa';
import { sockjs, Session } from 'koa-sockjs';

/** Longest nickname, in characters; longer ones are cut. */
const MAX_NICKNAME_LENGTH = 32;

/**
 * The nickname the page puts in the SockJS URL (`/chat?name=alice`). sockjs-client keeps the
 * query string on every request it makes, so the opening request carries it whatever the
 * transport.
 */
export function nicknameOf(url: string): string {
  const name = new URL(url, 'http://localhost').searchParams.get('name') ?? '';
  // Control characters and surrounding blanks would only garble the chat lines.
  const clean = name.replace(/[\p{Cc}\p{Cf}]/gu, '').trim().slice(0, MAX_NICKNAME_LENGTH);
  return clean || 'anonymous';
}

class ChatSession extends Session {
  readonly nickname = nicknameOf(this.url);

  override onOpen() {
    this.send(`Hello ${this.nickname}`);
    this.#sendToOthers(`${this.nickname} joined.`);
  }
  override onMessage(message: unknown) {
    // The server, not the page, puts the name in front: nobody can speak as someone else.
    if (typeof message === 'string' && message.trim()) this.manager.broadcast(`${this.nickname}: ${message}`);
  }
  override onClose() {
    this.#sendToOthers(`${this.nickname} left.`);
  }

  /** Everyone but this session: nobody needs to be told that they joined. */
  #sendToOthers(line: string) {
    for (const session of this.manager.activeSessions()) {
      if (session !== this) session.send(line);
    }
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
    if (typeof message !== 'string' || !message) ctx.throw(400, 'Say what to send: /broadcast?message=...');
    ctx.sockjs('chat-service').broadcast(message);
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
