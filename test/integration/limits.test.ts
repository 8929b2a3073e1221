// Flood limits (the `limits` option), just under and just over: new sessions per client per
// window, and live sessions per route. Over a limit a new session gets 429 (HTTP) or a refused
// upgrade; existing sessions are untouched, never evicted to make room.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Koa from 'koa';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { Session, sockjs, SockjsOptionError, type SockjsManagedOptions } from '../../src/index.js';
import { RawHttpConnection, type ResponseHead } from '../conformance/helpers.js';
import { listen, type Listening } from '../helpers/listen.js';

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

const WS_HEADERS = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' };

async function exchange(server: Listening, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ head: ResponseHead; body: string }> {
  const connection = await RawHttpConnection.open(server.url);
  try {
    const head = await connection.request(method, `/s${path}`, { headers, ...(body !== undefined ? { body } : {}) });
    const length = head.headers['content-length'];
    const text = head.status === 101 || length === undefined ? '' : (await connection.read(Number(length))).toString('utf8');
    return { head, body: text };
  } finally {
    connection.close();
  }
}

async function withRoute(options: SockjsManagedOptions, run: (server: Listening, route: ReturnType<typeof sockjs>, app: Koa) => Promise<void>, proxy = false): Promise<void> {
  const app = new Koa();
  app.proxy = proxy;
  const route = sockjs({ prefix: '/s', session: Echo, ...options });
  app.use(route);
  const server = await listen(app);
  try {
    await run(server, route, app);
  } finally {
    await route.close();
    await server.close();
  }
}

function assertTooMany(reply: { head: ResponseHead; body: string }, what: string): void {
  assert.equal(reply.head.status, 429, what);
  assert.equal(reply.body, 'Too many new sessions.', what);
}

