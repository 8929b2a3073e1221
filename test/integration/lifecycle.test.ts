/** Session hooks, timers, limits and shutdown. Timeouts run on a fake clock: no sleeping. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import Koa from 'koa';
import { MemoryStore, Session, SessionState, sockjs, type SockjsManagedOptions } from '../../src/index.js';
import { FakeTimers } from '../helpers/fake-timers.js';
import { open, post, readAll, until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { SharedMemoryStore } from '../helpers/shared-memory-store.js';
import { FrameClient } from '../helpers/ws-client.js';

/** Records every hook call of every session, in order. */
class Recorder extends Session {
  static log: string[] = [];
  static sessions: Recorder[] = [];
  override onOpen(): void {
    Recorder.sessions.push(this);
    Recorder.log.push(`open ${this.state}`);
  }
  override onMessage(message: unknown): void {
    Recorder.log.push(`message ${JSON.stringify(message)}`);
    if (message === 'close') this.close(3001, 'Asked to');
    else if (message === 'expire') this.expire();
    else this.send(message);
  }
  override onClose(): void {
    Recorder.log.push(`close ${this.state}`);
  }
  override onClosed(): void {
    Recorder.log.push(`closed ${this.state}`);
  }
  override onRemove(): void {
    Recorder.log.push('remove');
  }
}

