// The `use` option: Koa middleware that authorizes every request that would create a session,
// on every transport, before anything exists. A refusal (401, 403, or an answer without
// next()) reaches the client as that status, on a websocket upgrade too, and leaves no session,
// no hook call and no store record behind. What it leaves on ctx.state is `session.data`.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import Koa from 'koa';
import { MemoryStore, Session, sockjs, type SessionRecord, type SockjsMiddleware } from '../../src/index.js';
import { RawHttpConnection, type ResponseHead } from '../conformance/helpers.js';
import { listen, type Listening } from '../helpers/listen.js';
import { FrameClient } from '../helpers/ws-client.js';

interface User {
  name: string;
}

const hooks: string[] = [];
const openedBy: Array<{ user: User; data: Readonly<Record<string, unknown>>; headers: Readonly<Record<string, string>> }> = [];
let useRuns = 0;

/** `Session<Data>` types what the `use` middleware leaves on ctx.state. */
class Chat extends Session<{ user: User }> {
  override onOpen(): void {
    hooks.push('onOpen');
    openedBy.push({ user: this.data.user, data: this.data, headers: this.headers });
  }
  override onMessage(message: unknown): void {
    hooks.push('onMessage');
    this.send(`${this.data.user.name}: ${String(message)}`);
  }
  override onClose(): void {
    hooks.push('onClose');
  }
  override onRemove(): void {
    hooks.push('onRemove');
  }
}

/** Authorizes by a token in the query string (as sockjs-client carries it) or a header. */
async function authorize(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  useRuns++;
  const token = typeof ctx.query['token'] === 'string' ? ctx.query['token'] : ctx.get('X-Token');
  if (token === '') ctx.throw(401, 'Log in first.', { headers: { 'WWW-Authenticate': 'Bearer' } });
  if (token === 'banned') ctx.throw(403, 'Banned.');
  if (token === 'teapot') {
    // Answers by itself, without next(): refused with what it set.
    ctx.status = 418;
    ctx.body = 'I am a teapot.';
    return;
  }
  if (token === 'crash') throw new Error('the user database is down');
  ctx.state['user'] = { name: token };
  await next();
}

/** A MemoryStore that counts every write a session would need. */
class CountingStore extends MemoryStore {
  writes = 0;
  override create(key: string, record: SessionRecord, ttlMs: number): ReturnType<MemoryStore['create']> {
    this.writes++;
    return super.create(key, record, ttlMs);
  }
  override claimReceiver(key: string, token: string, ttlMs: number): boolean {
    this.writes++;
    return super.claimReceiver(key, token, ttlMs);
  }
  override claimAndTake(key: string, token: string, ttlMs: number): string[] | null {
    this.writes++;
    return super.claimAndTake(key, token, ttlMs);
  }
}

const store = new CountingStore();
let server: Listening;
let route: SockjsMiddleware<Chat>;
const appErrors: unknown[] = [];
let serial = 0;

function sessionPath(): string {
  return `/000/auth-${++serial}`;
}

const WS_HEADERS = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' };
const HIXIE_HEADERS = { Connection: 'Upgrade', Upgrade: 'WebSocket', 'Sec-WebSocket-Key1': '4 @1  46546xW%0l 1 5', 'Sec-WebSocket-Key2': '12998 5 Y3 1  .P00' };

/** Every way a client can create a session, as a request to send (path relative to the route). */
const CREATORS: ReadonlyArray<{ name: string; method: string; path: (query: string) => string; headers?: Record<string, string> }> = [
  { name: 'xhr', method: 'POST', path: (q) => `${sessionPath()}/xhr?${q}` },
  { name: 'xhr_streaming', method: 'POST', path: (q) => `${sessionPath()}/xhr_streaming?${q}` },
  { name: 'eventsource', method: 'GET', path: (q) => `${sessionPath()}/eventsource?${q}` },
  { name: 'htmlfile', method: 'GET', path: (q) => `${sessionPath()}/htmlfile?c=cb&${q}` },
  { name: 'jsonp', method: 'GET', path: (q) => `${sessionPath()}/jsonp?c=cb&${q}` },
  { name: 'websocket', method: 'GET', path: (q) => `${sessionPath()}/websocket?${q}`, headers: WS_HEADERS },
  { name: 'websocket (hixie-76)', method: 'GET', path: (q) => `${sessionPath()}/websocket?${q}`, headers: HIXIE_HEADERS },
  { name: 'raw websocket', method: 'GET', path: (q) => `/websocket?${q}`, headers: WS_HEADERS },
];

