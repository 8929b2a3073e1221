// Protocol suite: EventSource.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { POST, sessionPart, startServer, StreamingResponse, type ConformanceServer } from './helpers.js';
import { verifyNotCached } from './verify.js';

describe('eventsource: /*/*/eventsource', () => {
  let server: ConformanceServer;
  let base: string;
  before(async () => {
    server = await startServer();
    base = server.url + '/echo';
  });
  after(() => server.close());

  it('test_transport: CRLF prelude, data: events, escaped payloads', async () => {
    const url = base + sessionPart();
    const r = await StreamingResponse.open('GET', url + '/eventsource');
    assert.equal(r.status, 200);
    assert.equal(r.header('content-type')!.replace(/ /g, ''), 'text/event-stream');
    verifyNotCached(r.head);
    assert.equal(await r.read(), '\r\n');
    assert.equal(await r.read(), 'data: o\r\n\r\n');

    let r1 = await POST(url + '/xhr_send', { body: '["x"]' });
    assert.equal(r1.body, '');
    assert.equal(r1.status, 204);
    assert.equal(await r.read(), 'data: a["x"]\r\n\r\n');

    r1 = await POST(url + '/xhr_send', { body: String.raw`["  \u0000\n\r "]` });
    assert.equal(r1.body, '');
    assert.equal(r1.status, 204);
    assert.equal(await r.read(), String.raw`data: a["  \u0000\n\r "]` + '\r\n\r\n');
    r.close();
  });

  it('test_response_limit', async () => {
    const url = base + sessionPart();
    const r = await StreamingResponse.open('GET', url + '/eventsource');
    assert.equal(r.status, 200);
    assert.ok(await r.read()); // prelude
    assert.equal(await r.read(), 'data: o\r\n\r\n');
    const msg = '"' + 'x'.repeat(4096) + '"';
    const r1 = await POST(url + '/xhr_send', { body: '[' + msg + ']' });
    assert.equal(r1.status, 204);
    assert.equal(await r.read(), 'data: a[' + msg + ']\r\n\r\n');
    assert.equal(await r.read(), '');
    r.close();
  });
});
