/**
 * How long sessions live (issue 9, fault 1; issue 10, LRU eviction). Time runs on a fake clock
 * shared by the manager and the store, so a 55 s expiry takes no wall time.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import Koa from 'koa';
import { DEFAULTS, MemoryStore, Session, SessionState, sockjs, type SockjsManagedOptions } from '../../src/index.js';
import { FakeTimers } from '../helpers/fake-timers.js';
import { open, post, readAll, until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { FrameClient } from '../helpers/ws-client.js';

/** The test server's echo, counting how often onOpen runs. */
class Echo extends Session {
  static opened = 0;
  override onOpen(): void {
    Echo.opened++;
  }
  override onMessage(message: unknown): void {
    if (message === 'bye') this.close(3000, 'Go away!');
    else this.send(message);
  }
}

const servers: Listening[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

interface Started {
  base: string;
  timers: FakeTimers;
  store: MemoryStore;
  touches: string[];
  route: ReturnType<typeof sockjs>;
}

/** A route on a fake clock; `touches` lists every store.touch() key, to count store calls. */
async function start(options: SockjsManagedOptions<Session> & { maxSessions?: number } = {}): Promise<Started> {
  Echo.opened = 0;
  const timers = new FakeTimers();
  const { maxSessions, ...rest } = options;
  const store = new MemoryStore({ now: () => timers.now(), ...(maxSessions ? { maxSessions } : {}) });
  const touches: string[] = [];
  const touch = store.touch.bind(store);
  store.touch = (key, ttl) => {
    touches.push(key);
    touch(key, ttl);
  };
  const app = new Koa();
  const route = sockjs({ prefix: '/echo', session: Echo, store, timers, ...rest });
  app.use(route);
  const server = await listen(app);
  servers.push(server);
  return { base: `${server.url}/echo`, timers, store, touches, route };
}

/** xhr-polling as sockjs-client does it, one message a second, for `seconds` seconds. */
async function pollEverySecond(url: string, timers: FakeTimers, seconds: number): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    assert.equal((await post(`${url}/xhr_send`, JSON.stringify([`m${i}`]))).status, 204, `send at ${i} s`);
    assert.equal((await post(`${url}/xhr`)).body, `a["m${i}"]\n`, `poll at ${i} s`);
    timers.advance(1000);
  }
}

