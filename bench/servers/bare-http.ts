/**
 * A bare `http` handler: with bare-koa.ts it measures what Koa itself costs per
 * request, so results can say how much of a target Koa leaves room for.
 */
import http from 'node:http';
import { announce, parseServerArgs } from './common.js';

const args = parseServerArgs();

const server = http.createServer((_req, res) => {
  // The same headers Koa sends for `ctx.body = 'ok'`.
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '2' });
  res.end('ok');
});

await announce(server.listen(args.port, '127.0.0.1'));