const servers: Listening[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

async function start(options: SockjsManagedOptions<Session> = {}): Promise<{ base: string; middleware: ReturnType<typeof sockjs> }> {
  Recorder.log = [];
  Recorder.sessions = [];
  const app = new Koa();
  const middleware = sockjs({ prefix: '/s', session: Recorder, ...options });
  app.use(middleware);
  const server = await listen(app);
  servers.push(server);
  return { base: `${server.url}/s`, middleware };
}

describe('session lifecycle', () => {
  it('runs every hook once, in order, when the client closes a websocket', async () => {
    const { base, middleware } = await start();
    const client = new FrameClient(`${base}/0/0/websocket`);
    await client.waitFor(1);
    assert.equal(client.frames[0], 'o');
    client.send('a', 'b');
    await client.waitFor(2);
    assert.equal(client.frames[1], 'a["a","b"]');
    await client.close();
    await until(() => Recorder.log.includes('remove'), 'onRemove');
    assert.deepEqual(Recorder.log, ['open 1', 'message "a"', 'message "b"', 'close 2', 'closed 3', 'remove']);
    assert.equal(middleware.manager.size, 0);
  });

  it('sends the close frame, then closes the websocket, on session.close()', async () => {
    const { base } = await start();
    const client = new FrameClient(`${base}/0/0/websocket`);
    await client.waitFor(1);
    client.send('close');
    const closed = await client.closed;
    assert.deepEqual(client.frames, ['o', 'c[3001,"Asked to"]']);
    assert.equal(closed.code, 1000);
    await until(() => Recorder.log.includes('remove'), 'onRemove');
    assert.deepEqual(Recorder.log, ['open 1', 'message "close"', 'close 2', 'closed 3', 'remove']);
  });

  it('expire() closes and forgets the session at once', async () => {
    const { base, middleware } = await start();
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    await post(`${url}/xhr_send`, '["expire"]');
    assert.deepEqual(Recorder.log, ['open 1', 'message "expire"', 'close 2', 'closed 3', 'remove']);
    assert.equal(middleware.manager.size, 0);
    // Its URL answers with the close frame, never with a new session (its tombstone).
    assert.equal((await post(`${url}/xhr`)).body, 'c[3001,"Session expired"]\n');
  });

  it('times a polling session out after disconnectDelay without a receiver', async () => {
    const timers = new FakeTimers();
    const { base, middleware } = await start({ timers, disconnectDelay: 5000 });
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    timers.advance(4999);
    assert.equal(middleware.manager.size, 1);
    // A poll within the delay keeps it alive; the clock restarts when the poll ends.
    await post(`${url}/xhr_send`, '["ping"]');
    assert.equal((await post(`${url}/xhr`)).body, 'a["ping"]\n');
    timers.advance(4999);
    assert.equal(middleware.manager.size, 1);
    timers.advance(1);
    assert.equal(middleware.manager.size, 0);
    assert.deepEqual(Recorder.log, ['open 1', 'message "ping"', 'close 2', 'closed 3', 'remove']);
    assert.equal(timers.size, 0, 'no timer is left behind');
    assert.equal((await post(`${url}/xhr_send`, '["late"]')).status, 404);
  });

  it('keeps a closed session serving its close frame until disconnectDelay, then removes it', async () => {
    const timers = new FakeTimers();
    const { base, middleware } = await start({ timers });
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    await post(`${url}/xhr_send`, '["close"]');
    assert.equal((await post(`${url}/xhr`)).body, 'c[3001,"Asked to"]\n');
    assert.deepEqual(Recorder.log, ['open 1', 'message "close"', 'close 2', 'closed 3']);
    timers.advance(5000);
    assert.equal(middleware.manager.size, 0);
    assert.equal(Recorder.log.at(-1), 'remove');
    assert.equal(timers.size, 0);
  });

  it('heartbeats a waiting poll and a websocket every heartbeatDelay', async () => {
    const timers = new FakeTimers();
    // The clock jumps two heartbeats at once, faster than a pong could travel: no pings here
    // (dead-peers.test.ts tests them).
    const { base } = await start({ timers, heartbeatDelay: 25_000, pingTimeout: 0 });
    const client = new FrameClient(`${base}/0/0/websocket`);
    await client.waitFor(1);
    timers.advance(25_000);
    await client.waitFor(2);
    timers.advance(25_000);
    assert.deepEqual(await client.waitFor(3), ['o', 'h', 'h']);
    assert.equal(Recorder.sessions[0]!.heartbeats, 2);
    await client.close();

    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    const session = Recorder.sessions.at(-1)!;
    const poll = open(`${url}/xhr`);
    await until(() => session.hits === 1, 'the poll to arrive');
    timers.advance(25_000);
    assert.equal(await readAll(await poll.response), 'h\n');
  });

  it('logs a throwing or rejecting hook and goes on', async () => {
    const errors: string[] = [];
    class Faulty extends Session {
      override onOpen(): void {
        throw new Error('open failed');
      }
      override async onMessage(message: unknown): Promise<void> {
        if (message === 'reject') throw new Error('async failure');
        this.send(message);
      }
    }
    const app = new Koa();
    app.use(sockjs({ prefix: '/f', session: Faulty, onError: (error, context) => errors.push(`${context}: ${(error as Error).message}`) }));
    const server = await listen(app);
    servers.push(server);
    const client = new FrameClient(`${server.url}/f/0/0/websocket`);
    await client.waitFor(1);
    client.send('reject');
    client.send('still alive');
    assert.deepEqual(await client.waitFor(2), ['o', 'a["still alive"]']);
    assert.equal(errors.length, 2);
    assert.match(errors[0]!, /^onOpen of session .+: open failed$/);
    assert.match(errors[1]!, /^onMessage of session .+: async failure$/);
    await client.close();
  });

  it('runs async hooks one after another, in order', async () => {
    const order: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    class Slow extends Session {
      override async onOpen(): Promise<void> {
        await gate;
        order.push('open done');
      }
      override onMessage(message: unknown): void {
        order.push(`message ${String(message)}`);
        this.send(message);
      }
    }
    const app = new Koa();
    app.use(sockjs({ prefix: '/slow', session: Slow }));
    const server = await listen(app);
    servers.push(server);
    const client = new FrameClient(`${server.url}/slow/0/0/websocket`);
    await client.waitFor(1);
    client.send('1', '2');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, []);
    release();
    await client.waitFor(2);
    assert.deepEqual(order, ['open done', 'message 1', 'message 2']);
    await client.close();
  });

  it('closes a websocket sending more than maxMessageSize with 1009, delivering nothing', async () => {
    const { base } = await start({ maxMessageSize: 100 });
    const client = new FrameClient(`${base}/0/0/websocket`);
    await client.waitFor(1);
    client.send('x'.repeat(200));
    const closed = await client.closed;
    assert.equal(closed.code, 1009);
    assert.deepEqual(client.frames, ['o']);
    await until(() => Recorder.log.includes('remove'), 'onRemove');
    assert.ok(!Recorder.log.some((line) => line.startsWith('message')));
  });

  it('terminates a websocket that sends broken JSON, and ignores empty frames', async () => {
    const { base } = await start();
    const client = new FrameClient(`${base}/0/0/websocket`);
    await client.waitFor(1);
    client.ws.send('');
    client.send('fine');
    await client.waitFor(2);
    client.ws.send('["broken');
    await client.closed;
    assert.deepEqual(client.frames, ['o', 'a["fine"]']);
  });

  it('evicts the least recently used session when the store is full, closing it properly', async () => {
    const { base, middleware } = await start({ store: new MemoryStore({ maxSessions: 2 }) });
    const first = new FrameClient(`${base}/0/0/websocket`);
    await first.waitFor(1);
    // A second connected session (a waiting poll): every session has a live connection, so the
    // least recently used one goes (session-lifetime.test.ts: which one goes when they differ).
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    const poll = open(`${url}/xhr`);
    await until(() => Recorder.sessions[1]?.hits === 1, 'the poll to arrive');
    const third = new FrameClient(`${base}/0/0/websocket`);
    await third.waitFor(1);
    // The first session was evicted: its client got a close frame, and its hooks ran.
    await first.closed;
    assert.deepEqual(first.frames, ['o', 'c[3001,"Session expired"]']);
    assert.equal(middleware.manager.size, 2);
    assert.equal(Recorder.sessions[0]!.state, SessionState.CLOSED);
    await until(() => Recorder.log.filter((line) => line === 'remove').length === 1, 'onRemove of the evicted session');
    poll.abort();
    await third.close();
  });

  it('closes every session with a close frame on manager.close(), leaving no timer', async () => {
    const { base, middleware } = await start();
    const client = new FrameClient(`${base}/0/0/websocket`);
    await client.waitFor(1);
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    const session = Recorder.sessions.at(-1)!;
    const poll = open(`${url}/xhr`);
    await until(() => session.hits === 1, 'the poll to arrive');
    await middleware.close();
    assert.equal(await readAll(await poll.response), 'c[1001,"Server is shutting down"]\n');
    await client.closed;
    assert.deepEqual(client.frames, ['o', 'c[1001,"Server is shutting down"]']);
    assert.equal(middleware.manager.size, 0);
    assert.equal(Recorder.log.filter((line) => line === 'remove').length, 2);
  });
});

