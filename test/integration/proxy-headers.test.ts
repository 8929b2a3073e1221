/**
 * The response headers that get frames through proxies, caches and compressing middleware live
 * (issue 10): `X-Accel-Buffering: no` on every streaming response, `no-transform` on every
 * uncached one, and a compressing middleware in front of the route leaving streams alone.
 */
import assert from 'node:assert/strict';
import Koa from 'koa';
import compress from 'koa-compress';
import { after, before, describe, it } from 'node:test';
import { Session, sockjs, type SockjsMiddleware } from '../../src/index.js';
import { GET, POST, sessionPart, StreamingResponse } from '../conformance/helpers.js';
import { listen, type Listening } from '../helpers/listen.js';

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

const NO_CACHE = 'no-store, no-cache, no-transform, must-revalidate, max-age=0';
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

describe('headers for proxies', () => {
  let server: Listening;
  let route: SockjsMiddleware;
  let base: string;
  before(async () => {
    const app = new Koa();
    // Compresses everything it may, from the first byte: the worst case for a live stream.
    app.use(compress({ threshold: 0 }));
    route = sockjs({ prefix: '/echo', session: Echo });
    app.use(route);
    server = await listen(app);
    base = server.url + '/echo';
  });
  after(async () => {
    await route.close();
    await server.close();
  });

  for (const [method, path] of [
    ['POST', '/xhr_streaming'],
    ['GET', '/eventsource'],
    ['GET', '/htmlfile?c=cb'],
  ] as const) {
    it(`${path}: X-Accel-Buffering: no and no-transform, frames uncompressed and live`, async () => {
      const url = base + sessionPart();
      const r = await StreamingResponse.open(method, url + path, { 'Accept-Encoding': 'gzip, deflate, br' });
      try {
        assert.equal(r.status, 200);
        assert.equal(r.header('x-accel-buffering'), 'no');
        assert.equal(r.header('cache-control'), NO_CACHE);
        assert.equal(r.header('content-encoding'), undefined);
        assert.ok(await r.read()); // prelude
        assert.match(await r.read(), /\bo\b/);
        assert.equal((await POST(url + '/xhr_send', { body: '["live"]' })).status, 204);
        assert.match(await r.read(), /a\[\\?"live\\?"\]/);
      } finally {
        r.close();
      }
    });
  }

  it('polling answers are never cached or transformed, and need no X-Accel-Buffering', async () => {
    const url = base + sessionPart();
    const answers = [
      await POST(url + '/xhr', { headers: { 'Accept-Encoding': 'gzip' } }),
      await POST(url + '/xhr_send', { body: '["x"]' }),
      await GET(url + '/jsonp?c=cb'),
      await POST(url + '/jsonp_send', { body: 'd=%5B%22y%22%5D', headers: FORM }),
      await GET(base + '/info'),
    ];
    for (const r of answers) {
      assert.ok(r.status === 200 || r.status === 204, `status ${r.status}`);
      assert.equal(r.headers['cache-control'], NO_CACHE);
      // Complete when written: a buffering proxy passes them on at once.
      assert.equal(r.headers['x-accel-buffering'], undefined);
    }
    assert.equal(answers[0]!.headers['content-encoding'], undefined);
    assert.equal(answers[0]!.body, 'o\n');
  });
});