async function exchange(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ head: ResponseHead; body: string }> {
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

describe('authorization with use: [middleware]', () => {
  before(async () => {
    const app = new Koa();
    app.on('error', (error: unknown) => appErrors.push(error));
    route = sockjs({ prefix: '/s', session: Chat, store, use: [authorize] });
    app.use(route);
    server = await listen(app);
  });
  after(async () => {
    await route.close();
    await server.close();
  });
  beforeEach(() => {
    hooks.length = 0;
    openedBy.length = 0;
  });

  for (const creator of CREATORS) {
    it(`${creator.name}: 401 and 403 reach the client; no session, no hook, nothing stored`, async () => {
      const refusals = [
        { query: 'token=', status: 401, body: 'Log in first.' },
        { query: 'token=banned', status: 403, body: 'Banned.' },
        { query: 'token=teapot', status: 418, body: 'I am a teapot.' },
      ];
      const writesBefore = store.writes;
      for (const refusal of refusals) {
        const reply = await exchange(creator.method, creator.path(refusal.query), creator.headers);
        assert.equal(reply.head.status, refusal.status, `${creator.name} ${refusal.query}`);
        assert.equal(reply.body, refusal.body);
        if (refusal.status === 401) assert.equal(reply.head.headers['www-authenticate'], 'Bearer');
        assert.equal(route.manager.size, 0, 'no session');
        assert.equal(await route.manager.count(), 0, 'no store record');
        assert.deepEqual(hooks, [], 'no hook');
        assert.equal(store.writes, writesBefore, 'no store write');
      }
      assert.ok(route.manager.stats().refusals.authorization >= 3);
    });
  }

  it('a failing middleware is a server error: 500, reported through app.emit("error"), nothing created', async () => {
    const before = appErrors.length;
    const reply = await exchange('POST', `${sessionPath()}/xhr?token=crash`);
    assert.equal(reply.head.status, 500);
    assert.equal(appErrors.length, before + 1);
    assert.match(String(appErrors.at(-1)), /user database is down/);
    const upgrade = await exchange('GET', `${sessionPath()}/websocket?token=crash`, WS_HEADERS);
    assert.equal(upgrade.head.status, 500);
    assert.equal(route.manager.size, 0);
    assert.equal(await route.manager.count(), 0);
    assert.deepEqual(hooks, []);
  });

  it('an authorized websocket: onOpen knows the user from session.data, and never sees the cookie', async () => {
    const client = new FrameClient(`${server.url}/s${sessionPath()}/websocket?token=alice`);
    assert.deepEqual(await client.waitFor(1), ['o']);
    client.send('hello');
    assert.deepEqual((await client.waitFor(2))[1], 'a["alice: hello"]');
    assert.deepEqual(openedBy[0]?.user, { name: 'alice' });
    await client.close();
  });

  it('an authorized HTTP session: the user in session.data, no cookie in data or headers, use run once per session', async () => {
    const path = sessionPath();
    const runsBefore = useRuns;
    const writesBefore = store.writes;
    const opened = await exchange('POST', `${path}/xhr?token=bob`, { Cookie: 'koa.sess=secret' });
    assert.equal(opened.body, 'o\n');
    assert.ok(store.writes > writesBefore, 'an authorized session is written to the store');
    assert.deepEqual(openedBy[0]?.user, { name: 'bob' });
    assert.deepEqual(Object.keys(openedBy[0]!.data), ['user']);
    assert.ok(Object.isFrozen(openedBy[0]!.data));
    assert.equal(openedBy[0]!.headers['cookie'], undefined);
    // Polls and sends of the session do not run the chain again: it authorized the session.
    const poll = startPoll(`${path}/xhr`);
    const sent = await exchange('POST', `${path}/xhr_send`, {}, '["hi"]');
    assert.equal(sent.head.status, 204);
    assert.equal(useRuns, runsBefore + 1);
    assert.equal((await poll).body, 'a["bob: hi"]\n');
    route.manager.clear();
  });
});

/** A poll left open while the test sends. */
function startPoll(path: string): Promise<{ head: ResponseHead; body: string }> {
  return exchange('POST', path);
}