describe('broadcast', () => {
  it('sends the broadcasts of one tick as one frame, in order with direct sends', async () => {
    const { base, middleware } = await start();
    const client = new FrameClient(`${base}/0/0/websocket`);
    await client.waitFor(1);
    const session = Recorder.sessions[0]!;
    middleware.manager.broadcast('b1');
    middleware.manager.broadcast({ b: 2 });
    session.send('direct');
    middleware.manager.broadcast('b3');
    session.close(3000, 'done');
    await client.closed;
    assert.deepEqual(client.frames, ['o', 'a["b1",{"b":2}]', 'a["direct"]', 'a["b3"]', 'c[3000,"done"]']);
  });

  it('queues broadcasts for polling sessions between polls', async () => {
    const { base, middleware } = await start();
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    middleware.manager.broadcast('one');
    middleware.manager.broadcast('two');
    await new Promise((resolve) => setImmediate(resolve));
    middleware.manager.broadcast('three');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await post(`${url}/xhr`)).body, 'a["one","two","three"]\n');
  });
});

describe('broadcasts from other processes', () => {
  it('delivers well-formed ones and reports malformed ones without breaking', async () => {
    const errors: string[] = [];
    const store = new SharedMemoryStore();
    const { base } = await start({ store, onError: (error, context) => errors.push(`${context}: ${(error as Error).message}`) });
    const client = new FrameClient(`${base}/0/0/websocket`);
    await client.waitFor(1);
    // What another process sharing the store publishes: `<its node id>\n<JSON array of encoded messages>`.
    store.publish('broadcast:', 'other-node\n["\\"from afar\\"",{"not":"a string"}]');
    store.publish('broadcast:', 'other-node\nnot json');
    store.publish('broadcast:', 'other-node\n["\\"from afar\\""]');
    assert.deepEqual(await client.waitFor(2), ['o', 'a["from afar"]']);
    assert.equal(errors.length, 2);
    assert.match(errors[0]!, /^broadcast received on broadcast:: koa-sockjs: malformed broadcast payload$/);
    await client.close();
  });
});

describe('slow clients', () => {
  it('closes a session whose client stops reading once maxBufferedBytes wait', async () => {
    let closedWith: string | undefined;
    class Flood extends Session {
      override onMessage(): void {
        const chunk = 'x'.repeat(64 * 1024);
        const pump = (): void => {
          // A bounded loop: the test's own guard against a server that never gives up.
          for (let i = 0; i < 16; i++) if (!this.send(chunk)) return;
          if (this.heartbeats < 1_000_000) setImmediate(pump);
        };
        pump();
      }
      override onClose(): void {
        closedWith = 'onClose';
      }
    }
    const app = new Koa();
    const route = sockjs({ prefix: '/flood', session: Flood, maxBufferedBytes: 1024 * 1024 });
    app.use(route);
    const server = await listen(app);
    servers.push(server);
    const client = new FrameClient(`${server.url}/flood/0/0/websocket`);
    await client.waitFor(1);
    client.ws.pause();
    client.send('go');
    await until(() => closedWith === 'onClose', 'the slow session to close', 20_000);
    assert.equal(route.manager.activeSessions().length, 0);
    // Once it reads again, the client finds the reason at the end of what was queued.
    client.ws.resume();
    await client.closed;
    assert.equal(client.frames.at(-1), 'c[1013,"Client too slow to receive"]');
  });
});
