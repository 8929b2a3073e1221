// An echo route whose sessions live in a user-written store (CountingStore, which wraps the
// built-in MemoryStore and counts every call). GET /stats shows the counts.
//
//   npx tsx examples/custom-store/server.ts            # http://127.0.0.1:8083 (PORT to change it)
//   LOG_STORE=1 npx tsx examples/custom-store/server.ts   # also log every store call
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Koa from 'koa';
import { MemoryStore, sockjs, Session } from 'koa-sockjs';
import { CountingStore, type CountingStoreOptions } from './counting-store.js';

class EchoSession extends Session {
  override onMessage(message: unknown) {
    this.send(message);
  }
}

const PAGE_FILE = fileURLToPath(new URL('./public/index.html', import.meta.url));
const SOCKJS_CLIENT_FILE = createRequire(import.meta.url).resolve('sockjs-client/dist/sockjs.min.js');

export function createCustomStoreApp(options: CountingStoreOptions = {}): { app: Koa; store: CountingStore } {
  const store = new CountingStore(new MemoryStore({ maxSessions: 1000 }), options);
  const app = new Koa();

  app.use(async function servePage(ctx, next) {
    if (ctx.method !== 'GET') return next();
    if (ctx.path === '/') {
      ctx.type = 'html';
      ctx.body = await readFile(PAGE_FILE);
    } else if (ctx.path === '/sockjs.min.js') {
      ctx.type = 'application/javascript';
      ctx.body = await readFile(SOCKJS_CLIENT_FILE);
    } else if (ctx.path === '/stats') {
      ctx.body = store.counts();
    } else {
      return next();
    }
  });

  app.use(sockjs({ name: 'echo', prefix: '/echo', session: EchoSession, store, sockjsUrl: '/sockjs.min.js' }));
  return { app, store };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const log = process.env.LOG_STORE ? (operation: string, key?: string) => console.log('store', operation, key ?? '') : undefined;
  const { app } = createCustomStoreApp({ log });
  const server = app.listen(Number(process.env.PORT ?? 8083), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`Custom store example running at http://${address}:${port}/ (store calls at /stats)`);
  });
}
