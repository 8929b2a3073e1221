// Protocol suite: XhrPolling.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OPTIONS, POST, sessionPart, startServer, type ConformanceServer } from './helpers.js';
import { verify404, verifyContentType, verifyCors, verifyNotCached, verifyOptions } from './verify.js';

describe('xhr-polling: /*/*/xhr, /*/*/xhr_send', () => {
  let server: ConformanceServer;
  let base: string;
  before(async () => {
    server = await startServer();
    base = server.url + '/echo';
  });
  after(() => server.close());

  it('test_options', async () => {
    for (const suffix of ['/xhr', '/xhr_send']) await verifyOptions(base + '/abc/abc' + suffix, 'OPTIONS, POST');
  });

  it('test_transport', async () => {
    const url = base + sessionPart();
    let r = await POST(url + '/xhr', { headers: { Origin: 'test' } });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'o\n');
    verifyContentType(r, 'application/javascript;charset=UTF-8');
    verifyCors(r, 'test');
    verifyNotCached(r);

    r = await POST(url + '/xhr_send', { body: '["x"]', headers: { Origin: 'test' } });
    assert.equal(r.status, 204);
    assert.equal(r.body, '');
    // text/plain even on a 204: Firefox takes it for XML otherwise.
    verifyContentType(r, 'text/plain;charset=UTF-8');
    verifyCors(r, 'test');
    verifyNotCached(r);

    r = await POST(url + '/xhr');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'a["x"]\n');
  });

  it('test_invalid_session', async () => {
    verify404(await POST(base + sessionPart() + '/xhr_send', { body: '["x"]' }));
  });

  it('test_invalid_json', async () => {
    const url = base + sessionPart();
    let r = await POST(url + '/xhr');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'o\n');

    r = await POST(url + '/xhr_send', { body: '["x' });
    assert.equal(r.status, 500);
    assert.ok(r.body.includes('Broken JSON encoding.'));

    r = await POST(url + '/xhr_send', { body: '' });
    assert.equal(r.status, 500);
    assert.ok(r.body.includes('Payload expected.'));

    r = await POST(url + '/xhr_send', { body: '["a"]' });
    assert.equal(r.body, '');
    assert.equal(r.status, 204);

    r = await POST(url + '/xhr');
    assert.equal(r.body, 'a["a"]\n');
    assert.equal(r.status, 200);
  });

  it('test_content_types', async () => {
    const url = base + sessionPart();
    let r = await POST(url + '/xhr');
    assert.equal(r.body, 'o\n');
    const ctypes = ['text/plain', 'T', 'application/json', 'application/xml', '', 'application/json; charset=utf-8', 'text/xml; charset=utf-8', 'text/xml'];
    for (const ct of ctypes) {
      r = await POST(url + '/xhr_send', { body: '["a"]', headers: { 'Content-Type': ct } });
      assert.equal(r.status, 204, ct);
      assert.equal(r.body, '');
    }
    r = await POST(url + '/xhr');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'a[' + ctypes.map(() => '"a"').join(',') + ']\n');
  });

  it('test_request_headers_cors: preflights echo Access-Control-Request-Headers when not empty', async () => {
    const preflight = { Origin: 'test', 'Access-Control-Request-Method': 'POST' };
    let r = await OPTIONS(base + sessionPart() + '/xhr', { headers: { ...preflight, 'Access-Control-Request-Headers': 'a, b, c' } });
    assert.equal(r.status, 204);
    verifyCors(r, 'test');
    assert.equal(r.headers['access-control-allow-headers'], 'a, b, c');

    r = await OPTIONS(base + sessionPart() + '/xhr', { headers: { ...preflight, 'Access-Control-Request-Headers': '' } });
    assert.equal(r.status, 204);
    verifyCors(r, 'test');
    assert.equal(r.headers['access-control-allow-headers'], undefined);

    r = await OPTIONS(base + sessionPart() + '/xhr', { headers: preflight });
    assert.equal(r.status, 204);
    verifyCors(r, 'test');
    assert.equal(r.headers['access-control-allow-headers'], undefined);
  });

  it('test_sending_empty_frame: [] is accepted and delivers nothing', async () => {
    const url = base + sessionPart();
    let r = await POST(url + '/xhr');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'o\n');
    r = await POST(url + '/xhr_send', { body: '[]' });
    assert.equal(r.status, 204);
    r = await POST(url + '/xhr_send', { body: '["a"]' });
    assert.equal(r.status, 204);
    r = await POST(url + '/xhr');
    assert.equal(r.body, 'a["a"]\n');
    assert.equal(r.status, 200);
  });

  it('a POST echoes Access-Control-Request-Headers too, when not empty', async () => {
    let r = await POST(base + sessionPart() + '/xhr', { headers: { 'Access-Control-Request-Headers': 'a, b, c' } });
    assert.equal(r.status, 200);
    verifyCors(r);
    assert.equal(r.headers['access-control-allow-headers'], 'a, b, c');

    r = await POST(base + sessionPart() + '/xhr', { headers: { 'Access-Control-Request-Headers': '' } });
    assert.equal(r.status, 200);
    verifyCors(r);
    assert.equal(r.headers['access-control-allow-headers'], undefined);

    r = await POST(base + sessionPart() + '/xhr');
    assert.equal(r.status, 200);
    verifyCors(r);
    assert.equal(r.headers['access-control-allow-headers'], undefined);
  });

  it('non-array JSON is "Broken JSON encoding."', async () => {
    const url = base + sessionPart();
    await POST(url + '/xhr');
    for (const body of ['"a"', '{"a":1}', '1', 'null']) {
      const r = await POST(url + '/xhr_send', { body });
      assert.equal(r.status, 500, body);
      assert.ok(r.body.includes('Broken JSON encoding.'), body);
    }
  });
});
