// Protocol suite: XhrStreaming.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { POST, sessionPart, startServer, StreamingResponse, type ConformanceServer } from './helpers.js';
import { verifyCors, verifyNotCached, verifyOptions } from './verify.js';

describe('xhr-streaming: /*/*/xhr_streaming', () => {
  let server: ConformanceServer;
  let base: string;
  before(async () => {
    server = await startServer();
    base = server.url + '/echo';
  });
  after(() => server.close());

  it('test_options', async () => {
    await verifyOptions(base + '/abc/abc/xhr_streaming', 'OPTIONS, POST');
  });

  it('test_transport: 2 KiB prelude, open frame, messages', async () => {
    const url = base + sessionPart();
    const r = await StreamingResponse.open('POST', url + '/xhr_streaming', { Origin: 'test' });
    assert.equal(r.status, 200);
    assert.equal(r.header('content-type')!.replace(/ /g, ''), 'application/javascript;charset=UTF-8');
    verifyCors(r.head, 'test');
    verifyNotCached(r.head);
    assert.equal(await r.read(), 'h'.repeat(2048) + '\n');
    assert.equal(await r.read(), 'o\n');

    const r1 = await POST(url + '/xhr_send', { body: '["x"]' });
    assert.equal(r1.status, 204);
    assert.equal(r1.body, '');
    assert.equal(await r.read(), 'a["x"]\n');
    r.close();
  });

  it('test_response_limit: the response ends after 4096 bytes of frames (test server limit)', async () => {
    const url = base + sessionPart();
    const r = await StreamingResponse.open('POST', url + '/xhr_streaming');
    assert.equal(r.status, 200);
    assert.ok(await r.read()); // prelude
    assert.equal(await r.read(), 'o\n');
    const msg = '"' + 'x'.repeat(128) + '"';
    for (let i = 0; i < 31; i++) {
      const r1 = await POST(url + '/xhr_send', { body: '[' + msg + ']' });
      assert.equal(r1.status, 204);
      assert.equal(await r.read(), 'a[' + msg + ']\n');
    }
    assert.equal(await r.read(), '');
    r.close();

    // The session survives: the next request picks it up.
    const r2 = await StreamingResponse.open('POST', url + '/xhr_streaming');
    await r2.read();
    await POST(url + '/xhr_send', { body: '["again"]' });
    assert.equal(await r2.read(), 'a["again"]\n');
    r2.close();
  });
});
