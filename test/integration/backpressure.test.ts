/**
 * Backpressure: a producer that awaits session.drain() against a client that stops reading
 * waits instead of buffering (the session's buffered bytes stay bounded and the connection
 * never reaches maxBufferedBytes), and goes on once the client reads again. Over a websocket,
 * an xhr-streaming response, and polling (bytes waiting in the store for the next poll).
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import Koa from 'koa';
import { WebSocket } from 'ws';
import { Session, SessionState, SockjsRangeError, sockjs, type SockjsManagedOptions } from '../../src/index.js';
import { open, post, until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';

const CHUNK = 'x'.repeat(16 * 1024);
/** 32 MiB in all: far more than the loopback's socket buffers hold, so the producer must wait. */
const COUNT = 2048;
/** What the producer lets stay buffered before it waits. */
const HIGH_WATER = 64 * 1024;
/** The connection's limit; the producer must never get near it. */
const MAX_BUFFERED = 1024 * 1024;

/** Sends COUNT chunks, awaiting drain() whenever HIGH_WATER bytes are buffered. */
class Producer extends Session {
  static last: Producer | undefined;
  sent = 0;
  waits = 0;
  waiting = false;
  maxBuffered = 0;
  done: Promise<boolean> | undefined;

  override onOpen(): void {
    Producer.last = this;
  }

  override onMessage(message: unknown): void {
    if (message === 'start') this.done = this.produce();
  }

  async produce(): Promise<boolean> {
    while (this.sent < COUNT) {
      if (this.bufferedBytes > HIGH_WATER) {
        this.waiting = true;
        this.waits++;
        const open = await this.drain(HIGH_WATER);
        this.waiting = false;
        if (!open) return false;
      }
      this.send(`${this.sent}:${CHUNK}`);
      this.sent++;
      this.maxBuffered = Math.max(this.maxBuffered, this.bufferedBytes);
    }
    return true;
  }
}

const servers: Listening[] = [];
const cleanups: Array<() => void> = [];
after(async () => {
  for (const cleanup of cleanups) cleanup();
  for (const server of servers) await server.close();
});

async function start(options: SockjsManagedOptions<Session> = {}): Promise<{ base: string; middleware: ReturnType<typeof sockjs> }> {
  Producer.last = undefined;
  const app = new Koa();
  const middleware = sockjs({ prefix: '/b', session: Producer, maxBufferedBytes: MAX_BUFFERED, ...options });
  app.use(middleware);
  const server = await listen(app);
  servers.push(server);
  return { base: server.url, middleware };
}

/** Message numbers in a frame `a["0:xxx","1:xxx"]`. */
function numbersIn(frame: string): number[] {
  if (frame.charCodeAt(0) !== 97) return [];
  return (JSON.parse(frame.slice(1)) as string[]).map((message) => Number(message.slice(0, message.indexOf(':'))));
}

