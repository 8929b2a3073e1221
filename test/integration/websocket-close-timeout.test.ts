/**
 * `websocketCloseTimeout`: a websocket the server closes waits that long for the client's close
 * frame (RFC 6455, 7.1.1), then the connection is cut. A client that is gone or not answering
 * used to keep its connection, and `server.close()` after the route's `close()`, for ws's fixed
 * 30 s (found by an adversary pass on graceful drain, issue 14). ws runs this timer on the real
 * clock, so the tests use a short timeout and await the cut itself.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import Koa from 'koa';
import { WebSocket } from 'ws';
import { DEFAULTS, Session, SockjsOptionError, sockjs, type SockjsManagedOptions } from '../../src/index.js';
import { until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { KEY1, KEY2 } from '../helpers/hixie76-client.js';

const servers: Listening[] = [];
const sockets: net.Socket[] = [];
after(async () => {
  for (const socket of sockets) socket.destroy();
  for (const server of servers) await server.close();
});

async function start(options: SockjsManagedOptions<Session> = {}): Promise<{ port: number; middleware: ReturnType<typeof sockjs>; server: Listening }> {
  const app = new Koa();
  const middleware = sockjs({ prefix: '/p', heartbeatDelay: 0, ...options });
  app.use(middleware);
  const server = await listen(app);
  servers.push(server);
  return { port: server.port, middleware, server };
}

/**
 * A websocket client by hand that reads everything but never answers a close frame (as a client
 * whose page froze, or one behind a connection that died after the handshake). Resolves once
 * the session is open; `frames` is all it has read, `closed` settles when the server cuts it.
 */
async function silentClient(port: string | number, path: string): Promise<{ received: () => string; closed: Promise<void> }> {
  const socket = net.connect(Number(port), '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => {});
  let received = '';
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  // The 101 response, then the open frame: 0x81 0x01 'o' (the raw endpoint sends none).
  await until(() => received.includes('\r\n\r\n'), 'the handshake');
  assert.match(received, /^HTTP\/1\.1 101 /);
  return { received: () => received, closed };
}

/** A close frame from the server (opcode 0x8, FIN set, unmasked): 0x88 and its length. */
const CLOSE_FRAME = /\x88[\x02-\x7d]/;

describe('websocketCloseTimeout', () => {
  for (const path of ['/p/000/aaa/websocket', '/p/websocket']) {
    it(`cuts a client that never answers the close frame once it passes (${path})`, { timeout: 10_000 }, async () => {
      const { port, middleware } = await start({ websocketCloseTimeout: 300 });
      const client = await silentClient(port, path);
      await until(() => middleware.manager.activeSessions().length === 1, 'the session');
      const t0 = performance.now();
      middleware.manager.activeSessions()[0]!.close(3000, 'bye');
      await client.closed;
      // Not before: the client had its chance to answer (timers never fire early).
      assert.ok(performance.now() - t0 >= 290, `cut after ${performance.now() - t0} ms`);
      assert.match(client.received(), CLOSE_FRAME, 'the close frame reached the client first');
    });
  }

  it('cuts a hixie-76 client that never ends its side of the connection (the draft has no close frame to answer)', { timeout: 10_000 }, async () => {
    const { port, middleware, server } = await start({ websocketCloseTimeout: 300 });
    // allowHalfOpen: the client reads the server's FIN and does not answer with its own.
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    sockets.push(socket);
    socket.on('error', () => {});
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    const origin = `http://127.0.0.1:${port}`;
    socket.write(
      `GET /p/000/aaa/websocket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n` +
        `Origin: ${origin}\r\nSec-WebSocket-Key1: ${KEY1}\r\nSec-WebSocket-Key2: ${KEY2}\r\n\r\n`,
    );
    await until(() => received.includes('\r\n\r\n'), 'the handshake');
    socket.write('aaaaaaaa');
    await until(() => middleware.manager.activeSessions().length === 1, 'the session');
    const t0 = performance.now();
    middleware.manager.activeSessions()[0]!.close(3000, 'bye');
    await ended;
    // The client keeps its side open, so it sees no 'close': the server's socket is what must go,
    // and server.close() waits for it.
    servers.splice(servers.indexOf(server), 1);
    await new Promise<void>((resolve, reject) => server.server.close((error) => (error ? reject(error) : resolve())));
    assert.ok(performance.now() - t0 >= 290, `cut after ${performance.now() - t0} ms`);
    assert.ok(received.includes('c[3000,"bye"]\xff\xff\x00'), 'the close frame and the draft\'s goodbye reached the client first');
  });

  it('bounds server.close() after the route\'s close(): the process can exit', { timeout: 10_000 }, async () => {
    const { port, middleware, server } = await start({ websocketCloseTimeout: 300 });
    const client = await silentClient(port, '/p/000/aaa/websocket');
    await until(() => middleware.manager.activeSessions().length === 1, 'the session');
    await middleware.close();
    // server.close() waits for every connection; the silent client's is cut by the route.
    servers.splice(servers.indexOf(server), 1);
    await new Promise<void>((resolve, reject) => server.server.close((error) => (error ? reject(error) : resolve())));
    await client.closed;
  });

  it('a client that answers closes at once, as before', { timeout: 10_000 }, async () => {
    const { port, middleware } = await start({ websocketCloseTimeout: 60_000 });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/p/000/aaa/websocket`);
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    await until(() => middleware.manager.activeSessions().length === 1, 'the session');
    middleware.manager.activeSessions()[0]!.close(3000, 'bye');
    assert.equal(await closed, 1000);
  });

  it('defaults to 5 000 ms and refuses what is not a positive number of milliseconds', () => {
    assert.equal(DEFAULTS.websocketCloseTimeout, 5_000);
    assert.equal(sockjs({ prefix: '/d' }).route.websocketCloseTimeout, 5_000);
    for (const value of [0, -1, Number.NaN, Infinity, 2 ** 31, '100']) {
      assert.throws(() => sockjs({ prefix: '/d', websocketCloseTimeout: value as number }), (error: unknown) => {
        assert.ok(error instanceof SockjsOptionError);
        assert.equal(error.option, 'websocketCloseTimeout');
        return true;
      });
    }
  });
});
