// Protocol suite: RawWebsocket.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Session } from '../../src/index.js';
import { startServer, until, WsClient, type ConformanceServer } from './helpers.js';

describe('raw websocket: <base_url>/websocket', () => {
  let server: ConformanceServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('test_transport: plain messages, no framing', async () => {
    const ws = await WsClient.open(server.url + '/echo/websocket');
    ws.send('Hello world!\uffff');
    assert.equal(await ws.recv(), 'Hello world!\uffff');
    await ws.close();
  });

  it('test_close: the server closes without sending anything', async () => {
    const ws = await WsClient.open(server.url + '/close/websocket');
    assert.equal(await ws.recv(), undefined);
    const { code, reason } = await ws.closed;
    assert.equal(code, 3000);
    assert.equal(reason, 'Go away!');
  });

  it('no open frame, no heartbeat frame; several messages stay several messages', async () => {
    // A long pingTimeout: with the default (heartbeatDelay) a pong late by 20 ms on a loaded
    // machine would drop the connection as a dead peer.
    const hb = await startServer({ heartbeatDelay: 20, pingTimeout: 60_000 });
    try {
      const [ws, session] = await openWithSession(hb, '/echo');
      await until(() => session.heartbeats >= 2, 'two heartbeats');
      ws.send('one');
      ws.send('two');
      assert.equal(await ws.recv(), 'one');
      assert.equal(await ws.recv(), 'two');
      assert.deepEqual(ws.messages, []);
      await ws.close();
    } finally {
      await hb.close();
    }
  });

  it('values the application sends that are not strings go out as JSON text', async () => {
    const [ws, session] = await openWithSession(server, '/echo');
    session.send({ a: [1, 'b'] });
    session.send('plain "text"');
    assert.equal(await ws.recv(), '{"a":[1,"b"]}');
    assert.equal(await ws.recv(), 'plain "text"');
    await ws.close();
  });

  it('broadcast reaches raw websocket clients as plain text', async () => {
    const a = await WsClient.open(server.url + '/broadcast/websocket');
    const b = await WsClient.open(server.url + '/broadcast/websocket');
    await until(() => server.routes.get('/broadcast')!.manager.activeSessions().length === 2, 'two sessions');
    a.send('to everyone');
    assert.equal(await a.recv(), 'to everyone');
    assert.equal(await b.recv(), 'to everyone');
    await a.close();
    await b.close();
  });
});

/** Opens a raw websocket and finds its session on the server (not one a previous test left). */
async function openWithSession(server: ConformanceServer, prefix: string): Promise<[WsClient, Session]> {
  const manager = server.routes.get(prefix)!.manager;
  const known = new Set(manager.activeSessions().map((s) => s.id));
  const ws = await WsClient.open(server.url + prefix + '/websocket');
  const fresh = (): Session | undefined => manager.activeSessions().find((s) => s.transport === 'websocket-raw' && !known.has(s.id));
  await until(() => fresh() !== undefined, 'the new raw websocket session');
  return [ws, fresh()!];
}
