/** A bare Koa app answering every request with `ok`; compare with bare-http.ts. */
import http from 'node:http';
import Koa from 'koa';
import { announce, parseServerArgs } from './common.js';

const args = parseServerArgs();

const app = new Koa();
app.use((ctx) => {
  ctx.body = 'ok';
});

await announce(http.createServer(app.callback()).listen(args.port, '127.0.0.1'));
