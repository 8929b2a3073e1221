// Protocol suite: WebsocketHttpErrors, plus the `websocket: false` route.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GET, POST, startServer, type ConformanceServer } from './helpers.js';
import { verify404, verify405 } from './verify.js';

describe('websocket HTTP errors', () => {
  let server: ConformanceServer;
  let base: string;
  before(async () => {
    server = await startServer();
    base = server.url + '/echo';
  });
  after(() => server.close());

  it('test_httpMethod: a plain GET is 400 (the body is ours: the current suite no longer asks for one)', async () => {
    const r = await GET(base + '/0/0/websocket');
    assert.equal(r.status, 400);
    assert.ok(r.body.includes('Can "Upgrade" only to "WebSocket".'));
  });

  it('test_invalidConnectionHeader: Connection: close is 400, saying why', async () => {
    const r = await GET(base + '/0/0/websocket', { headers: { Upgrade: 'WebSocket', Connection: 'close' } });
    assert.equal(r.status, 400);
    assert.ok(r.body.includes('"Connection" must be "Upgrade".'));
  });

  it('test_invalidMethod: POST is 405, with or without upgrade headers', async () => {
    for (const headers of [{ Upgrade: 'WebSocket', Connection: 'Upgrade' }, {}] as Record<string, string>[]) {
      verify405(await POST(base + '/0/0/websocket', { headers }));
    }
  });

  it('the raw websocket URL answers the same errors', async () => {
    assert.equal((await GET(base + '/websocket')).status, 400);
    verify405(await POST(base + '/websocket'));
  });

  it('a websocket: false route answers 404 to both websocket URLs', async () => {
    const off = server.url + '/disabled_websocket_echo';
    const headers = { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'x3JJHMbDL1EzLkh9GBhXDw==' };
    verify404(await GET(off + '/000/abc/websocket', { headers }));
    verify404(await GET(off + '/websocket', { headers }));
    verify404(await GET(off + '/000/abc/websocket'));
  });
});
