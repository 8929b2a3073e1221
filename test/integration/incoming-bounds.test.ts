/**
 * Incoming messages waiting for an async onMessage are bounded (issue 9, fault 4): a fast
 * websocket sender is paused (nothing lost or reordered), an HTTP send's answer waits for room,
 * and parallel sends past the limit close the session with 1008.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import Koa from 'koa';
import { DEFAULTS, Session, SessionState, sockjs, type SockjsManagedOptions } from '../../src/index.js';
import { post, until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { FrameClient } from '../helpers/ws-client.js';

const SIZE = 256 * 1024;

/** onMessage waits on a gate the test opens; records what it got, in order. */
class Slow extends Session {
  static gate: Promise<void>;
  static open: () => void;
  static got: string[] = [];
  static sessions: Slow[] = [];
  static reset(): void {
    Slow.got = [];
    Slow.sessions = [];
    Slow.gate = new Promise((resolve) => (Slow.open = resolve));
  }
  override onOpen(): void {
    Slow.sessions.push(this);
  }
  override async onMessage(message: unknown): Promise<void> {
    await Slow.gate;
    Slow.got.push((message as string).slice(0, (message as string).indexOf(':')));
  }
}

const servers: Listening[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

async function start(options: SockjsManagedOptions<Slow> = {}): Promise<string> {
  Slow.reset();
  const app = new Koa();
  app.use(sockjs({ prefix: '/s', session: Slow, ...options }));
  const server = await listen(app);
  servers.push(server);
  return `${server.url}/s`;
}

const message = (i: number, size = SIZE): string => `${i}:${'x'.repeat(size)}`;

/** Resolves once `value()` has not changed for 200 turns of the event loop (no timer). */
async function settled(value: () => number): Promise<number> {
  let last = value();
  for (let stable = 0; stable < 200; ) {
    await new Promise((resolve) => setImmediate(resolve));
    const now = value();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

describe('messages waiting for an async onMessage', () => {
  it('pause a fast websocket sender: the server reads about the high water mark, then all arrive in order', async () => {
    const base = await start();
    const client = new FrameClient(`${base}/0/0/websocket`);
    await client.waitFor(1);
    const count = 40;
    for (let i = 0; i < count; i++) client.send(message(i));
    const session = Slow.sessions[0]!;
    // hits counts the frames the server read off the connection.
    const read = await settled(() => session.hits);
    assert.ok(read >= 1, 'the server read some');
    assert.ok(read * SIZE <= DEFAULTS.incomingHighWaterMark + 3 * SIZE, `paused after ${read} frames of ${SIZE} bytes`);
    Slow.open();
    await until(() => Slow.got.length === count, 'every message', 20_000);
    assert.deepEqual(Slow.got, Array.from({ length: count }, (_, i) => String(i)));
    await client.close();
  });

  it('hold back an HTTP send until there is room, then take it, in order', async () => {
    const base = await start();
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    const size = 600 * 1024;
    assert.equal((await post(`${url}/xhr_send`, JSON.stringify([message(0, size)]))).status, 204);
    assert.equal((await post(`${url}/xhr_send`, JSON.stringify([message(1, size)]))).status, 204);
    // 1.2 MB wait: the third send is answered only once the application took enough.
    let answered = 0;
    const third = post(`${url}/xhr_send`, JSON.stringify([message(2, size)])).then((reply) => {
      answered = reply.status;
      return reply;
    });
    const session = Slow.sessions[0]!;
    assert.equal(await settled(() => session.hits + answered), 2);
    Slow.open();
    assert.equal((await third).status, 204);
    await until(() => Slow.got.length === 3, 'every message');
    assert.deepEqual(Slow.got, ['0', '1', '2']);
  });

  it('take one send larger than the limit (maxMessageSize allows it), and hold back the next instead of closing', async () => {
    const base = await start({ maxMessageSize: 12 * 1024 * 1024 });
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    assert.equal((await post(`${url}/xhr_send`, JSON.stringify([message(0, 9 * 1024 * 1024)]))).status, 204);
    let answered = 0;
    const next = post(`${url}/xhr_send`, JSON.stringify([message(1, 10)])).then((reply) => {
      answered = reply.status;
      return reply;
    });
    const session = Slow.sessions[0]!;
    assert.equal(await settled(() => session.hits + answered), 1);
    Slow.open();
    assert.equal((await next).status, 204);
    await until(() => Slow.got.length === 2, 'both messages');
    assert.deepEqual(Slow.got, ['0', '1']);
    assert.equal(session.state, SessionState.OPEN);
  });

  it('close the session with 1008 when sends keep coming in parallel past the limit', async () => {
    const base = await start();
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    const size = 900 * 1024;
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => post(`${url}/xhr_send`, JSON.stringify([message(i, size)]))));
    const statuses = replies.map((reply) => reply.status);
    assert.ok(statuses.includes(404), `some sends refused: ${statuses.join(' ')}`);
    assert.equal((await post(`${url}/xhr`)).body, 'c[1008,"Too many messages waiting"]\n');
    Slow.open();
  });

  it('incomingHighWaterMark: a websocket sender is paused past the bytes it sets', async () => {
    const highWater = 64 * 1024;
    const base = await start({ incomingHighWaterMark: highWater });
    const client = new FrameClient(`${base}/0/0/websocket`);
    await client.waitFor(1);
    const size = 16 * 1024;
    for (let i = 0; i < 40; i++) client.send(message(i, size));
    const session = Slow.sessions[0]!;
    const read = await settled(() => session.hits);
    // Read until past the mark (one frame over it), then paused: far fewer than the default allows.
    assert.ok(read * size > highWater && read * size <= highWater + 3 * size, `paused after ${read} frames of ${size} bytes`);
    Slow.open();
    await until(() => Slow.got.length === 40, 'every message');
    assert.deepEqual(Slow.got, Array.from({ length: 40 }, (_, i) => String(i)));
    await client.close();
  });

  it('maxIncomingBacklog: parallel sends past the bytes it sets close the session with 1008', async () => {
    const base = await start({ incomingHighWaterMark: 16 * 1024, maxIncomingBacklog: 64 * 1024 });
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    // 5 x 20 KiB: under the default limit by far, over this one.
    const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => post(`${url}/xhr_send`, JSON.stringify([message(i, 20 * 1024)]))));
    const statuses = replies.map((reply) => reply.status);
    assert.ok(statuses.includes(404), `some sends refused: ${statuses.join(' ')}`);
    assert.equal((await post(`${url}/xhr`)).body, 'c[1008,"Too many messages waiting"]\n');
    Slow.open();
  });

  it('a send while nothing waits is taken whatever its size, even past maxIncomingBacklog', async () => {
    const base = await start({ incomingHighWaterMark: 16 * 1024, maxIncomingBacklog: 16 * 1024 });
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    assert.equal((await post(`${url}/xhr_send`, JSON.stringify([message(0, 100 * 1024)]))).status, 204);
    Slow.open();
    await until(() => Slow.got.length === 1, 'the message');
    assert.deepEqual(Slow.got, ['0']);
  });
});
