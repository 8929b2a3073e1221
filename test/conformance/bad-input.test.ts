// Bad input: the protocol's answer or a clear error, never a crash or a hung request.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GET, POST, RawHttpConnection, request, sessionPart, startRequest, startServer, StreamingResponse, WsClient, type ConformanceServer } from './helpers.js';

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

describe('bad input', () => {
  let server: ConformanceServer;
  let base: string;
  before(async () => {
    server = await startServer();
    base = server.url + '/echo';
  });
  after(() => server.close());

  /** An open xhr session, for the send endpoints. */
  async function openSession(): Promise<string> {
    const url = base + sessionPart();
    assert.equal((await POST(url + '/xhr')).body, 'o\n');
    return url;
  }

  it('broken JSON on every send endpoint is 500 "Broken JSON encoding."', async () => {
    const url = await openSession();
    for (const body of ['["x', '[1,]', '{', 'undefined', '["\\x"]', '\u0000']) {
      for (const [path, options] of [
        ['/xhr_send', { body }],
        ['/jsonp_send', { body: 'd=' + encodeURIComponent(body), headers: FORM }],
        ['/jsonp_send', { body, headers: { 'Content-Type': 'text/plain' } }],
      ] as const) {
        const r = await POST(url + path, options);
        assert.equal(r.status, 500, `${path} ${JSON.stringify(body)}`);
        assert.ok(r.body.includes('Broken JSON encoding.'));
        assert.equal(r.headers['content-type'], 'text/plain; charset=UTF-8');
      }
    }
    // The session is unharmed.
    assert.equal((await POST(url + '/xhr_send', { body: '["still here"]' })).status, 204);
    assert.equal((await POST(url + '/xhr')).body, 'a["still here"]\n');
  });

  it('empty payloads are 500 "Payload expected."; an empty array is fine', async () => {
    const url = await openSession();
    for (const [path, options] of [
      ['/xhr_send', { body: '' }],
      ['/jsonp_send', { body: '' }],
      ['/jsonp_send', { body: 'd=', headers: FORM }],
      ['/jsonp_send', { body: 'x=1&y=2', headers: FORM }],
    ] as const) {
      const r = await POST(url + path, options);
      assert.equal(r.status, 500, path);
      assert.ok(r.body.includes('Payload expected.'));
    }
    assert.equal((await POST(url + '/xhr_send', { body: '[]' })).status, 204);
    assert.equal((await POST(url + '/jsonp_send', { body: 'd=%5B%5D', headers: FORM })).body, 'ok');
  });

  it('bodies over maxMessageSize are 413, declared or streamed, and the session survives', async () => {
    const url = await openSession();
    const huge = JSON.stringify(['x'.repeat(1024 * 1024 + 10)]);
    for (const path of ['/xhr_send', '/jsonp_send']) {
      const r = await POST(url + path, { body: huge });
      assert.equal(r.status, 413, path);
      assert.match(r.body, /Payload too large/);
    }
    // Streamed without Content-Length (chunked): refused once the limit is crossed.
    const c = await RawHttpConnection.open(url);
    c.send('POST', new URL(url).pathname + '/xhr_send', { headers: { 'Transfer-Encoding': 'chunked' } });
    const piece = 'y'.repeat(64 * 1024);
    const chunk = `${piece.length.toString(16)}\r\n${piece}\r\n`;
    c.write('2\r\n["\r\n');
    for (let i = 0; i < 17; i++) c.write(chunk);
    const head = await c.readHead();
    assert.equal(head.status, 413);
    c.close();
    // Chunked and complete in the same write as the head: the whole body waits in the request's
    // buffer when the route reads it, and is refused all the same.
    const chunkedSend = (body: string): string =>
      `POST ${new URL(url).pathname}/xhr_send HTTP/1.1\r\nHost: ${new URL(url).host}\r\nTransfer-Encoding: chunked\r\n\r\n${body}0\r\n\r\n`;
    const d = await RawHttpConnection.open(url);
    d.write(chunkedSend(`2\r\n["\r\n${chunk.repeat(17)}`));
    assert.equal((await d.readHead()).status, 413);
    d.close();
    // Complete and within the limit, in one write: delivered.
    const e = await RawHttpConnection.open(url);
    e.write(chunkedSend('3\r\n["a\r\n2\r\n"]\r\n'));
    assert.equal((await e.readHead()).status, 204);
    e.close();
    assert.equal((await POST(url + '/xhr')).body, 'a["a"]\n');
    assert.equal((await POST(url + '/xhr_send', { body: '["ok"]' })).status, 204);
    assert.equal((await POST(url + '/xhr')).body, 'a["ok"]\n');
  });

  it('a websocket message over maxMessageSize closes with 1009', async () => {
    const ws = await WsClient.open(base + sessionPart() + '/websocket');
    assert.equal(await ws.recv(), 'o');
    ws.send(JSON.stringify(['x'.repeat(1024 * 1024 + 10)]));
    assert.equal((await ws.closed).code, 1009);
  });

  it('a client that goes away mid-body leaves the server and the session working', async () => {
    const url = await openSession();
    const c = await RawHttpConnection.open(url);
    c.send('POST', new URL(url).pathname + '/xhr_send', { headers: { 'Content-Length': '100' } });
    c.write('["only part');
    c.close();
    const c2 = await RawHttpConnection.open(url);
    c2.send('POST', new URL(url).pathname + '/jsonp_send', { headers: { 'Content-Length': '100', ...FORM } });
    c2.write('d=%5B');
    c2.close();
    assert.equal((await POST(url + '/xhr_send', { body: '["after"]' })).status, 204);
    assert.equal((await POST(url + '/xhr')).body, 'a["after"]\n');
  });

  it('a client that goes away mid-stream or mid-poll does not hang the server', async () => {
    for (const [method, suffix] of [
      ['POST', '/xhr_streaming'],
      ['GET', '/eventsource'],
      ['GET', '/htmlfile?c=cb'],
    ] as const) {
      const r = await StreamingResponse.open(method, base + sessionPart() + suffix);
      await r.read();
      r.close();
    }
    for (const [method, suffix] of [
      ['POST', '/xhr'],
      ['GET', '/jsonp?c=cb'],
    ] as const) {
      const pending = startRequest(method, base + sessionPart() + suffix);
      pending.abort();
    }
    // Everything still answers.
    assert.equal((await GET(base)).body, 'Welcome to SockJS!\n');
    assert.equal((await POST(base + sessionPart() + '/xhr')).body, 'o\n');
  });

  it('invalid UTF-8 in a body is decoded with replacement characters, not a crash', async () => {
    const url = await openSession();
    const r = await POST(url + '/xhr_send', { body: Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]) });
    assert.equal(r.status, 204);
    // U+FFFD is among the characters the server escapes (protocol suite: escapable_by_server).
    assert.equal((await POST(url + '/xhr')).body, 'a["\\ufffd\\ufffd"]\n');
  });

  it('messages to a closed session get 404, as for an unknown session, and reach no hook', async () => {
    const url = server.url + '/close' + sessionPart();
    assert.equal((await POST(url + '/xhr')).body, 'o\n');
    assert.equal((await POST(url + '/xhr_send', { body: '["late"]' })).status, 404);
    assert.equal((await POST(url + '/xhr')).body, 'c[3000,"Go away!"]\n');
  });

  it('odd methods and paths get 404 or 405, never a hang', async () => {
    const url = base + sessionPart();
    for (const [method, path, status] of [
      ['DELETE', '/xhr', 405],
      ['PATCH', '/xhr_send', 405],
      ['PUT', '/jsonp_send', 405],
      ['DELETE', '', 404],
      ['POST', '/../info', 404],
      ['GET', '/x/y', 404],
      ['POST', '/xhr/', 404],
    ] as const) {
      assert.equal((await request(method, url + path)).status, status, `${method} ${path}`);
    }
    assert.equal((await request('DELETE', base)).status, 405);
    assert.equal((await request('POST', base + '/info')).status, 405);
  });

  it('HTTP/1.0 oddities: keep-alive on a stream, no Host, pipelined polls', async () => {
    const url = base + sessionPart();
    const path = new URL(url).pathname;
    // Keep-alive asked on a stream: the stream still ends by closing.
    const c = await RawHttpConnection.open(url);
    c.write(`POST ${path}/xhr_streaming HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`);
    const head = await c.readHead();
    assert.equal(head.status, 200);
    assert.equal(head.headers['transfer-encoding'], undefined);
    c.close();
    // Two pipelined HTTP/1.1 requests: both answered, in order.
    const p = await RawHttpConnection.open(url);
    const other = base + sessionPart();
    const otherPath = new URL(other).pathname;
    p.write(`POST ${otherPath}/xhr HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nGET /echo/info HTTP/1.1\r\nHost: x\r\n\r\n`);
    const first = await p.readHead();
    assert.equal((await p.read(Number(first.headers['content-length']))).toString(), 'o\n');
    const second = await p.readHead();
    assert.equal(second.status, 200);
    p.close();
  });
});
