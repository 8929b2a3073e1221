// Sessions bound to their creator (the `identity` option): a client that knows a session's URL
// but is someone else gets, on every transport, exactly the answer a session that does not
// exist gets; the owner's stream goes on undisturbed and receives nothing twice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { anonymousCookie, Session, sockjs, type SockjsMiddleware } from '../../src/index.js';
import { RawHttpConnection, StreamingResponse, type ResponseHead } from '../conformance/helpers.js';
import { listen, type Listening } from '../helpers/listen.js';

const received: unknown[] = [];

class Echo extends Session {
  override onMessage(message: unknown): void {
    received.push(message);
    this.send(message);
  }
}

interface Exchange {
  head: ResponseHead;
  /** Every header but Date and connection management. */
  headers: Record<string, string>;
  body: string;
}

const IGNORED = new Set(['date', 'connection', 'keep-alive']);

async function exchange(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Exchange> {
  const connection = await RawHttpConnection.open(base);
  try {
    const head = await connection.request(method, path, { headers, ...(body !== undefined ? { body } : {}) });
    const length = head.headers['content-length'];
    const text = head.status === 101 || length === undefined ? '' : (await connection.read(Number(length))).toString('utf8');
    return { head, headers: Object.fromEntries(Object.entries(head.headers).filter(([name]) => !IGNORED.has(name))), body: text };
  } finally {
    connection.close();
  }
}

const WS_HEADERS = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' };
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

/** Every request a client can make on a session URL, sending "evil" where it sends. */
const ATTEMPTS: ReadonlyArray<{ name: string; method: string; path: string; headers?: Record<string, string>; body?: string }> = [
  { name: 'xhr', method: 'POST', path: 'xhr' },
  { name: 'xhr_send', method: 'POST', path: 'xhr_send', body: '["evil"]' },
  { name: 'xhr_streaming', method: 'POST', path: 'xhr_streaming' },
  { name: 'eventsource', method: 'GET', path: 'eventsource' },
  { name: 'htmlfile', method: 'GET', path: 'htmlfile?c=cb' },
  { name: 'jsonp', method: 'GET', path: 'jsonp?c=cb' },
  { name: 'jsonp_send', method: 'POST', path: 'jsonp_send', headers: FORM, body: 'd=%5B%22evil%22%5D' },
  { name: 'websocket', method: 'GET', path: 'websocket', headers: WS_HEADERS },
];

describe('sessions bound to an identity', () => {
  let server: Listening;
  let route: SockjsMiddleware;

  before(async () => {
    const app = new Koa();
    // A header stands in for whatever the application knows the user by (its session cookie).
    route = sockjs({ prefix: '/s', session: Echo, heartbeatDelay: 0, identity: (ctx) => ctx.get('X-User') || undefined });
    app.use(route);
    server = await listen(app);
  });
  after(async () => {
    await route.close();
    await server.close();
  });

  it('another identity gets 404 on every transport, as an unknown session does; the owner sees nothing of it', async () => {
    const url = `${server.url}/s/000/bound-1`;
    const alice = { 'X-User': 'alice' };
    const stream = await StreamingResponse.open('POST', `${url}/xhr_streaming`, alice);
    assert.equal(stream.status, 200);
    let streamed = '';
    const readUntil = async (text: string): Promise<void> => {
      while (!streamed.endsWith(text)) {
        const chunk = await stream.read();
        if (chunk === '') throw new Error(`the owner's stream ended; it carried ${JSON.stringify(streamed)}`);
        streamed += chunk;
      }
    };
    await readUntil('o\n');
    assert.equal((await exchange(server.url, 'POST', '/s/000/bound-1/xhr_send', alice, '["one"]')).head.status, 204);
    await readUntil('a["one"]\n');

    for (const who of [{ 'X-User': 'mallory' }, {}] as Array<Record<string, string>>) {
      for (const attempt of ATTEMPTS) {
        const reply = await exchange(server.url, attempt.method, `/s/000/bound-1/${attempt.path}`, { ...who, ...attempt.headers }, attempt.body);
        const what = `${attempt.name} as ${JSON.stringify(who)}`;
        assert.equal(reply.head.status, 404, what);
        assert.equal(reply.body, 'No such session.', what);
        // The very bytes a session that does not exist gets (for sends; receiving requests for
        // an unknown id open a session).
        if (attempt.name.endsWith('_send')) {
          const unknown = await exchange(server.url, attempt.method, `/s/000/no-such-session/${attempt.path}`, { ...who, ...attempt.headers }, attempt.body);
          assert.deepEqual(reply.headers, unknown.headers, what);
          assert.equal(reply.body, unknown.body, what);
        }
      }
    }

    // The owner goes on as if nothing happened: same stream, nothing delivered twice or lost.
    assert.equal((await exchange(server.url, 'POST', '/s/000/bound-1/xhr_send', alice, '["two"]')).head.status, 204);
    await readUntil('a["two"]\n');
    assert.equal(streamed, `${'h'.repeat(2048)}\no\na["one"]\na["two"]\n`);
    assert.deepEqual(received, ['one', 'two']);
    assert.equal(route.manager.size, 1);
    stream.close();
  });

  it('a request with no identity creates nothing: 403', async () => {
    const sizeBefore = route.manager.size;
    for (const attempt of ATTEMPTS.filter((a) => !a.name.endsWith('_send'))) {
      const reply = await exchange(server.url, attempt.method, `/s/000/nobody-${attempt.name}/${attempt.path}`, { ...attempt.headers });
      assert.equal(reply.head.status, 403, attempt.name);
    }
    assert.equal(route.manager.size, sizeBefore);
  });

  it("a closed session's close frame goes to its owner only; others get the 404 of an unknown session", async () => {
    const alice = { 'X-User': 'alice' };
    const before = new Set(route.manager.activeSessions().map((candidate) => candidate.id));
    assert.equal((await exchange(server.url, 'POST', '/s/000/bound-closed/xhr', alice)).body, 'o\n');
    // Session.url does not show the client's session id: the new session is the one not seen before.
    const session = route.manager.activeSessions().find((candidate) => !before.has(candidate.id));
    assert.ok(session);
    // Closed and forgotten at once: what answers now is the session's tombstone.
    session.expire();
    const closeFrame = (await exchange(server.url, 'POST', '/s/000/bound-closed/xhr', alice)).body;
    assert.match(closeFrame, /^c\[\d+,"[^"]*"\]\n$/);
    const mallory = await exchange(server.url, 'POST', '/s/000/bound-closed/xhr', { 'X-User': 'mallory' });
    assert.equal(mallory.head.status, 404);
    assert.equal((await exchange(server.url, 'POST', '/s/000/bound-closed/xhr', alice)).body, closeFrame);
  });

  it('the identity is kept as a digest: the store holds neither the user id nor the cookie', async () => {
    assert.equal((await exchange(server.url, 'POST', '/s/000/bound-2/xhr', { 'X-User': 'alice@example.com' })).body, 'o\n');
    const record = await route.manager.store.get('bound-2');
    assert.ok(record?.identity);
    assert.doesNotMatch(record.identity, /alice/);
  });
});

describe('anonymousCookie(): binding for users nobody logged in', () => {
  it('sets an HttpOnly cookie on the creating request; only requests that carry it reach the session', async () => {
    const app = new Koa();
    const route = sockjs({ prefix: '/s', session: Echo, identity: anonymousCookie() });
    app.use(route);
    const server = await listen(app);
    try {
      const opened = await exchange(server.url, 'POST', '/s/000/anon-1/xhr', {});
      assert.equal(opened.body, 'o\n');
      const setCookie = opened.headers['set-cookie'];
      assert.match(setCookie ?? '', /^sockjs\.anon=[A-Za-z0-9_-]{22}; path=\/; samesite=lax; httponly$/);
      const cookie = setCookie!.split(';')[0]!;
      const sent = await exchange(server.url, 'POST', '/s/000/anon-1/xhr_send', { Cookie: cookie }, '["mine"]');
      assert.equal(sent.head.status, 204);
      const stranger = await exchange(server.url, 'POST', '/s/000/anon-1/xhr_send', {}, '["not mine"]');
      assert.equal(stranger.head.status, 404);
      // Answered like a session that does not exist, down to the fresh cookie both get.
      const unknown = await exchange(server.url, 'POST', '/s/000/no-such-session/xhr_send', {}, '["not mine"]');
      const withoutCookie = (headers: Record<string, string>): Record<string, string> => ({ ...headers, 'set-cookie': headers['set-cookie']?.replace(/=[^;]+/, '=x') ?? '' });
      assert.deepEqual(withoutCookie(stranger.headers), withoutCookie(unknown.headers));
      assert.equal(stranger.body, unknown.body);
      const forged = await exchange(server.url, 'POST', '/s/000/anon-1/xhr', { Cookie: 'sockjs.anon=AAAAAAAAAAAAAAAAAAAAAA' });
      assert.equal(forged.head.status, 404);
      assert.equal((await exchange(server.url, 'POST', '/s/000/anon-1/xhr', { Cookie: cookie })).body, 'a["mine"]\n');
    } finally {
      await route.close();
      await server.close();
    }
  });
});
