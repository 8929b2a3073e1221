// Protocol suite: JsonPolling.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GET, POST, request, sessionPart, startServer, type ConformanceServer } from './helpers.js';
import { verifyContentType, verifyNotCached } from './verify.js';

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

describe('jsonp-polling: /*/*/jsonp, /*/*/jsonp_send', () => {
  let server: ConformanceServer;
  let base: string;
  before(async () => {
    server = await startServer();
    base = server.url + '/echo';
  });
  after(() => server.close());

  it('test_transport', async () => {
    const url = base + sessionPart();
    let r = await GET(url + '/jsonp?c=%63allback');
    assert.equal(r.status, 200);
    verifyContentType(r, 'application/javascript;charset=UTF-8');
    verifyNotCached(r);
    assert.equal(r.body, '/**/callback("o");\r\n');

    r = await POST(url + '/jsonp_send', { body: 'd=%5B%22x%22%5D', headers: FORM });
    assert.equal(r.body, 'ok');
    assert.equal(r.status, 200);
    verifyContentType(r, 'text/plain;charset=UTF-8');
    verifyNotCached(r);

    r = await GET(url + '/jsonp?c=%63allback');
    assert.equal(r.status, 200);
    assert.equal(r.body, '/**/callback("a[\\"x\\"]");\r\n');
  });

  it('test_no_callback', async () => {
    const r = await GET(base + '/a/a/jsonp');
    assert.equal(r.status, 500);
    assert.ok(r.body.includes('"callback" parameter required'));
  });

  it('test_invalid_callback', async () => {
    for (const callback of ['%20', '*', 'abc(', 'abc%28']) {
      const r = await GET(base + '/a/a/jsonp?c=' + callback);
      assert.equal(r.status, 500, callback);
      assert.ok(r.body.includes('invalid "callback" parameter'), callback);
    }
  });

  it('test_invalid_json', async () => {
    const url = base + sessionPart();
    let r = await GET(url + '/jsonp?c=x');
    assert.equal(r.body, '/**/x("o");\r\n');

    r = await POST(url + '/jsonp_send', { body: 'd=%5B%22x', headers: FORM });
    assert.equal(r.status, 500);
    assert.ok(r.body.includes('Broken JSON encoding.'));

    for (const data of ['', 'd=', 'p=p']) {
      r = await POST(url + '/jsonp_send', { body: data, headers: FORM });
      assert.equal(r.status, 500, data);
      assert.ok(r.body.includes('Payload expected.'), data);
    }

    r = await POST(url + '/jsonp_send', { body: 'd=%5B%22b%22%5D', headers: FORM });
    assert.equal(r.body, 'ok');

    r = await GET(url + '/jsonp?c=x');
    assert.equal(r.status, 200);
    assert.equal(r.body, '/**/x("a[\\"b\\"]");\r\n');
  });

  it('test_content_types: form-encoded `d`, or the raw body', async () => {
    const url = base + sessionPart();
    let r = await GET(url + '/jsonp?c=x');
    assert.equal(r.body, '/**/x("o");\r\n');
    r = await POST(url + '/jsonp_send', { body: 'd=%5B%22abc%22%5D', headers: FORM });
    assert.equal(r.body, 'ok');
    r = await POST(url + '/jsonp_send', { body: '["%61bc"]', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(r.body, 'ok');
    r = await GET(url + '/jsonp?c=x');
    assert.equal(r.status, 200);
    assert.equal(r.body, '/**/x("a[\\"abc\\",\\"%61bc\\"]");\r\n');
  });

  it('test_close', async () => {
    const url = server.url + '/close' + sessionPart();
    let r = await GET(url + '/jsonp?c=x');
    assert.equal(r.body, '/**/x("o");\r\n');
    for (let i = 0; i < 2; i++) {
      r = await GET(url + '/jsonp?c=x');
      assert.equal(r.body, '/**/x("c[3000,\\"Go away!\\"]");\r\n');
    }
  });

  it('test_sending_empty_frame: d=[] is accepted and delivers nothing', async () => {
    const url = base + sessionPart();
    let r = await GET(url + '/jsonp?c=x');
    assert.equal(r.body, '/**/x("o");\r\n');
    r = await POST(url + '/jsonp_send', { body: 'd=%5B%5D', headers: FORM });
    assert.equal(r.body, 'ok');
    r = await POST(url + '/jsonp_send', { body: 'd=%5B%22x%22%5D', headers: FORM });
    assert.equal(r.body, 'ok');
    r = await GET(url + '/jsonp?c=x');
    assert.equal(r.status, 200);
    assert.equal(r.body, '/**/x("a[\\"x\\"]");\r\n');
  });

  it('bad callbacks are refused before a session is made', async () => {
    const url = base + sessionPart();
    for (const c of ['alert(document.cookie)//', 'a=b', '<x>', 'a'.repeat(65)]) {
      const r = await GET(url + '/jsonp?c=' + encodeURIComponent(c));
      assert.equal(r.status, 500, c);
      assert.match(r.body, /invalid "callback" parameter/);
      assert.ok(!r.body.includes(c));
    }
    const twice = await GET(url + '/jsonp?c=a&c=b');
    assert.equal(twice.status, 500);
    // None of those opened the session.
    assert.equal((await POST(url + '/jsonp_send', { body: 'd=%5B%22x%22%5D', headers: FORM })).status, 404);
  });

  it('jsonp_send to an unknown session is 404', async () => {
    assert.equal((await POST(base + sessionPart() + '/jsonp_send', { body: 'd=%5B%22x%22%5D', headers: FORM })).status, 404);
  });

  it('wrong methods are 405 with Allow', async () => {
    const url = base + sessionPart();
    for (const [method, path, allow] of [
      ['POST', '/jsonp', 'GET'],
      ['GET', '/jsonp_send', 'POST'],
      ['POST', '/htmlfile', 'GET'],
      ['POST', '/eventsource', 'GET'],
      ['GET', '/xhr', 'OPTIONS, POST'],
      ['GET', '/xhr_send', 'OPTIONS, POST'],
      ['GET', '/xhr_streaming', 'OPTIONS, POST'],
      ['PUT', '/xhr', 'OPTIONS, POST'],
      ['OPTIONS', '/jsonp', 'GET'],
    ] as const) {
      const { status, headers, body } = await request(method, url + path);
      assert.equal(status, 405, `${method} ${path}`);
      assert.equal(headers['allow'], allow, `${method} ${path}`);
      assert.equal(headers['content-type'], undefined);
      assert.equal(body, '');
    }
  });
});
