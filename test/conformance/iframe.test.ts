// Protocol suite: IframePage.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GET, POST, startServer, type ConformanceServer, type HttpResult } from './helpers.js';

/** The suite's iframe_body regex, verbatim: the sockjs-client 1.x page, script first. */
const IFRAME_BODY = new RegExp(
  String.raw`
^<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="(?<sockjs_url>[^"]*)"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe\(\);
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>$
`.trim(),
);

const SOCKJS_URL = 'https://cdn.example.com/sockjs-client-1.6.1.min.js';

describe('iframe page: <base_url>/iframe*.html', () => {
  let server: ConformanceServer;
  let base: string;
  before(async () => {
    server = await startServer({ sockjsUrl: SOCKJS_URL });
    base = server.url + '/echo';
  });
  after(() => server.close());

  async function verify(url: string): Promise<HttpResult> {
    const r = await GET(url);
    assert.equal(r.status, 200, url);
    assert.equal(r.headers['content-type']!.replace(/ /g, ''), 'text/html;charset=UTF-8');
    assert.match(r.headers['cache-control']!, /public/);
    assert.match(r.headers['cache-control']!, /max-age=[1-9][0-9]{6}/);
    assert.ok(r.headers['expires']);
    assert.ok(r.headers['etag']);
    assert.equal(r.headers['last-modified'], undefined);
    const match = IFRAME_BODY.exec(r.body.trim());
    assert.ok(match, `body must match the protocol's page exactly:\n${r.body}`);
    const sockjsUrl = match.groups!['sockjs_url']!;
    assert.ok(sockjsUrl.startsWith('/') || sockjsUrl.startsWith('http'));
    assert.equal(r.headers['set-cookie'], undefined);
    return r;
  }

  it('test_simpleUrl', async () => {
    await verify(base + '/iframe.html');
  });

  it('test_versionedUrl', async () => {
    for (const suffix of ['/iframe-a.html', '/iframe-.html', '/iframe-0.1.2.html', '/iframe-0.1.2abc-dirty.2144.html']) {
      await verify(base + suffix);
    }
  });

  it('test_queriedUrl', async () => {
    for (const suffix of ['/iframe-a.html?t=1234', '/iframe-0.1.2.html?t=123414', '/iframe-0.1.2abc-dirty.2144.html?t=qweqweq123']) {
      await verify(base + suffix);
    }
  });

  it('test_invalidUrl: malformed names are 404', async () => {
    for (const suffix of ['/iframe.htm', '/iframe', '/IFRAME.HTML', '/IFRAME', '/iframe.HTML', '/iframe.xml', '/iframe-/.html']) {
      assert.equal((await GET(base + suffix)).status, 404, suffix);
    }
  });

  it('test_cacheability: a stable ETag, and If-None-Match gives a bare 304', async () => {
    const r1 = await GET(base + '/iframe.html');
    const r2 = await GET(base + '/iframe.html');
    assert.ok(r1.headers['etag']);
    assert.equal(r1.headers['etag'], r2.headers['etag']);
    const r = await GET(base + '/iframe.html', { headers: { 'If-None-Match': r1.headers['etag']! } });
    assert.equal(r.status, 304);
    assert.equal(r.headers['content-type'], undefined);
    assert.equal(r.body, '');
  });

  it('loads the configured sockjsUrl, and the ETag follows the page', async () => {
    const r = await verify(base + '/iframe.html');
    assert.equal(IFRAME_BODY.exec(r.body.trim())!.groups!['sockjs_url'], SOCKJS_URL);
    const other = await startServer({ sockjsUrl: '/static/sockjs.js' });
    try {
      const r2 = await GET(other.url + '/echo/iframe.html');
      assert.equal(IFRAME_BODY.exec(r2.body.trim())!.groups!['sockjs_url'], '/static/sockjs.js');
      assert.notEqual(r2.headers['etag'], r.headers['etag']);
    } finally {
      await other.close();
    }
  });

  it('a stale If-None-Match gets the page; a list containing the tag gets 304', async () => {
    const { headers } = await GET(base + '/iframe.html');
    assert.equal((await GET(base + '/iframe.html', { headers: { 'If-None-Match': '"stale"' } })).status, 200);
    assert.equal((await GET(base + '/iframe.html', { headers: { 'If-None-Match': `"stale", ${headers['etag']}` } })).status, 304);
  });

  it('wrong method: 405 with Allow, no body', async () => {
    const r = await POST(base + '/iframe.html');
    assert.equal(r.status, 405);
    assert.equal(r.headers['content-type'], undefined);
    assert.ok(r.headers['allow']);
    assert.equal(r.body, '');
  });
});
