/** A server that listens for 'upgrade' itself hands SockJS upgrades to Koa with upgradeHandler(). */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
  const other = new WebSocketServer({ noServer: true });
  before(async () => {
    const app = new Koa();
    app.use(sockjs({ prefix: '/echo', session: Echo }));
    server = http.createServer(app.callback());
    const sockjsUpgrade = upgradeHandler(app);
    server.on('upgrade', (req, socket, head) => {
      if (req.url?.startsWith('/echo/')) sockjsUpgrade(req, socket, head);
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
