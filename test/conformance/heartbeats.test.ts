// Heartbeats (protocol suite, Protocol: "the server must send a heartbeat frame every 25 seconds")
// on every transport, with a short heartbeatDelay.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GET, POST, sessionPart, startServer, StreamingResponse, WsClient, type ConformanceServer } from './helpers.js';

describe('heartbeats on every transport', () => {
  let server: ConformanceServer;
  let base: string;
  before(async () => {
    // pingTimeout would default to heartbeatDelay: a pong not handled within 30 ms (a loaded
    // machine) would drop the websocket as a dead peer before its second h frame.
    server = await startServer({ heartbeatDelay: 30, pingTimeout: 60_000 });
    base = server.url + '/echo';
  });
  after(() => server.close());

  it('websocket: h frames', async () => {
    const ws = await WsClient.open(base + sessionPart() + '/websocket');
    assert.equal(await ws.recv(), 'o');
    assert.equal(await ws.recv(), 'h');
    assert.equal(await ws.recv(), 'h');
    await ws.close();
  });

  for (const [name, method, suffix, frame] of [
    ['xhr-streaming', 'POST', '/xhr_streaming', 'h\n'],
    ['eventsource', 'GET', '/eventsource', 'data: h\r\n\r\n'],
    ['htmlfile', 'GET', '/htmlfile?c=cb', '<script>\np("h");\n</script>\r\n'],
  ] as const) {
    it(`${name}: an h frame in the transport's framing, repeatedly`, async () => {
      const r = await StreamingResponse.open(method, base + sessionPart() + suffix);
      await r.read(); // prelude
      await r.read(); // open frame
      assert.equal(await r.read(), frame);
      assert.equal(await r.read(), frame);
      r.close();
    });
  }

  it('xhr-polling: a waiting poll is answered with h', async () => {
    const url = base + sessionPart();
    assert.equal((await POST(url + '/xhr')).body, 'o\n');
    assert.equal((await POST(url + '/xhr')).body, 'h\n');
  });

  it('jsonp-polling: a waiting poll is answered with h', async () => {
    const url = base + sessionPart();
    assert.equal((await GET(url + '/jsonp?c=cb')).body, '/**/cb("o");\r\n');
    assert.equal((await GET(url + '/jsonp?c=cb')).body, '/**/cb("h");\r\n');
  });
});