describe('flood limits', () => {
  it('newSessions: the third session of a client within the window passes, the fourth gets 429 on every transport', async () => {
    await withRoute({ limits: { newSessions: { points: 3, duration: 60 } } }, async (server, route) => {
      for (const id of ['a', 'b', 'c']) assert.equal((await exchange(server, 'POST', `/0/${id}/xhr`)).body, 'o\n', id);
      const over = await exchange(server, 'POST', '/0/d/xhr');
      assertTooMany(over, 'xhr');
      const retryAfter = Number(over.head.headers['retry-after']);
      assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assertTooMany(await exchange(server, 'GET', '/0/e/eventsource'), 'eventsource');
      assertTooMany(await exchange(server, 'GET', '/0/f/jsonp?c=cb'), 'jsonp');
      assertTooMany(await exchange(server, 'GET', '/0/g/websocket', WS_HEADERS), 'websocket');
      assertTooMany(await exchange(server, 'GET', '/websocket', WS_HEADERS), 'raw websocket');
      assert.equal(route.manager.size, 3);
      assert.equal(route.manager.stats().refusals.limit, 5);
      // The client's existing sessions are untouched: sends and polls do not count.
      assert.equal((await exchange(server, 'POST', '/0/a/xhr_send', {}, '["still here"]')).head.status, 204);
      assert.equal((await exchange(server, 'POST', '/0/a/xhr')).body, 'a["still here"]\n');
    });
  });

  it('newSessions: clients are told apart by address, X-Forwarded-For only behind a trusted proxy (app.proxy)', async () => {
    const limits = { newSessions: { points: 1, duration: 60 } };
    await withRoute({ limits }, async (server) => {
      assert.equal((await exchange(server, 'POST', '/0/a/xhr', { 'X-Forwarded-For': '203.0.113.1' })).head.status, 200);
      // Without app.proxy the header is the client's say-so: the same client, over its limit.
      assertTooMany(await exchange(server, 'POST', '/0/b/xhr', { 'X-Forwarded-For': '203.0.113.2' }), 'forged X-Forwarded-For');
    });
    await withRoute(
      { limits },
      async (server) => {
        assert.equal((await exchange(server, 'POST', '/0/a/xhr', { 'X-Forwarded-For': '203.0.113.1' })).head.status, 200);
        assert.equal((await exchange(server, 'POST', '/0/b/xhr', { 'X-Forwarded-For': '203.0.113.2' })).head.status, 200);
        assertTooMany(await exchange(server, 'POST', '/0/c/xhr', { 'X-Forwarded-For': '203.0.113.1' }), 'second session of 203.0.113.1');
      },
      true,
    );
  });

  it('newSessions: a key function and a rate-limiter-flexible limiter of your own', async () => {
    const limiter = new RateLimiterMemory({ points: 2, duration: 60, keyPrefix: 'test' });
    await withRoute({ limits: { newSessions: limiter, key: (ctx) => ctx.get('X-Api-Key') } }, async (server) => {
      for (const id of ['a', 'b']) assert.equal((await exchange(server, 'POST', `/0/${id}/xhr`, { 'X-Api-Key': 'k1' })).head.status, 200);
      assertTooMany(await exchange(server, 'POST', '/0/c/xhr', { 'X-Api-Key': 'k1' }), 'k1 over');
      assert.equal((await exchange(server, 'POST', '/0/d/xhr', { 'X-Api-Key': 'k2' })).head.status, 200);
      assert.equal((await limiter.get('k1'))?.consumedPoints, 3);
    });
  });

  it('maxSessions: the route holds that many; one more gets 429 and nobody is evicted; room again once one ends', async () => {
    await withRoute({ limits: { maxSessions: 2 } }, async (server, route) => {
      assert.equal((await exchange(server, 'POST', '/0/a/xhr')).body, 'o\n');
      assert.equal((await exchange(server, 'POST', '/0/b/xhr')).body, 'o\n');
      assertTooMany(await exchange(server, 'POST', '/0/c/xhr'), 'xhr over the cap');
      assertTooMany(await exchange(server, 'GET', '/0/d/websocket', WS_HEADERS), 'websocket over the cap');
      assert.equal(route.manager.size, 2);
      for (const id of ['a', 'b']) {
        assert.equal((await exchange(server, 'POST', `/0/${id}/xhr_send`, {}, `["${id}"]`)).head.status, 204);
        assert.equal((await exchange(server, 'POST', `/0/${id}/xhr`)).body, `a["${id}"]\n`);
      }
      route.manager.activeSessions()[0]!.expire();
      assert.equal((await exchange(server, 'POST', '/0/e/xhr')).body, 'o\n');
    });
  });

  it('maxSessions holds for requests that arrive together, while a slow use middleware runs', async () => {
    // Six new sessions at once on a route of two, each held in `use` (a database lookup, say)
    // until every request either entered it or was answered: only two may get through.
    const total = 6;
    let entered = 0;
    let answered = 0;
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const settle = () => {
      if (entered + answered === total) open();
    };
    const use = [
      async (_ctx: Koa.Context, next: Koa.Next) => {
        entered++;
        settle();
        await opened;
        await next();
      },
    ];
    await withRoute({ limits: { maxSessions: 2 }, use }, async (server, route) => {
      const replies = await Promise.all(
        Array.from({ length: total }, async (_, i) => {
          const reply = await exchange(server, i % 2 ? 'GET' : 'POST', i % 2 ? `/0/w${i}/websocket` : `/0/x${i}/xhr`, i % 2 ? WS_HEADERS : {});
          if (reply.head.status === 429) {
            answered++;
            settle();
          }
          return reply.head.status;
        }),
      );
      assert.equal(replies.filter((status) => status === 429).length, total - 2, `statuses ${replies.join(' ')}`);
      assert.equal(entered, 2);
      // The websocket ones among the two ended with their connection.
      assert.ok(route.manager.size <= 2, `${route.manager.size} sessions`);
    });
  });

  it('refuses wrong limits at startup, naming the option', () => {
    for (const limits of [{ newSessions: { points: 0, duration: 60 } }, { newSessions: { points: 1 } }, { maxSessions: -1 }, { key: 'ip' }, { perClient: 3 }]) {
      assert.throws(() => sockjs({ limits: limits as never }), (error: unknown) => error instanceof SockjsOptionError && error.option.startsWith('limits'), JSON.stringify(limits));
    }
  });
});
