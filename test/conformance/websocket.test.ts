// Protocol suite: Websocket (RFC 6455, Sec-WebSocket-Version 13; its hixie-76 test_haproxy is in
// hixie76.test.ts), then what the current suite no longer asks but we keep: hybi-07/08
// (Sec-WebSocket-Version 7 and 8), as the 0.3.3 suite's WebsocketHybi10 tested them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sessionPart, startServer, until, WsClient, type ConformanceServer } from './helpers.js';
import { rawUpgrade } from './ws-raw.js';

describe('websocket: /*/*/websocket', () => {
  let server: ConformanceServer;
  let base: string;
  let closeBase: string;
  before(async () => {
    server = await startServer();
    base = server.url + '/echo';
    closeBase = server.url + '/close';
  });
  after(() => server.close());

  for (const protocolVersion of [13, 8]) {
    describe(`Sec-WebSocket-Version ${protocolVersion}${protocolVersion === 13 ? '' : ' (hybi-08, beyond the current suite)'}`, () => {
      it('test_transport: open frame, echo', async () => {
        const ws = await WsClient.open(base + sessionPart() + '/websocket', { protocolVersion });
        assert.equal(await ws.recv(), 'o');
        ws.send('["a"]');
        assert.equal(await ws.recv(), 'a["a"]');
        await ws.close();
      });

      it('test_empty_frame: empty messages and frames with no messages are ignored', async () => {
        const ws = await WsClient.open(base + sessionPart() + '/websocket', { protocolVersion });
        assert.equal(await ws.recv(), 'o');
        ws.send('');
        ws.send('[]');
        ws.send('["a"]');
        assert.equal(await ws.recv(), 'a["a"]');
        await ws.close();
      });

      it('test_close: the close frame, then the connection closes', async () => {
        const ws = await WsClient.open(closeBase + sessionPart() + '/websocket', { protocolVersion });
        assert.equal(await ws.recv(), 'o');
        assert.equal(await ws.recv(), 'c[3000,"Go away!"]');
        assert.equal(await ws.recv(), undefined);
        await ws.close();
      });

      it('test_broken_json: the server drops the connection', async () => {
        const ws = await WsClient.open(base + sessionPart() + '/websocket', { protocolVersion });
        assert.equal(await ws.recv(), 'o');
        ws.send('["a');
        assert.equal(await ws.recv(), undefined);
        const { code } = await ws.closed;
        // Abrupt: no close handshake (1006 on the client).
        assert.equal(code, 1006);
      });
    });
  }

  it('test_reuseSessionId: two connections may share a session id, and reuse it after closing', async () => {
    const url = base + sessionPart() + '/websocket';
    const ws1 = await WsClient.open(url);
    assert.equal(await ws1.recv(), 'o');
    const ws2 = await WsClient.open(url);
    assert.equal(await ws2.recv(), 'o');
    ws1.send('["a"]');
    assert.equal(await ws1.recv(), 'a["a"]');
    ws2.send('["b"]');
    assert.equal(await ws2.recv(), 'a["b"]');
    await ws1.close();
    await ws2.close();

    const ws3 = await WsClient.open(url);
    assert.equal(await ws3.recv(), 'o');
    ws3.send('["a"]');
    assert.equal(await ws3.recv(), 'a["a"]');
    await ws3.close();
  });

  it('test_headersSanity: version 13 (and, beyond the current suite, 7 and 8) gets a proper 101', async () => {
    for (const version of ['13', '7', '8']) {
      const up = await rawUpgrade(base + sessionPart() + '/websocket', {
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Version': version,
        'Sec-WebSocket-Origin': 'http://asd',
        'Sec-WebSocket-Key': 'x3JJHMbDL1EzLkh9GBhXDw==',
      });
      try {
        assert.equal(up.head.status, 101, `version ${version}`);
        assert.equal(up.head.headers['sec-websocket-accept'], 'HSmrc0sMlYUkAGmm5OPpG2HaGWk=');
        assert.equal(up.head.headers['connection']!.toLowerCase(), 'upgrade');
        assert.equal(up.head.headers['upgrade']!.toLowerCase(), 'websocket');
        assert.equal(up.head.headers['content-length'], undefined);
      } finally {
        up.connection.close();
      }
    }
  });

  it('0.3.3 suite test_firefox_602_connection_header: "Connection: keep-alive, Upgrade" is accepted', async () => {
    const up = await rawUpgrade(base + sessionPart() + '/websocket', {
      Upgrade: 'websocket',
      Connection: 'keep-alive, Upgrade',
      'Sec-WebSocket-Version': '7',
      'Sec-WebSocket-Origin': 'http://asd',
      'Sec-WebSocket-Key': 'x3JJHMbDL1EzLkh9GBhXDw==',
    });
    assert.equal(up.head.status, 101);
    up.connection.close();
  });

  it('an unsupported websocket version is refused with 400, not a crash', async () => {
    const up = await rawUpgrade(base + sessionPart() + '/websocket', {
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Version': '99',
      'Sec-WebSocket-Key': 'x3JJHMbDL1EzLkh9GBhXDw==',
    });
    assert.equal(up.head.status, 400);
    up.connection.close();
  });

  it('a message sent through the session reaches the client; the session sees the client close', async () => {
    const manager = server.routes.get('/echo')!.manager;
    const known = new Set(manager.activeSessions().map((s) => s.id));
    const ws = await WsClient.open(base + sessionPart() + '/websocket');
    assert.equal(await ws.recv(), 'o');
    const [session] = manager.activeSessions().filter((s) => s.transport === 'websocket' && !known.has(s.id));
    assert.ok(session);
    session.send({ hello: ['world', 1] });
    assert.equal(await ws.recv(), 'a[{"hello":["world",1]}]');
    ws.send('"single"');
    assert.equal(await ws.recv(), 'a["single"]');
    await ws.close();
    await until(() => manager.get(session.id) === undefined, 'the session to be removed');
  });
});
