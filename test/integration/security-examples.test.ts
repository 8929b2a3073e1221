// The two authentication examples of docs/security.md, run in-process from their factories:
// examples/cookie-auth (koa-session login) and examples/token-auth (a token in the SockJS URL).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createCookieAuthApp, type CookieAuthApp } from '../../examples/cookie-auth/server.js';
import { createTokenAuthApp, Tokens, type TokenAuthApp } from '../../examples/token-auth/server.js';
import { RawHttpConnection, type ResponseHead } from '../conformance/helpers.js';
import { listen, type Listening } from '../helpers/listen.js';
import { TestClient } from '../helpers/sockjs-client.js';
import { WebSocket } from 'ws';

async function exchange(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ head: ResponseHead; body: string }> {
  const connection = await RawHttpConnection.open(base);
  try {
    const head = await connection.request(method, path, { headers, ...(body !== undefined ? { body } : {}) });
    const length = head.headers['content-length'];
    const text = head.status === 101 || length === undefined ? '' : (await connection.read(Number(length))).toString('utf8');
    return { head, body: text };
  } finally {
    connection.close();
  }
}

const WS_HEADERS = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' };

/** The cookies a login answer sets, as a Cookie header. */
function cookiesOf(head: ResponseHead): string {
  const setCookie = head.headers['set-cookie'] ?? '';
  return [...setCookie.matchAll(/(?:^|, )(chat\.sess(?:\.sig)?=[^;]*)/g)].map((match) => match[1]).join('; ');
}

