// The smallest koa-sockjs server: every message a client sends comes straight back.
//
//   npx tsx examples/echo/server.ts      # http://127.0.0.1:8081 (PORT to change it)
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Koa from 'koa';
import { sockjs, Session } from 'koa-sockjs';

class EchoSession extends Session {
  override onMessage(message: unknown) {
    this.send(message);
  }
}

const PAGE_FILE = fileURLToPath(new URL('./public/index.html', import.meta.url));
const SOCKJS_CLIENT_FILE = createRequire(import.meta.url).resolve('sockjs-client/dist/sockjs.min.js');

export function createEchoApp(): Koa {
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
  app.use(sockjs({ name: 'echo', prefix: '/echo', session: EchoSession, sockjsUrl: '/sockjs.min.js' }));
  return app;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = createEchoApp().listen(Number(process.env.PORT ?? 8081), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`Echo running at http://${address}:${port}/`);
  });
}
