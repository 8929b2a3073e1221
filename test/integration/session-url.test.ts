/**
 * The client's session id is never exposed (README, Session.id): `Session.url` has it replaced
 * by `*` on every transport, and error contexts name a store key only by an opaque label.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Koa from 'koa';
import { WebSocket } from 'ws';
import { MemoryStore, Session, sockjs } from '../../src/index.js';
import { redactForLog, redactSessionUrl } from '../../src/session/request-info.js';
import { keyLabel } from '../../src/util/key-label.js';
import { Hixie76Client } from '../helpers/hixie76-client.js';
import { post, request } from '../helpers/http-client.js';
import { listen } from '../helpers/listen.js';

const SECRET = 'secret-client-key';

describe('Session.url', () => {
  it('redactSessionUrl replaces only the session segment', () => {
    assert.equal(redactSessionUrl(`/echo/000/${SECRET}/xhr`), '/echo/000/*/xhr');
    assert.equal(redactSessionUrl(`/a/b/echo/000/${SECRET}/jsonp?c=cb&user=ann`), '/a/b/echo/000/*/jsonp?c=cb&user=ann');
    assert.equal(redactSessionUrl(`/echo/000/${SECRET}/xhr?next=/x/y/z`), '/echo/000/*/xhr?next=/x/y/z');
  });

  it('redactForLog hides what could be a session id in any request path', () => {
    assert.equal(redactForLog(`/echo/000/${SECRET}/xhr_send`), '/echo/000/*/xhr_send');
    assert.equal(redactForLog(`/a/echo/000/${SECRET}/websocket?x=1`), '/a/echo/000/*/websocket?x=1');
    assert.equal(redactForLog('/echo/info'), '/echo/info');
    assert.equal(redactForLog('/echo/000/abc/unknown'), '/echo/000/abc/unknown');
  });

  it('never holds the client session id, on any transport', async () => {
    const urls: string[] = [];
    class Recorder extends Session {
      override onOpen(): void {
        urls.push(this.url);
        this.close();
      }
    }
    const app = new Koa();
    app.use(sockjs({ prefix: '/p', session: Recorder }));
    const server = await listen(app);
    const base = `${server.url}/p/000/${SECRET}`;
    try {
      const expected: string[] = [];
      const http: Array<[string, string]> = [
        ['xhr', 'POST'],
        ['xhr_streaming', 'POST'],
        ['eventsource', 'GET'],
        ['htmlfile?c=cb', 'GET'],
        ['jsonp?c=cb', 'GET'],
      ];
      for (const [transport, method] of http) {
        const separator = transport.includes('?') ? '&' : '?';
        // Each opens its own session: a fresh key per request, all carrying the secret.
        const url = `${server.url}/p/000/${SECRET}-${urls.length}/${transport}${separator}user=ann`;
        const reply = await request(url, { method });
        assert.equal(reply.status, 200, transport);
        expected.push(`/p/000/*/${transport}${separator}user=ann`);
      }
      const ws = new WebSocket(`${base.replace('http', 'ws')}/websocket?user=ann`);
      await new Promise((resolve) => ws.once('close', resolve));
      expected.push('/p/000/*/websocket?user=ann');
      const hixie = await Hixie76Client.open(`${base}/websocket`);
      assert.equal(await hixie.recv(), 'o');
      assert.equal(await hixie.recv(), 'c[3000,"Go away!"]');
      hixie.close();
      expected.push('/p/000/*/websocket');
      const raw = new WebSocket(`${server.url.replace('http', 'ws')}/p/websocket?user=ann`);
      await new Promise((resolve) => raw.once('close', resolve));
      expected.push('/p/websocket?user=ann');
      assert.deepEqual(urls, expected);
    } finally {
      await server.close();
    }
  });
});

/** A MemoryStore that fails every operation on a session key once `failing` is set. */
class FailingStore extends MemoryStore {
  failing = false;
  override create(...args: Parameters<MemoryStore['create']>): ReturnType<MemoryStore['create']> {
    if (this.failing) throw new Error('store down');
    return super.create(...args);
  }
  override get(key: string): ReturnType<MemoryStore['get']> {
    if (this.failing) throw new Error('store down');
    return super.get(key);
  }
}

describe('error contexts', () => {
  it('name a session by its server id or a key label, never by the client session id', async () => {
    const contexts: string[] = [];
    const store = new FailingStore();
    const app = new Koa();
    app.use(sockjs({ prefix: '/p', session: Session, store, onError: (_error, context) => contexts.push(context) }));
    const server = await listen(app);
    try {
      store.failing = true;
      // A receiving request: the store cannot create the session.
      const poll = await post(`${server.url}/p/000/${SECRET}/xhr`);
      assert.equal(poll.body, 'c[3503,"Session store unavailable"]\n');
      // A send: the store cannot look the session up.
      const send = await post(`${server.url}/p/000/${SECRET}/xhr_send`, '["x"]');
      assert.equal(send.status, 503);
      assert.equal(contexts.length, 2);
      for (const context of contexts) assert.ok(!context.includes(SECRET), context);
      assert.match(contexts[0]!, new RegExp(keyLabel(SECRET)));
      assert.equal(keyLabel(SECRET), keyLabel(SECRET));
      assert.notEqual(keyLabel(SECRET), keyLabel(`${SECRET}2`));
    } finally {
      await server.close();
    }
  });
});