describe('backpressure', () => {
  it('websocket: the producer waits while the client reads nothing, and goes on when it reads', { timeout: 60_000 }, async () => {
    const { base } = await start();
    let socket: net.Socket | undefined;
    const ws = new WebSocket(`${base.replace('http', 'ws')}/b/000/a/websocket`, {
      // The client's own TCP connection, so the test can stop reading from it.
      createConnection: (options: http.ClientRequestArgs) => (socket = net.connect(options as net.NetConnectOpts)),
    });
    cleanups.push(() => ws.terminate());
    const received: number[] = [];
    ws.on('message', (data) => received.push(...numbersIn(String(data))));
    await new Promise((resolve) => ws.once('message', resolve));
    ws.send(JSON.stringify(['start']));
    await until(() => Producer.last?.done !== undefined, 'the producer to start');
    const producer = Producer.last!;

    socket!.pause();
    await until(() => producer.waiting && producer.bufferedBytes > HIGH_WATER, 'the producer to wait on a full connection', 30_000);
    const sentWhileStalled = producer.sent;
    assert.ok(sentWhileStalled < COUNT, 'the client stopped reading before everything was sent');
    assert.equal(producer.state, SessionState.OPEN);
    // Bounded: never more than the high-water mark plus one message (and its frame).
    assert.ok(producer.maxBuffered <= HIGH_WATER + CHUNK.length + 64, `at most ${producer.maxBuffered} bytes were buffered`);

    socket!.resume();
    assert.equal(await producer.done, true);
    await until(() => received.length === COUNT, 'every message to arrive', 30_000);
    assert.deepEqual(received, Array.from({ length: COUNT }, (_, i) => i));
    assert.ok(producer.waits > 0);
    assert.equal(producer.state, SessionState.OPEN, 'never closed as too slow');
    ws.close();
  });

  it('websocket: a producer resumed by drain() has let the event loop turn, so a client that reads fast cannot starve the process', async () => {
    // A client reading fast over loopback takes every write at once: the batch leaves in a
    // microtask and its write completes synchronously. drain() resolving right there let the
    // README's producer loop run on microtasks alone, so no timer, no incoming data and no
    // close of a client that died was ever handled again (the process spun at full CPU,
    // sending into the void).
    class Eager extends Session {
      static last: Eager | undefined;
      resumedWithoutTurn = 0;
      drained = 0;
      done: Promise<void> | undefined;
      override onMessage(): void {
        Eager.last = this;
        this.done = this.produce();
      }
      async produce(): Promise<void> {
        for (let i = 0; i < 20; i++) {
          if (!this.send(`${i}:${'x'.repeat(1024)}`)) return;
          let turned = false;
          setImmediate(() => (turned = true));
          if (!(await this.drain())) return;
          this.drained++;
          if (!turned) this.resumedWithoutTurn++;
        }
      }
    }
    const app = new Koa();
    app.use(sockjs({ prefix: '/e', session: Eager }));
    const server = await listen(app);
    servers.push(server);
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/e/000/a/websocket`);
    cleanups.push(() => ws.terminate());
    const received: number[] = [];
    ws.on('message', (data) => received.push(...numbersIn(String(data))));
    await new Promise((resolve) => ws.once('message', resolve));
    ws.send(JSON.stringify(['start']));
    await until(() => Eager.last?.done !== undefined, 'the producer to start');
    await Eager.last!.done;
    assert.equal(Eager.last!.drained, 20);
    assert.equal(Eager.last!.resumedWithoutTurn, 0, 'drain() resolved before the event loop turned');
    await until(() => received.length === 20, 'every message to arrive');
    ws.close();
  });

  it('xhr-streaming: the producer waits on a response the client does not read', { timeout: 60_000 }, async () => {
    // One response carries everything: the client stalls on it, it is never cut at the limit.
    const { base } = await start({ responseLimit: 1024 * 1024 * 1024 });
    const url = `${base}/b/000/stream`;
    const stream = open(`${url}/xhr_streaming`);
    cleanups.push(stream.abort);
    const res: http.IncomingMessage = await stream.response;
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    await until(() => text.includes('\no\n'), 'the open frame');
    assert.equal((await post(`${url}/xhr_send`, '["start"]')).status, 204);
    await until(() => Producer.last?.done !== undefined, 'the producer to start');
    const producer = Producer.last!;

    res.pause();
    await until(() => producer.waiting && producer.bufferedBytes > HIGH_WATER, 'the producer to wait on a full response', 30_000);
    assert.ok(producer.sent < COUNT);
    assert.ok(producer.maxBuffered <= HIGH_WATER + CHUNK.length + 64, `at most ${producer.maxBuffered} bytes were buffered`);

    res.resume();
    assert.equal(await producer.done, true);
    await until(() => text.includes(`"${COUNT - 1}:`), 'the last message', 30_000);
    assert.equal(producer.state, SessionState.OPEN);
    stream.abort();
  });

  it('polling: what waits in the store for the next poll counts, and a poll releases the producer', async () => {
    const { base, middleware } = await start();
    const url = `${base}/b/000/poll`;
    assert.equal((await post(`${url}/xhr`)).body, 'o\n');
    const [session] = middleware.manager.activeSessions();
    session!.send('y'.repeat(1000));
    session!.send('z');
    assert.equal(session!.bufferedBytes, 1002 + 3);
    let drained: boolean | undefined;
    const draining = session!.drain().then((result) => (drained = result));
    // After this tick's flush the messages wait in the store: still buffered.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(session!.bufferedBytes, 1005);
    assert.equal(drained, undefined);
    assert.equal((await post(`${url}/xhr`)).body, `a["${'y'.repeat(1000)}","z"]\n`);
    assert.equal(await draining, true);
    assert.equal(session!.bufferedBytes, 0);
    assert.equal(await session!.drain(), true, 'nothing buffered: at once');
  });

  it('polling: an answered poll the client does not read counts until it has left; drain() waits for it', async () => {
    const { base, middleware } = await start({ maxBufferedBytes: 64 * 1024 * 1024 });
    const path = '/b/000/deaf/xhr';
    assert.equal((await post(`${base}${path}`)).body, 'o\n');
    const [session] = middleware.manager.activeSessions();
    // 12 MiB: more than the kernel buffers of one loopback connection take.
    const big = 'x'.repeat(12 * 1024 * 1024);
    session!.send(big);
    await new Promise((resolve) => setImmediate(resolve));
    const port = Number(new URL(base).port);
    const socket = net.connect(port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    socket.pause();
    socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    // The poll took the store's queue and was answered; what the kernel did not take is still here.
    await until(() => session!.hits === 1 && session!.bufferedBytes > 0, 'the answered, unread poll to count');
    // The answer and its response head, less what the kernel took.
    assert.ok(session!.bufferedBytes <= big.length + 1024);
    let drained: boolean | undefined;
    const draining = session!.drain(HIGH_WATER).then((result) => (drained = result));
    // Waiting costs nothing meanwhile: no look at the response on every turn of the event loop.
    for (let turn = 0; turn < 5; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(process.getActiveResourcesInfo().filter((resource) => resource === 'Immediate'), []);
    }
    assert.equal(drained, undefined);
    // The client reads: the answer leaves, and the producer may go on.
    const read = new Promise<number>((resolve) => {
      let bytes = 0;
      socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
      socket.on('close', () => resolve(bytes));
      socket.resume();
    });
    assert.equal(await draining, true);
    assert.equal(session!.bufferedBytes, 0);
    assert.ok((await read) > big.length);
    assert.equal(session!.state, SessionState.OPEN);
  });

  it('drain() resolves false once the session closes, and at once on a closed session', async () => {
    const { base, middleware } = await start();
    const url = `${base}/b/000/closing`;
    assert.equal((await post(`${url}/xhr`)).body, 'o\n');
    const [session] = middleware.manager.activeSessions();
    session!.send('waiting for a poll that never comes');
    const draining = session!.drain();
    session!.close();
    assert.equal(await draining, false);
    assert.equal(await session!.drain(), false);
    assert.throws(() => session!.drain(-1), (error) => error instanceof SockjsRangeError && error instanceof RangeError && error.code === 'SOCKJS_ERR_OUT_OF_RANGE');
  });
});