describe('examples/cookie-auth', () => {
  let example: CookieAuthApp;
  let server: Listening;

  before(async () => {
    example = createCookieAuthApp({ keys: ['test key'] });
    server = await listen(example.app);
  });
  after(async () => {
    await example.chat.close();
    await server.close();
  });

  async function login(name: string): Promise<string> {
    const reply = await exchange(server.url, 'POST', '/login', { 'Content-Type': 'application/x-www-form-urlencoded' }, `name=${encodeURIComponent(name)}`);
    assert.equal(reply.head.status, 302);
    const cookie = cookiesOf(reply.head);
    assert.match(cookie, /chat\.sess=.*; chat\.sess\.sig=/);
    return cookie;
  }

  it('refuses a session to a visitor who is not logged in, on HTTP and websocket alike', async () => {
    const xhr = await exchange(server.url, 'POST', '/chat/0/anon/xhr');
    assert.equal(xhr.head.status, 401);
    assert.equal(xhr.body, 'Log in first.');
    const upgrade = await exchange(server.url, 'GET', '/chat/0/anon/websocket', WS_HEADERS);
    assert.equal(upgrade.head.status, 401);
    assert.equal(example.chat.manager.size, 0);
  });

  it('a logged-in user is welcomed by name over a websocket; the session never sees the cookie', async () => {
    const cookie = await login('Alice');
    // ws's client takes headers through its options: open one with the login cookie.
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/chat/0/alice-ws/websocket`, { headers: { Cookie: cookie } });
    const frames: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (data) => {
        frames.push(String(data));
        if (frames.length === 2) resolve();
      });
      ws.on('error', reject);
    });
    assert.deepEqual(frames, ['o', 'a[{"type":"welcome","name":"Alice"}]']);
    const [session] = example.chat.manager.activeSessions();
    assert.equal(session?.data.user.name, 'Alice');
    assert.equal(session?.headers['cookie'], undefined);
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;
  });

  it("another logged-in user cannot use Alice's session URL; after logging out Alice cannot either", async () => {
    const alice = await login('Alice');
    const bob = await login('Bob');
    assert.equal((await exchange(server.url, 'POST', '/chat/0/alice-1/xhr', { Cookie: alice })).body, 'o\n');
    assert.equal((await exchange(server.url, 'POST', '/chat/0/alice-1/xhr', { Cookie: alice })).body, 'a[{"type":"welcome","name":"Alice"}]\n');
    const stolen = await exchange(server.url, 'POST', '/chat/0/alice-1/xhr_send', { Cookie: bob }, '["from bob"]');
    assert.equal(stolen.head.status, 404);
    assert.equal((await exchange(server.url, 'POST', '/chat/0/alice-1/xhr', { Cookie: bob })).head.status, 404);
    assert.equal((await exchange(server.url, 'POST', '/chat/0/alice-1/xhr_send', { Cookie: alice }, '["hi"]')).head.status, 204);
    assert.equal((await exchange(server.url, 'POST', '/chat/0/alice-1/xhr', { Cookie: alice })).body, 'a[{"type":"line","from":"Alice","text":"hi"}]\n');
    const loggedOut = await exchange(server.url, 'POST', '/logout', { Cookie: alice });
    const afterLogout = cookiesOf(loggedOut.head);
    assert.equal((await exchange(server.url, 'POST', '/chat/0/alice-1/xhr', { Cookie: afterLogout })).head.status, 404);
    example.chat.manager.clear();
  });

  it("helmet guards the app's pages; the iframe page keeps the route's own frame policy", async () => {
    const page = await exchange(server.url, 'GET', '/');
    assert.equal(page.head.headers['x-frame-options'], 'SAMEORIGIN');
    assert.match(page.head.headers['content-security-policy'] ?? '', /script-src 'self'/);
    const iframe = await exchange(server.url, 'GET', '/chat/iframe.html');
    assert.equal(iframe.head.headers['content-security-policy'], "frame-ancestors 'self'");
    assert.equal(iframe.head.headers['x-frame-options'], undefined);
  });
});

describe('examples/token-auth', () => {
  let example: TokenAuthApp;
  let server: Listening;

  before(async () => {
    example = createTokenAuthApp();
    server = await listen(example.app);
  });
  after(async () => {
    await example.chat.close();
    await server.close();
  });

  async function token(name: string): Promise<string> {
    const reply = await exchange(server.url, 'POST', `/token?name=${encodeURIComponent(name)}`);
    assert.equal(reply.head.status, 200);
    return (JSON.parse(reply.body) as { token: string }).token;
  }

  for (const transport of ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource']) {
    it(`sockjs-client carries the token to every request: ${transport}`, async () => {
      const client = new TestClient(`${server.url}/chat?token=${encodeURIComponent(await token('Carol'))}`, transport, { timeout: 10_000 });
      await client.opened;
      assert.equal(client.transport, transport);
      assert.deepEqual(await client.waitFor(1), [{ type: 'welcome', name: 'Carol' }]);
      client.send('hello');
      assert.deepEqual((await client.waitFor(2))[1], { type: 'line', from: 'Carol', text: 'hello' });
      await client.close();
    });
  }

  it('no token, a forged one or an expired one: 401 on every transport, nothing created', async () => {
    const createdBefore = example.chat.manager.stats().sessions.created;
    const expired = new Tokens(undefined, () => 0);
    const forged = (await token('Mallory')).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    for (const query of ['', '?token=', `?token=${encodeURIComponent(forged)}`, `?token=${encodeURIComponent(expired.issue('Old', -1))}`]) {
      assert.equal((await exchange(server.url, 'POST', `/chat/0/t/xhr${query}`)).head.status, 401, query);
      assert.equal((await exchange(server.url, 'GET', `/chat/0/t/eventsource${query}`)).head.status, 401, query);
      assert.equal((await exchange(server.url, 'GET', `/chat/0/t/websocket${query}`, WS_HEADERS)).head.status, 401, query);
    }
    assert.equal(example.chat.manager.stats().sessions.created, createdBefore);
    assert.equal(example.chat.manager.stats().refusals.authorization, 12);
  });

  it("a session is bound to its token's user: another user's token gets 404 on its URL", async () => {
    const dave = await token('Dave');
    const erin = await token('Erin');
    assert.equal((await exchange(server.url, 'POST', `/chat/0/dave-1/xhr?token=${encodeURIComponent(dave)}`)).body, 'o\n');
    assert.equal((await exchange(server.url, 'POST', `/chat/0/dave-1/xhr_send?token=${encodeURIComponent(erin)}`, {}, '["x"]')).head.status, 404);
    assert.equal((await exchange(server.url, 'POST', `/chat/0/dave-1/xhr_send?token=${encodeURIComponent(dave)}`, {}, '["x"]')).head.status, 204);
    example.chat.manager.clear();
  });
});
