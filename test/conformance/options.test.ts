// The route options the transports use: cors, transports, responseLimit, sockjsUrl.
import assert from 'node:assert/strict';
import Koa from 'koa';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { DEFAULTS, Session, sockjs, type SockjsManagedOptions } from '../../src/index.js';
import { GET, OPTIONS, POST, sessionPart, StreamingResponse, WsClient } from './helpers.js';

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

/** One echo route with `options` at `/s`; closes it afterwards. */
async function withRoute(options: SockjsManagedOptions, run: (base: string) => Promise<void>): Promise<void> {
  const app = new Koa();
  const route = sockjs({ prefix: '/s', session: Echo, ...options });
  app.use(route);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/s`);
  } finally {
    await route.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('options', () => {
  it('cors: false sends no CORS headers, on answers or preflights', async () => {
    await withRoute({ cors: false, origins: ['http://example.com'] }, async (base) => {
      const origin = { Origin: 'http://example.com', 'Access-Control-Request-Headers': 'x-a' };
      for (const r of [
        await POST(base + sessionPart() + '/xhr', { headers: origin }),
        await OPTIONS(base + '/a/b/xhr_send', { headers: origin }),
        await OPTIONS(base + '/info', { headers: origin }),
        await GET(base + '/info', { headers: origin }),
      ]) {
        assert.equal(r.headers['access-control-allow-origin'], undefined);
        assert.equal(r.headers['access-control-allow-credentials'], undefined);
        assert.equal(r.headers['access-control-allow-headers'], undefined);
      }
      const streaming = await StreamingResponse.open('POST', base + sessionPart() + '/xhr_streaming', origin);
      assert.equal(streaming.header('access-control-allow-origin'), undefined);
      streaming.close();
    });
  });

  it('cors on by default echoes an allowed origin on xhr_streaming too', async () => {
    await withRoute({ origins: ['http://a.example'] }, async (base) => {
      const r = await StreamingResponse.open('POST', base + sessionPart() + '/xhr_streaming', { Origin: 'http://a.example' });
      assert.equal(r.header('access-control-allow-origin'), 'http://a.example');
      assert.equal(r.header('access-control-allow-credentials'), 'true');
      r.close();
    });
  });

  it('transports: a disabled transport answers 404; its sender too when nothing else uses it', async () => {
    await withRoute({ transports: { 'xhr-streaming': false, 'jsonp-polling': false, htmlfile: false, eventsource: false } }, async (base) => {
      const url = base + sessionPart();
      assert.equal((await POST(url + '/xhr_streaming')).status, 404);
      assert.equal((await GET(url + '/jsonp?c=x')).status, 404);
      assert.equal((await POST(url + '/jsonp_send', { body: 'd=[]' })).status, 404);
      assert.equal((await GET(url + '/htmlfile?c=x')).status, 404);
      assert.equal((await GET(url + '/eventsource')).status, 404);
      assert.equal((await OPTIONS(url + '/xhr_streaming')).status, 404);
      // xhr-polling is still on, and with it xhr_send.
      assert.equal((await POST(url + '/xhr')).body, 'o\n');
      assert.equal((await POST(url + '/xhr_send', { body: '["x"]' })).status, 204);
    });
    await withRoute({ transports: { 'xhr-polling': false, 'xhr-streaming': false, eventsource: false, htmlfile: false } }, async (base) => {
      assert.equal((await POST(base + sessionPart() + '/xhr_send', { body: '["x"]' })).status, 404);
      assert.equal((await GET(base + sessionPart() + '/jsonp?c=x')).body, '/**/x("o");\r\n');
    });
  });

  it('transports: { websocket: false } is the same as websocket: false', async () => {
    await withRoute({ transports: { websocket: false } }, async (base) => {
      assert.equal((JSON.parse((await GET(base + '/info')).body) as { websocket: boolean }).websocket, false);
      assert.equal((await GET(base + '/websocket')).status, 404);
      assert.equal((await GET(base + '/a/b/websocket')).status, 404);
    });
  });

  it('responseLimit defaults to 128 KiB', async () => {
    assert.equal(DEFAULTS.responseLimit, 128 * 1024);
    await withRoute({}, async (base) => {
      const url = base + sessionPart();
      const r = await StreamingResponse.open('POST', url + '/xhr_streaming');
      await r.read();
      await r.read();
      const chunk = 'z'.repeat(60 * 1024);
      for (let i = 0; i < 2; i++) {
        await POST(url + '/xhr_send', { body: JSON.stringify([chunk]) });
        assert.equal(await r.read(), `a["${chunk}"]\n`);
      }
      // 2 + 2 * (60 KiB + 5) bytes < 128 KiB: still open. One more passes the limit.
      await POST(url + '/xhr_send', { body: JSON.stringify([chunk]) });
      assert.equal(await r.read(), `a["${chunk}"]\n`);
      assert.equal(await r.read(), '');
      r.close();
    });
  });

  it('sockjsUrl defaults to one exact sockjs-client version: the one installed here', async () => {
    // The iframe must run the very version the page runs ("Incompatible SockJS!" otherwise), so
    // the default names an exact version, and the same one our browser tests load.
    const installed = (createRequire(import.meta.url)('sockjs-client/package.json') as { version: string }).version;
    assert.equal(DEFAULTS.sockjsUrl, `https://cdn.jsdelivr.net/npm/sockjs-client@${installed}/dist/sockjs.min.js`);
    assert.equal(installed, '1.6.1');
    await withRoute({}, async (base) => {
      const r = await GET(base + '/iframe.html');
      assert.ok(r.body.includes(`<script src="${DEFAULTS.sockjsUrl}"></script>`));
    });
  });

  it('a prefix of "/" serves every endpoint at the root', async () => {
    const app = new Koa();
    const route = sockjs({ prefix: '/', session: Echo });
    app.use(route);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      assert.equal((await GET(base + '/iframe.html')).status, 200);
      const ws = await WsClient.open(base + '/websocket');
      ws.send('root');
      assert.equal(await ws.recv(), 'root');
      await ws.close();
    } finally {
      await route.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