describe('a session in use never expires (issue 9)', () => {
  it('xhr-polling with one message a second lives past 55 s', async () => {
    const { base, timers } = await start();
    const url = `${base}/000/${randomUUID()}`;
    assert.equal((await post(`${url}/xhr`)).body, 'o\n');
    await pollEverySecond(url, timers, 70);
    assert.equal(Echo.opened, 1);
  });

  it('with heartbeatDelay 0, xhr-polling with one message a second lives past 5 s', async () => {
    const { base, timers } = await start({ heartbeatDelay: 0 });
    const url = `${base}/000/${randomUUID()}`;
    assert.equal((await post(`${url}/xhr`)).body, 'o\n');
    await pollEverySecond(url, timers, 20);
    assert.equal(Echo.opened, 1);
  });

  it('with heartbeatDelay 0, a quiet xhr-streaming connection keeps its session past 5 s', async () => {
    const { base, timers, store } = await start({ heartbeatDelay: 0 });
    const id = randomUUID();
    const url = `${base}/000/${id}`;
    const stream = open(`${url}/xhr_streaming`);
    const res = await stream.response;
    const chunks: string[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    await until(() => chunks.join('').endsWith('o\n'), 'the open frame');
    timers.advance(60_000);
    assert.equal(store.get(id)?.state, SessionState.OPEN, 'the record is alive after a minute of quiet');
    assert.equal((await post(`${url}/xhr_send`, '["still here"]')).status, 204);
    await until(() => chunks.join('').endsWith('a["still here"]\n'), 'the echo on the stream');
    stream.abort();
  });

  it('with heartbeatDelay 0, a quiet websocket keeps its record', async () => {
    const { base, timers, store } = await start({ heartbeatDelay: 0 });
    const client = new FrameClient(`${base}/0/0/websocket`);
    await client.waitFor(1);
    timers.advance(60_000);
    let live = 0;
    for await (const key of store.keys()) if (store.get(key)?.state === SessionState.OPEN) live++;
    assert.equal(live, 1);
    client.send('ping');
    assert.deepEqual(await client.waitFor(2), ['o', 'a["ping"]']);
    await client.close();
  });
});

describe('an ended session answers its URL with a close frame, never a new session (issue 9)', () => {
  it('a polling session that timed out: c[3001,"Session expired"] until its tombstone lapses', async () => {
    const { base, timers, route } = await start();
    const url = `${base}/000/${randomUUID()}`;
    assert.equal((await post(`${url}/xhr`)).body, 'o\n');
    timers.advance(5_000);
    assert.equal(route.manager.size, 0, 'the session timed out');
    assert.equal((await post(`${url}/xhr`)).body, 'c[3001,"Session expired"]\n');
    assert.equal((await post(`${url}/xhr_send`, '["late"]')).status, 404);
    timers.advance(DEFAULTS.closedSessionTtl - 1);
    assert.equal((await post(`${url}/xhr`)).body, 'c[3001,"Session expired"]\n');
    assert.equal(Echo.opened, 1);
    // Documented: after the tombstone, the URL is unknown again.
    timers.advance(1);
    assert.equal((await post(`${url}/xhr`)).body, 'o\n');
    assert.equal(Echo.opened, 2);
  });

  it('a session the application closed keeps serving its own close frame after disconnectDelay', async () => {
    const { base, timers, route } = await start();
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    await post(`${url}/xhr_send`, '["bye"]');
    timers.advance(5_000);
    assert.equal(route.manager.size, 0);
    assert.equal((await post(`${url}/xhr`)).body, 'c[3000,"Go away!"]\n');
    assert.equal(Echo.opened, 1);
  });

  it('an expire()d session answers with c[3001,"Session expired"]', async () => {
    const { base, route } = await start();
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    route.manager.activeSessions()[0]!.expire();
    assert.equal((await post(`${url}/xhr`)).body, 'c[3001,"Session expired"]\n');
    assert.equal(Echo.opened, 1);
  });

  it('a session evicted from a full store answers with c[3001,"Session expired"]', async () => {
    const { base } = await start({ maxSessions: 1 });
    const first = `${base}/000/${randomUUID()}`;
    await post(`${first}/xhr`);
    await post(`${base}/000/${randomUUID()}/xhr`);
    assert.equal((await post(`${first}/xhr`)).body, 'c[3001,"Session expired"]\n');
    assert.equal(Echo.opened, 2);
  });
});

describe('MemoryStore eviction follows real use (issue 10)', () => {
  it('at maxSessions evicts an idle polling session, not the busiest websocket opened before it', async () => {
    const { base, timers } = await start({ maxSessions: 3 });
    const busy = new FrameClient(`${base}/0/0/websocket`);
    await busy.waitFor(1);
    timers.advance(1000);
    // Two idle polling sessions, each with a poll waiting (a live connection, like the websocket).
    const idle = [`${base}/000/${randomUUID()}`, `${base}/000/${randomUUID()}`];
    const polls = [];
    for (const url of idle) {
      assert.equal((await post(`${url}/xhr`)).body, 'o\n');
      const poll = open(`${url}/xhr`);
      polls.push(poll);
    }
    await until(() => Echo.opened === 3, 'three sessions');
    // The websocket is busy for 10 s, one message a second.
    for (let i = 0; i < 10; i++) {
      busy.send(`m${i}`);
      await busy.waitFor(2 + i);
      timers.advance(1000);
    }
    // A fourth session: someone must go, and it is not the busy websocket.
    const fourth = new FrameClient(`${base}/0/0/websocket`);
    await fourth.waitFor(1);
    const evicted = await Promise.race([polls[0]!.response.then(readAll), busy.closed.then(() => 'the busy websocket')]);
    assert.equal(evicted, 'c[3001,"Session expired"]\n');
    busy.send('still open');
    assert.equal((await busy.waitFor(12)).at(-1), 'a["still open"]');
    polls[1]!.abort();
    await busy.close();
    await fourth.close();
  });

  it('prefers evicting a session with no live connection over an older connected one', async () => {
    const { base, timers } = await start({ maxSessions: 2 });
    const connected = new FrameClient(`${base}/0/0/websocket`);
    await connected.waitFor(1);
    timers.advance(1000);
    const between = `${base}/000/${randomUUID()}`;
    assert.equal((await post(`${between}/xhr`)).body, 'o\n');
    timers.advance(1000);
    const third = `${base}/000/${randomUUID()}`;
    assert.equal((await post(`${third}/xhr`)).body, 'o\n');
    assert.equal((await post(`${between}/xhr`)).body, 'c[3001,"Session expired"]\n');
    connected.send('here');
    await Promise.race([connected.waitFor(2), connected.closed]);
    assert.deepEqual(connected.frames, ['o', 'a["here"]']);
    await connected.close();
  });

  it('makes no store call per websocket frame: traffic renews the record at most once per interval', async () => {
    const { base, timers, touches } = await start();
    const client = new FrameClient(`${base}/0/0/websocket`);
    await client.waitFor(1);
    for (let i = 0; i < 100; i++) client.send(i);
    const echoed = (): number => client.frames.slice(1).reduce((sum, frame) => sum + (JSON.parse(frame.slice(1)) as unknown[]).length, 0);
    await until(() => echoed() === 100, 'the echoes');
    assert.equal(touches.length, 1, 'one renewal for 100 frames');
    timers.advance(5_000);
    client.send('later');
    await until(() => client.frames.at(-1) === 'a["later"]', 'the last echo');
    assert.equal(touches.length, 2, 'the next renewal once the interval has passed');
    await client.close();
  });
});

describe('the lifetime options (issue 9)', () => {
  it('closedSessionTtl: an ended session answers its URL with its close frame for as long as it says', async () => {
    const { base, timers } = await start({ closedSessionTtl: 10_000 });
    const url = `${base}/000/${randomUUID()}`;
    assert.equal((await post(`${url}/xhr`)).body, 'o\n');
    timers.advance(5_000);
    timers.advance(10_000 - 1);
    assert.equal((await post(`${url}/xhr`)).body, 'c[3001,"Session expired"]\n');
    timers.advance(1);
    assert.equal((await post(`${url}/xhr`)).body, 'o\n', 'a new session once the 10 s are over');
    assert.equal(Echo.opened, 2);
  });

  it('touchInterval: traffic renews the record at most once per the milliseconds it sets', async () => {
    const { base, timers, touches } = await start({ touchInterval: 1_000, heartbeatDelay: 0 });
    const client = new FrameClient(`${base}/0/0/websocket`);
    await client.waitFor(1);
    for (let second = 0; second < 4; second++) {
      for (let i = 0; i < 10; i++) client.send(i);
      await until(() => client.frames.at(-1)?.endsWith('9]') === true && client.frames.length > 1, 'the echoes');
      client.frames.length = 1;
      assert.equal(touches.length, second + 1, `one renewal in second ${second}`);
      timers.advance(1_000);
    }
    await client.close();
  });

  it('refuses values that are not what they measure, naming them', () => {
    for (const [option, value] of [
      ['closedSessionTtl', 0],
      ['closedSessionTtl', '2m'],
      ['touchInterval', -1],
      ['incomingHighWaterMark', 0.5],
      ['maxIncomingBacklog', 0],
    ] as const) {
      assert.throws(() => sockjs({ [option]: value }), { name: 'SockjsOptionError', option }, `${option}: ${String(value)}`);
    }
    assert.throws(() => sockjs({ incomingHighWaterMark: 2048, maxIncomingBacklog: 1024 }), {
      option: 'maxIncomingBacklog',
      message: 'koa-sockjs: option "maxIncomingBacklog" must be at least incomingHighWaterMark (2048), got 1024',
    });
    // An incomingHighWaterMark above the default backlog raises the backlog's default with it.
    const route = sockjs({ incomingHighWaterMark: 2 * DEFAULTS.maxIncomingBacklog });
    assert.equal(route.manager.maxIncomingBacklog, 2 * DEFAULTS.maxIncomingBacklog);
    void route.close();
  });
});
