// Protocol suite: JsessionidCookie, plus the function form of the `jsessionid` option.
import assert from 'node:assert/strict';
import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sockjs } from '../../src/index.js';
import { GET, POST, sessionPart, startServer, StreamingResponse, type ConformanceServer } from './helpers.js';
import { verifyCookie, verifyNoCookie } from './verify.js';

describe('JSESSIONID cookie', () => {
  let server: ConformanceServer;
  let cookieBase: string;
  before(async () => {
    server = await startServer();
    cookieBase = server.url + '/cookie_needed_echo';
  });
  after(() => server.close());

  it('test_basic: info says cookie_needed and sets no cookie', async () => {
    const r = await GET(cookieBase + '/info');
    assert.equal(r.status, 200);
    verifyNoCookie(r);
    assert.equal((JSON.parse(r.body) as { cookie_needed: boolean }).cookie_needed, true);
  });

  it('test_xhr: set by default, echoed when the client has one', async () => {
    let r = await POST(cookieBase + sessionPart() + '/xhr');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'o\n');
    verifyCookie(r);

    r = await POST(cookieBase + sessionPart() + '/xhr', { headers: { Cookie: 'JSESSIONID=abcdef' } });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'o\n');
    verifyCookie(r, 'abcdef');
  });

  it('test_xhr_streaming', async () => {
    const r = await StreamingResponse.open('POST', cookieBase + sessionPart() + '/xhr_streaming');
    assert.equal(r.status, 200);
    verifyCookie(r.head);
    r.close();
  });

  it('test_eventsource', async () => {
    const r = await StreamingResponse.open('GET', cookieBase + sessionPart() + '/eventsource');
    assert.equal(r.status, 200);
    verifyCookie(r.head);
    r.close();
  });

  it('test_htmlfile', async () => {
    const r = await StreamingResponse.open('GET', cookieBase + sessionPart() + '/htmlfile?c=%63allback');
    assert.equal(r.status, 200);
    verifyCookie(r.head);
    r.close();
  });

  it('test_jsonp', async () => {
    const url = cookieBase + sessionPart();
    let r = await GET(url + '/jsonp?c=%63allback');
    assert.equal(r.status, 200);
    verifyCookie(r);
    assert.equal(r.body, '/**/callback("o");\r\n');

    r = await POST(url + '/jsonp_send', { body: 'd=%5B%22x%22%5D', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.body, 'ok');
    assert.equal(r.status, 200);
    verifyCookie(r);
  });

  it('xhr_send sets it too; routes without the option set none', async () => {
    const url = cookieBase + sessionPart();
    await POST(url + '/xhr');
    verifyCookie(await POST(url + '/xhr_send', { body: '["x"]' }));
    verifyNoCookie(await POST(server.url + '/echo' + sessionPart() + '/xhr'));
  });

  it('a jsessionid function decides the cookie itself', async () => {
    const app = new Koa();
    const route = sockjs({
      prefix: '/fn',
      jsessionid: (ctx) => {
        ctx.cookies.set('JSESSIONID', 'from-fn', { path: '/fn', httpOnly: false });
      },
    });
    app.use(route);
    const http = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => http.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/fn`;
      const r = await POST(base + sessionPart() + '/xhr');
      assert.equal(r.body, 'o\n');
      assert.match(r.headers['set-cookie']!, /^JSESSIONID=from-fn; path=\/fn/);
      assert.equal((JSON.parse((await GET(base + '/info')).body) as { cookie_needed: boolean }).cookie_needed, true);
    } finally {
      await route.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
