/**
 * Dead websocket peers: a ping goes with every heartbeat; a peer that does not answer within
 * pingTimeout is dropped and its session ends as interrupted (1002). Time runs on a fake clock.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import Koa from 'koa';
import { WebSocket } from 'ws';
import { Session, SessionState, sockjs, type SockjsManagedOptions } from '../../src/index.js';
import { FakeTimers } from '../helpers/fake-timers.js';
import { until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';

const HEARTBEAT = 10_000;

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

/** Echoes each message once the test lets it: an onMessage slow enough to pause reading. */
class SlowEcho extends Session {
  static entered: () => void = () => {};
  static release: Promise<void> = Promise.resolve();
  override async onMessage(message: unknown): Promise<void> {
    SlowEcho.entered();
    await SlowEcho.release;
    this.send(message);
  }
}

/** Arms SlowEcho: `entered` settles when onMessage starts, `release()` lets it finish. */
function holdOnMessage(): { entered: Promise<void>; release: () => void } {
  let release!: () => void;
  SlowEcho.release = new Promise<void>((resolve) => (release = resolve));
  const entered = new Promise<void>((resolve) => (SlowEcho.entered = resolve));
  return { entered, release };
}

const servers: Listening[] = [];
const sockets: Array<{ destroy(): void }> = [];
after(async () => {
  for (const socket of sockets) socket.destroy();
  for (const server of servers) await server.close();
});

async function start(options: SockjsManagedOptions<Session> = {}): Promise<{ url: string; port: number; middleware: ReturnType<typeof sockjs>; timers: FakeTimers }> {
  const timers = new FakeTimers();
  const app = new Koa();
  const middleware = sockjs({ prefix: '/p', session: Echo, timers, heartbeatDelay: HEARTBEAT, ...options });
  app.use(middleware);
  const server = await listen(app);
  servers.push(server);
  return { url: `${server.url.replace('http', 'ws')}/p/000/aaa/websocket`, port: server.port, middleware, timers };
}

/** A ws client that records frames; `autoPong: false` makes it a peer that never answers pings. */
async function connect(url: string, autoPong: boolean): Promise<{ ws: WebSocket; frames: string[]; next: () => Promise<string> }> {
  const ws = new WebSocket(url, { autoPong });
  sockets.push({ destroy: () => ws.terminate() });
  const frames: string[] = [];
  const waiting: Array<(frame: string) => void> = [];
  ws.on('message', (data) => {
    const frame = String(data);
    const waiter = waiting.shift();
    if (waiter) waiter(frame);
    else frames.push(frame);
  });
  ws.on('error', () => {});
  const next = (): Promise<string> => (frames.length ? Promise.resolve(frames.shift()!) : new Promise((resolve) => waiting.push(resolve)));
  assert.equal(await next(), 'o');
  return { ws, frames, next };
}

