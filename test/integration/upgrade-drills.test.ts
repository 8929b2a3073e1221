/**
 * Clients that vanish in the middle of an upgrade request: Node removes its own error listener
 * from a socket it hands to 'upgrade' listeners, so an unhandled socket error there would crash
 * the process. These drills reset the connection while the Koa app is still working on it.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import Koa from 'koa';
import { Session, sockjs } from '../../src/index.js';
import { request } from '../helpers/http-client.js';
import { FrameClient } from '../helpers/ws-client.js';

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

let server: http.Server;
let base: string;
let entered: () => void = () => {};
let gate: Promise<void> = Promise.resolve();

before(async () => {
  const app = new Koa();
  app.use(async (ctx, next) => {
    if (ctx.path.includes('/slow/')) {
      entered();
      await gate;
    }
    await next();
  });
  app.use(sockjs({ prefix: '/echo', session: Echo }));
  server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The first request makes koa-sockjs listen for 'upgrade'.
  assert.equal((await request(`${base}/echo`)).status, 200);
  assert.equal(server.listenerCount('upgrade'), 1);
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function resetDuringUpgrade(path: string): Promise<void> {
  let release: () => void = () => {};
  gate = new Promise((resolve) => (release = resolve));
  const inMiddleware = new Promise<void>((resolve) => (entered = resolve));
  const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await inMiddleware;
  socket.resetAndDestroy();
  await new Promise((resolve) => socket.once('close', resolve));
  release();
}

it('survives a client that resets while the app works on an upgrade answered over HTTP', async () => {
  await resetDuringUpgrade('/echo/0/slow/xhr');
  await resetDuringUpgrade('/echo/slow/');
  // The process is alive and serves on.
  const client = new FrameClient(`${base}/echo/0/0/websocket`);
  await client.waitFor(1);
  client.send('still here');
  assert.deepEqual(await client.waitFor(2), ['o', 'a["still here"]']);
  await client.close();
});

it('survives a client that resets before its websocket handshake completes', async () => {
  await resetDuringUpgrade('/echo/0/slow/websocket');
  const client = new FrameClient(`${base}/echo/0/1/websocket`);
  await client.waitFor(1);
  client.send('after');
  assert.deepEqual(await client.waitFor(2), ['o', 'a["after"]']);
  await client.close();
});
