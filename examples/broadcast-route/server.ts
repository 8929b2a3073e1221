// Pushing to browsers from ordinary HTTP routes: the SockJS sessions only listen, and a plain
// Koa route (`POST /announce`) reaches all of them through `ctx.sockjs(name)`.
//
//   npx tsx examples/broadcast-route/server.ts      # http://127.0.0.1:8082 (PORT to change it)
//   curl -X POST --data 'Deploy finished' http://127.0.0.1:8082/announce
//   curl http://127.0.0.1:8082/sessions
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Koa, { type Context } from 'koa';
import { sockjs, Session } from 'koa-sockjs';

/** Subscribers only receive; what they send is ignored. */
class Subscriber extends Session {}

const PAGE_FILE = fileURLToPath(new URL('./public/index.html', import.meta.url));
const SOCKJS_CLIENT_FILE = createRequire(import.meta.url).resolve('sockjs-client/dist/sockjs.min.js');

/** Announcements are short; anything longer is refused rather than buffered. */
const MAX_ANNOUNCEMENT_BYTES = 4096;

async function readText(ctx: Context): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ANNOUNCEMENT_BYTES) ctx.throw(413, `announcements are limited to ${MAX_ANNOUNCEMENT_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createBroadcastApp(): Koa {
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

  app.use(sockjs({ name: 'updates', prefix: '/updates', session: Subscriber, sockjsUrl: '/sockjs.min.js' }));

  app.use(async function announce(ctx, next) {
    if (ctx.path !== '/announce') return next();
    if (ctx.method !== 'POST') ctx.throw(405, 'POST the announcement as the request body');
    const message = (await readText(ctx)).trim();
    if (!message) ctx.throw(400, 'empty announcement');
    const updates = ctx.sockjs('updates');
    updates.broadcast({ message, at: new Date().toISOString() });
    ctx.body = { sentTo: [...updates.activeSessions()].length };
  });

  app.use(async function listSessions(ctx, next) {
    if (ctx.path !== '/sessions' || ctx.method !== 'GET') return next();
    ctx.body = [...ctx.sockjs('updates').activeSessions()].map((session) => ({
      id: session.id,
      transport: session.transport,
      remoteAddress: session.remoteAddress,
    }));
  });

  return app;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = createBroadcastApp().listen(Number(process.env.PORT ?? 8082), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`Broadcast example running at http://${address}:${port}/`);
  });
}