describe('dead websocket peers', () => {
  it('keeps a peer that answers every ping, heartbeat after heartbeat', async () => {
    const { url, middleware, timers } = await start();
    const client = await connect(url, true);
    for (let beat = 0; beat < 3; beat++) {
      const pinged = new Promise((resolve) => client.ws.once('ping', resolve));
      timers.advance(HEARTBEAT);
      assert.equal(await client.next(), 'h');
      await pinged;
      // The pong left before this message: once its echo is back, the server has the pong.
      client.ws.send(JSON.stringify([`after ping ${beat}`]));
      assert.equal(await client.next(), `a["after ping ${beat}"]`);
    }
    timers.advance(HEARTBEAT - 1);
    assert.equal(middleware.manager.activeSessions().length, 1);
    assert.equal(client.ws.readyState, WebSocket.OPEN);
    client.ws.close();
    await until(() => middleware.manager.size === 0, 'the session to end');
  });

  it('drops a peer that stops answering pings once pingTimeout passes; its session ends as interrupted', async () => {
    const { url, middleware, timers } = await start({ pingTimeout: 3000 });
    const client = await connect(url, false);
    const [session] = middleware.manager.activeSessions();
    const pinged = new Promise((resolve) => client.ws.once('ping', resolve));
    timers.advance(HEARTBEAT);
    await pinged;
    timers.advance(2999);
    assert.equal(session!.state, SessionState.OPEN);
    const closed = new Promise<number>((resolve) => client.ws.once('close', resolve));
    timers.advance(1);
    // Dropped, not closed: a peer that does not answer pings would not answer a close either.
    assert.equal(await closed, 1006);
    await until(() => session!.state === SessionState.CLOSED, 'the session to close');
    assert.deepEqual(middleware.manager.stats().sessions.closedByCode, { 1002: 1 });
  });

  it('notices a half-open connection (a client that reads nothing) within twice heartbeatDelay', async () => {
    const { port, middleware, timers } = await start();
    // A websocket handshake by hand, then the client's socket stops reading: the server's
    // pings pile up unread, as on a connection whose other end vanished without a FIN.
    const socket = net.connect(port, '127.0.0.1');
    sockets.push(socket);
    socket.on('error', () => {});
    socket.write(
      'GET /p/000/aaa/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    let received = '';
    await new Promise<void>((resolve) => {
      const onData = (chunk: Buffer): void => {
        received += chunk.toString('latin1');
        // The 101 response, then the open frame: 0x81 0x01 'o'.
        if (received.includes('\r\n\r\n\x81\x01o')) {
          socket.off('data', onData);
          resolve();
        }
      };
      socket.on('data', onData);
    });
    assert.match(received, /^HTTP\/1\.1 101 /);
    socket.pause();
    const [session] = middleware.manager.activeSessions();
    timers.advance(HEARTBEAT);
    timers.advance(HEARTBEAT - 1);
    assert.equal(session!.state, SessionState.OPEN);
    timers.advance(1);
    await until(() => session!.state === SessionState.CLOSED, 'the session to close');
    assert.deepEqual(middleware.manager.stats().sessions.closedByCode, { 1002: 1 });
  });

  it('keeps a live peer while the server itself stopped reading (a slow onMessage): no ping is due then', async () => {
    // The pong of a ping sent while reading is paused waits unread behind the client's
    // messages: counting it as missing would drop a live client for the server's own slowness.
    const { url, middleware, timers } = await start({ session: SlowEcho, pingTimeout: 3000, incomingHighWaterMark: 1000 });
    const client = await connect(url, true);
    const [session] = middleware.manager.activeSessions();
    const held = holdOnMessage();
    client.ws.send(JSON.stringify(['x'.repeat(2000)]));
    // 2000 bytes wait for onMessage, past the high water mark: the server paused reading.
    await held.entered;
    timers.advance(HEARTBEAT);
    assert.equal(await client.next(), 'h');
    timers.advance(3000);
    assert.equal(session!.state, SessionState.OPEN);
    assert.equal(client.ws.readyState, WebSocket.OPEN);
    held.release();
    assert.equal(await client.next(), `a["${'x'.repeat(2000)}"]`);
    // Reading again: the next heartbeat pings, and the pong is seen.
    const pinged = new Promise((resolve) => client.ws.once('ping', resolve));
    timers.advance(HEARTBEAT - 3000);
    assert.equal(await client.next(), 'h');
    await pinged;
    client.ws.send(JSON.stringify(['after the pong']));
    assert.equal(await client.next(), 'a["after the pong"]');
    timers.advance(3000);
    assert.equal(session!.state, SessionState.OPEN);
    client.ws.close();
    await until(() => middleware.manager.size === 0, 'the session to end');
  });

  it('stops waiting for a pong when the server pauses reading after the ping', async () => {
    const { url, middleware, timers } = await start({ session: SlowEcho, pingTimeout: 3000, incomingHighWaterMark: 1000 });
    const client = await connect(url, false);
    const [session] = middleware.manager.activeSessions();
    const pinged = new Promise((resolve) => client.ws.once('ping', resolve));
    timers.advance(HEARTBEAT);
    await pinged;
    // Messages past the high water mark first: the server pauses reading; then the pong, which
    // stays unread.
    const held = holdOnMessage();
    client.ws.send(JSON.stringify(['y'.repeat(2000)]));
    await held.entered;
    client.ws.pong();
    timers.advance(3000);
    assert.equal(session!.state, SessionState.OPEN);
    held.release();
    assert.equal(await client.next(), 'h');
    assert.equal(await client.next(), `a["${'y'.repeat(2000)}"]`);
    assert.equal(client.ws.readyState, WebSocket.OPEN);
    client.ws.close();
    await until(() => middleware.manager.size === 0, 'the session to end');
  });

  it('sends no pings with pingTimeout 0', async () => {
    const { url, middleware, timers } = await start({ pingTimeout: 0 });
    const client = await connect(url, false);
    let pings = 0;
    client.ws.on('ping', () => pings++);
    timers.advance(HEARTBEAT);
    assert.equal(await client.next(), 'h');
    timers.advance(HEARTBEAT);
    assert.equal(await client.next(), 'h');
    assert.equal(pings, 0);
    assert.equal(middleware.manager.activeSessions().length, 1);
    client.ws.close();
    await until(() => middleware.manager.size === 0, 'the session to end');
  });

  it('refuses a pingTimeout that is not a number of milliseconds', () => {
    assert.throws(() => sockjs({ pingTimeout: -1 }), /pingTimeout/);
  });
});
