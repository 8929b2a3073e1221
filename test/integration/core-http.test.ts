/** Exact bytes and statuses of the core endpoints: greeting, /info, xhr-polling, xhr_send. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { Session, SessionState, sockjs } from '../../src/index.js';
import { listen, type Listening } from '../helpers/listen.js';
import { open, post, readAll, request, until } from '../helpers/http-client.js';

const echoSessions: Session[] = [];
class Echo extends Session {
  override onOpen(): void {
    echoSessions.push(this);
  }
  override onMessage(message: unknown): void {
    this.send(message);
  }
}
class Closer extends Session {
  override onOpen(): void {
    this.close();
  }
}

describe('core HTTP endpoints', () => {
  let server: Listening;
  let base: string;
  const onError: unknown[] = [];
  before(async () => {
    const app = new Koa();
    // Any origin: these tests are about the protocol's answers, not about who may ask.
    app.use(sockjs({ name: 'echo', prefix: '/echo', session: Echo, maxMessageSize: 1024, origins: ['*', 'null'], onError: (e) => onError.push(e) }));
    app.use(sockjs({ name: 'close', prefix: '/close', session: Closer }));
    app.use((ctx) => {
      ctx.body = `next: ${ctx.path}`;
    });
    server = await listen(app);
    base = server.url;
  });
  after(() => server.close());
  const newSessionUrl = (prefix = '/echo'): string => `${base}${prefix}/000/${randomUUID()}`;

  it('greets at the prefix, with and without a trailing slash', async () => {
    for (const url of [`${base}/echo`, `${base}/echo/`]) {
      const reply = await request(url);
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['content-type'], 'text/plain; charset=UTF-8');
      assert.equal(reply.body, 'Welcome to SockJS!\n');
      assert.equal(reply.headers['set-cookie'], undefined);
    }
  });

  it('passes requests outside the prefix to the next middleware untouched', async () => {
    for (const path of ['/', '/echoes', '/ech', '/other/echo']) {
      const reply = await request(base + path);
      assert.equal(reply.status, 200);
      assert.equal(reply.body, `next: ${path}`);
    }
  });

  it('answers 404 for unknown paths under the prefix', async () => {
    for (const suffix of ['/a', '/a.html', '//', '///', '/a/a', '/a/a/', '/a/a/unknown', '/a/a/xhr/x']) {
      assert.equal((await request(`${base}/echo${suffix}`)).status, 404, suffix);
    }
  });

  it('answers 404 for session URLs with empty parts or dots', async () => {
    for (const suffix of ['//', '/a./a', '/a/a.', '/./.', '/', '///']) {
      assert.equal((await request(`${base}/echo${suffix}/xhr`)).status, 404, suffix);
      assert.equal((await post(`${base}/echo${suffix}/xhr`)).status, 404, suffix);
    }
  });

  it('serves /info, uncached, with CORS and fresh entropy', async () => {
    const first = await request(`${base}/echo/info`, { headers: { Origin: 'http://example.test' } });
    assert.equal(first.status, 200);
    assert.equal(first.headers['content-type'], 'application/json; charset=UTF-8');
    assert.equal(first.headers['cache-control'], 'no-store, no-cache, no-transform, must-revalidate, max-age=0');
    assert.equal(first.headers['access-control-allow-origin'], 'http://example.test');
    assert.equal(first.headers['access-control-allow-credentials'], 'true');
    const body = JSON.parse(first.body) as { websocket: boolean; cookie_needed: boolean; origins: string[]; entropy: number };
    assert.equal(body.websocket, true);
    assert.equal(body.cookie_needed, false);
    assert.deepEqual(body.origins, ['*:*']);
    assert.ok(Number.isInteger(body.entropy) && body.entropy >= 0 && body.entropy < 2 ** 32);
    const second = JSON.parse((await request(`${base}/echo/info`)).body) as { entropy: number };
    assert.notEqual(second.entropy, body.entropy);
  });

  it('opens with o, echoes with a[...], and answers xhr_send with 204 text/plain', async () => {
    const url = newSessionUrl();
    const opened = await post(`${url}/xhr`);
    assert.equal(opened.status, 200);
    assert.equal(opened.body, 'o\n');
    assert.equal(opened.headers['content-type'], 'application/javascript; charset=UTF-8');
    assert.equal(opened.headers['cache-control'], 'no-store, no-cache, no-transform, must-revalidate, max-age=0');
    assert.equal(opened.headers['access-control-allow-origin'], '*');
    const sent = await post(`${url}/xhr_send`, '["a", {"b": [1, 2]}]');
    assert.equal(sent.status, 204);
    assert.equal(sent.body, '');
    assert.equal(sent.headers['content-type'], 'text/plain; charset=UTF-8');
    const polled = await post(`${url}/xhr`);
    assert.equal(polled.body, 'a["a",{"b":[1,2]}]\n');
  });

  it('ignores the server id: only the session id names a session', async () => {
    const id = randomUUID();
    assert.equal((await post(`${base}/echo/000/${id}/xhr`)).body, 'o\n');
    assert.equal((await post(`${base}/echo/000/${id}/xhr_send`, '["a"]')).status, 204);
    assert.equal((await post(`${base}/echo/999/${id}/xhr`)).body, 'a["a"]\n');
  });

  it('answers 404 to sends for an unknown session', async () => {
    assert.equal((await post(`${newSessionUrl()}/xhr_send`, '["a"]')).status, 404);
  });

  it('refuses broken, empty and non-array payloads with 500 and the protocol text', async () => {
    const url = newSessionUrl();
    await post(`${url}/xhr`);
    const broken = await post(`${url}/xhr_send`, '["x');
    assert.equal(broken.status, 500);
    assert.equal(broken.body, 'Broken JSON encoding.');
    const empty = await post(`${url}/xhr_send`, '');
    assert.equal(empty.status, 500);
    assert.equal(empty.body, 'Payload expected.');
    const notArray = await post(`${url}/xhr_send`, '{"a":1}');
    assert.equal(notArray.status, 500);
    assert.equal(notArray.body, 'Broken JSON encoding.');
    // Nothing of the bad payloads was delivered.
    assert.equal((await post(`${url}/xhr_send`, '["ok"]')).status, 204);
    assert.equal((await post(`${url}/xhr`)).body, 'a["ok"]\n');
  });

  it('refuses a body over maxMessageSize with 413 and delivers nothing of it', async () => {
    const url = newSessionUrl();
    await post(`${url}/xhr`);
    const big = JSON.stringify(['x'.repeat(2000)]);
    const reply = await post(`${url}/xhr_send`, big);
    assert.equal(reply.status, 413);
    assert.equal((await post(`${url}/xhr_send`, '["after"]')).status, 204);
    assert.equal((await post(`${url}/xhr`)).body, 'a["after"]\n');
  });

  it('closes a second receiver with c[2010] and leaves the first alone', async () => {
    const url = newSessionUrl();
    await post(`${url}/xhr`);
    const session = echoSessions.at(-1)!;
    const first = open(`${url}/xhr`);
    // A poll that has nothing to say sends no headers yet; the session counts it on arrival.
    await until(() => session.hits === 1, 'the first poll to arrive');
    const second = await post(`${url}/xhr`);
    assert.equal(second.status, 200);
    assert.equal(second.body, 'c[2010,"Another connection still open"]\n');
    await post(`${url}/xhr_send`, '["still here"]');
    assert.equal(await readAll(await first.response), 'a["still here"]\n');
  });

  it('serves the close frame to every later receiver of a closed session', async () => {
    const url = newSessionUrl('/close');
    assert.equal((await post(`${url}/xhr`)).body, 'o\n');
    for (let i = 0; i < 3; i++) {
      const reply = await post(`${url}/xhr`);
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'c[3000,"Go away!"]\n');
    }
  });

  it('closes a session whose poll was aborted with c[1002] for later receivers', async () => {
    const url = newSessionUrl();
    await post(`${url}/xhr`);
    const session = echoSessions.at(-1)!;
    const poll = open(`${url}/xhr`);
    await until(() => session.hits === 1, 'the poll to arrive');
    poll.abort();
    await until(() => session.state === SessionState.CLOSED, 'the session to close');
    for (let i = 0; i < 2; i++) assert.equal((await post(`${url}/xhr`)).body, 'c[1002,"Connection interrupted"]\n');
  });

  it('answers wrong methods with 405, an Allow header and no body', async () => {
    const reply = await request(`${newSessionUrl()}/xhr`, { method: 'GET' });
    assert.equal(reply.status, 405);
    assert.equal(reply.headers.allow, 'OPTIONS, POST');
    assert.equal(reply.headers['content-type'], undefined);
    assert.equal(reply.body, '');
    const ws = await post(`${newSessionUrl()}/websocket`);
    assert.equal(ws.status, 405);
    assert.equal(ws.headers.allow, 'GET');
  });

  it('answers CORS preflight with one-year caching', async () => {
    for (const origin of [undefined, 'test', 'null']) {
      const reply = await request(`${base}/echo/abc/abc/xhr`, { method: 'OPTIONS', headers: origin ? { Origin: origin } : {} });
      assert.equal(reply.status, 204);
      assert.match(reply.headers['cache-control'] ?? '', /public/);
      assert.match(reply.headers['cache-control'] ?? '', /max-age=[1-9][0-9]{6}/);
      assert.ok(reply.headers.expires);
      assert.ok(Number(reply.headers['access-control-max-age']) > 1_000_000);
      assert.equal(reply.headers['access-control-allow-methods'], 'OPTIONS, POST');
      assert.equal(reply.headers['access-control-allow-origin'], origin ?? '*');
      assert.equal(reply.headers['access-control-allow-credentials'], origin ? 'true' : undefined);
      assert.equal(reply.headers.vary, 'Origin');
      assert.equal(reply.body, '');
    }
  });

  it('refuses plain GETs on the websocket URL with 400', async () => {
    const plain = await request(`${base}/echo/0/0/websocket`);
    assert.equal(plain.status, 400);
    assert.match(plain.body, /Can "Upgrade" only to "WebSocket"\./);
    const badConnection = await request(`${base}/echo/0/0/websocket`, { headers: { Upgrade: 'WebSocket', Connection: 'close' } });
    assert.equal(badConnection.status, 400);
    assert.match(badConnection.body, /"Connection" must be "Upgrade"\./);
  });

  it('reported no hook or store errors', () => {
    assert.deepEqual(onError, []);
  });
});
