/** A server that listens for 'upgrade' itself hands SockJS upgrades to Koa with upgradeHandler(). */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { WebSocket, WebSocketServer } from 'ws';
import { Session, sockjs, upgradeHandler } from '../../src/index.js';
import { FrameClient } from '../helpers/ws-client.js';

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

describe('upgradeHandler', () => {
  let server: http.Server;
  let base: string;
  /** The server side of the last upgrade handed to the handler. */
  let lastSocket: Duplex | undefined;
  const other = new WebSocketServer({ noServer: true });
  before(async () => {
    const app = new Koa();
    app.use(sockjs({ prefix: '/echo', session: Echo }));
    server = http.createServer(app.callback());
    const sockjsUpgrade = upgradeHandler(app);
    server.on('upgrade', (req, socket, head) => {
      if (req.url?.startsWith('/echo/')) {
        lastSocket = socket;
        sockjsUpgrade(req, socket, head);
      }
      else other.handleUpgrade(req, socket, head, (ws) => ws.send('other server'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    other.close();
  });

  it('serves SockJS websockets through the handler, next to another websocket server', async () => {
    const client = new FrameClient(`${base}/echo/0/0/websocket`);
    await client.waitFor(1);
    client.send('through upgradeHandler');
    assert.deepEqual(await client.waitFor(2), ['o', 'a["through upgradeHandler"]']);
    await client.close();

    const plain = new WebSocket(`${base.replace('http', 'ws')}/elsewhere`);
    const data = await new Promise<string>((resolve) => plain.once('message', (message) => resolve(String(message))));
    assert.equal(data, 'other server');
    plain.close();
  });

  it("leaves ws's error listener the only one on an open websocket's socket, which still survives a socket error", async () => {
    const client = new FrameClient(`${base}/echo/0/0/websocket`);
    await client.waitFor(1);
    const socket = lastSocket!;
    try {
      // The handshake's listener and the client-error mark are gone: one listener per idle
      // connection, as with raw ws (issue 17), not three in an array.
      assert.equal(socket.listenerCount('error'), 1);
      // ws's listener handles what comes: the process does not crash, the client sees the close.
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.destroy(new Error('socket failure'));
      await closed;
    } finally {
      // Also when an assertion failed: the server does not track upgraded sockets, and one left
      // open would hold server.close() in the after hook for ever.
      await client.close();
    }
  });

  it('answers a bad upgrade to a SockJS URL with a plain HTTP error', async () => {
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${base}/echo/0/0/xhr`, { headers: { Connection: 'Upgrade', Upgrade: 'websocket' } });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(reply.status, 405);
  });
});

describe('upgrades on a server that does not listen for them', () => {
  it('takes them from the first request on, and steps aside once the app listens too', async () => {
    const app = new Koa();
    app.use(sockjs({ prefix: '/echo', session: Echo }));
    const server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const clients: FrameClient[] = [];
    try {
      assert.equal(server.listenerCount('upgrade'), 0);
      // The first websocket arrives through the request handler, and works.
      const first = new FrameClient(`${url}/echo/0/0/websocket`);
      clients.push(first);
      await first.waitFor(1);
      first.send('one');
      assert.deepEqual(await first.waitFor(2), ['o', 'a["one"]']);
      // From then on upgrades come through the 'upgrade' event, where Node frees the parser.
      assert.equal(server.listenerCount('upgrade'), 1);
      const second = new FrameClient(`${url}/echo/0/1/websocket`);
      clients.push(second);
      await second.waitFor(1);
      second.send('two');
      assert.deepEqual(await second.waitFor(2), ['o', 'a["two"]']);
      const refused = await new Promise<number>((resolve) => {
        const req = http.request(`${url}/echo/0/0/xhr`, { headers: { Connection: 'Upgrade', Upgrade: 'websocket' } });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.end();
      });
      assert.equal(refused, 405);
      await Promise.all([first.close(), second.close()]);

      // The application starts listening for upgrades itself: they are its business now.
      const seen: string[] = [];
      server.on('upgrade', (req, socket) => {
        seen.push(req.url ?? '');
        socket.destroy();
      });
      const third = new FrameClient(`${url}/echo/0/2/websocket`);
      await third.closed;
      assert.deepEqual(third.frames, []);
      assert.deepEqual(seen, ['/echo/0/2/websocket']);
    } finally {
      // Upgraded connections are not the HTTP server's to close.
      for (const client of clients) client.ws.terminate();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
