/**
 * Middleware above sockjs() that throws after `await next()`, once the route has answered: the
 * error is the app's and reaches app.on('error'), and nothing the route serves breaks. Koa's
 * error handler writes a 500 unless the response is no longer writable; a websocket accepted on
 * the request path (the first requests of a fresh server) keeps its response bound to the socket
 * it took, so that 500 used to land inside the websocket stream and kill it ("RSV1 must be
 * clear" in a `ws` client).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import Koa from 'koa';
import { WebSocket } from 'ws';
import { Session, sockjs } from '../../src/index.js';
import { Hixie76Client } from '../helpers/hixie76-client.js';
import { FrameClient } from '../helpers/ws-client.js';

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

/** Sends `text` and resolves with its echo, for each websocket flavour. */
type EchoOnce = (base: string, text: string) => Promise<string>;

const flavours: Record<string, EchoOnce> = {
  async websocket(base, text) {
    const client = new FrameClient(`${base}/echo/0/s/websocket`);
    try {
      assert.deepEqual(await client.waitFor(1), ['o']);
      client.send(text);
      const frames = await Promise.race([client.waitFor(2), client.closed.then((close) => assert.fail(`closed: ${close.code}`))]);
      return (JSON.parse(frames[1]!.slice(1)) as string[])[0]!;
    } finally {
      client.ws.terminate();
    }
  },
  async 'raw websocket'(base, text) {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/echo/websocket`);
    const failed = new Promise<never>((_, reject) => {
      ws.on('error', reject);
      ws.on('close', (code) => reject(new Error(`closed: ${code}`)));
    });
    try {
      await Promise.race([new Promise((resolve) => ws.once('open', resolve)), failed]);
      ws.send(text);
      return await Promise.race([new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data)))), failed]);
    } finally {
      ws.terminate();
    }
  },
  async 'hixie-76'(base, text) {
    const client = await Hixie76Client.open(`${base}/echo/0/s/websocket`);
    try {
      assert.equal(await client.recv(), 'o');
      client.send(JSON.stringify([text]));
      const frame = await client.recv();
      assert.ok(frame !== undefined, 'the connection closed');
      return (JSON.parse(frame.slice(1)) as string[])[0]!;
    } finally {
      client.connection.socket.destroy();
    }
  },
};

describe('middleware above sockjs() that throws after the route answered', () => {
  for (const [flavour, echoOnce] of Object.entries(flavours)) {
    for (const path of ['request path', "'upgrade' event"] as const) {
      it(`${flavour} (${path}): the websocket lives on, the error reaches app.on('error')`, { timeout: 10_000 }, async () => {
        const app = new Koa();
        const errors: Error[] = [];
        app.on('error', (error: Error) => errors.push(error));
        app.use(async (ctx, next) => {
          await next();
          if (ctx.path.endsWith('/websocket')) throw new Error('thrown above the route, after next()');
        });
        const route = sockjs({ prefix: '/echo', session: Echo });
        app.use(route);
        const server = http.createServer(app.callback());
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        try {
          // The route listens for 'upgrade' from its first request on; before that, an upgrade
          // comes through the request path.
          if (path === "'upgrade' event") await fetch(`${base}/echo/info`).then((reply) => reply.text());
          assert.equal(server.listenerCount('upgrade'), path === 'request path' ? 0 : 1);
          assert.equal(await echoOnce(base, 'still alive'), 'still alive');
          assert.deepEqual(errors.map((error) => error.message), ['thrown above the route, after next()']);
        } finally {
          await route.close();
          server.closeAllConnections();
          await new Promise((resolve) => server.close(resolve));
        }
      });
    }
  }
});
