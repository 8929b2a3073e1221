/**
 * Graceful shutdown, route.close({ timeout }): new sessions are refused at once (503 over
 * HTTP, refused websocket upgrades), existing sessions are served while receivers take what is
 * queued, then what is left is closed with 1001. Sessions on every transport; a fake clock.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import Koa from 'koa';
import { WebSocket } from 'ws';
import { Session, SessionState, sockjs, type SockjsManagedOptions } from '../../src/index.js';
import { FakeTimers } from '../helpers/fake-timers.js';
import { open, post, request, until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { EXPECTED, Hixie76Client, KEY1, KEY2 } from '../helpers/hixie76-client.js';
import { RawHttpConnection } from '../conformance/helpers.js';
import { Hixie76Parser } from '../../src/transports/shared/hixie76.js';
import { MemoryStore } from '../../src/index.js';
import { overriding } from '../helpers/session-harness.js';
import { SharedMemoryStore } from '../helpers/shared-memory-store.js';
import { FrameClient } from '../helpers/ws-client.js';
import { TestClient } from '../helpers/sockjs-client.js';

const GOING_AWAY = 'c[1001,"Server is shutting down"]';

class Echo extends Session {
  static hooks: string[] = [];
  override onMessage(message: unknown): void {
    this.send(message);
  }
  override onClose(): void {
    Echo.hooks.push(`close ${this.transport}`);
  }
}

const servers: Listening[] = [];
const aborts: Array<() => void> = [];
after(async () => {
  for (const abort of aborts) abort();
  for (const server of servers) await server.close();
});

async function start(options: SockjsManagedOptions<Session> = {}): Promise<{ base: string; middleware: ReturnType<typeof sockjs>; timers: FakeTimers }> {
  Echo.hooks = [];
  const timers = new FakeTimers();
  const app = new Koa();
  const middleware = sockjs({ prefix: '/s', session: Echo, timers, ...options });
  app.use(middleware);
  const server = await listen(app);
  servers.push(server);
  return { base: `${server.url}/s`, middleware, timers };
}

/** A streaming response, read as it comes. */
async function stream(url: string, method = 'POST'): Promise<{ text: () => string; ended: Promise<void> }> {
  const opened = open(url, { method });
  aborts.push(opened.abort);
  const res: http.IncomingMessage = await opened.response;
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (text += chunk));
  const ended = new Promise<void>((resolve) => res.once('end', resolve));
  return { text: () => text, ended };
}

function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace('http', 'ws'));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('error', () => {});
  });
}

describe('route.close({ timeout })', () => {
  it('refuses new sessions, lets a poll take what is queued, then closes every transport with 1001', async () => {
    const { base, middleware } = await start();
    const manager = middleware.manager;

    const ws = new FrameClient(`${base}/000/ws/websocket`);
    await ws.waitFor(1);
    const xhrStream = await stream(`${base}/000/xs/xhr_streaming`);
    const eventsource = await stream(`${base}/000/es/eventsource`, 'GET');
    const htmlfile = await stream(`${base}/000/hf/htmlfile?c=cb`, 'GET');
    assert.equal((await post(`${base}/000/poll/xhr`)).body, 'o\n');
    assert.equal((await request(`${base}/000/jsonp/jsonp?c=cb`)).body, '/**/cb("o");\r\n');
    await until(() => manager.activeSessions().length === 6, 'six sessions');
    const poll = manager.activeSessions().find((session) => session.transport === 'xhr-polling')!;
    poll.send('queued');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(poll.bufferedBytes, '"queued"'.length);

    let closed = false;
    const closing = middleware.close({ timeout: 60_000 }).then(() => (closed = true));
    assert.equal(manager.draining, true);

    // New sessions: refused, over HTTP and over websocket.
    const refused = await post(`${base}/000/newcomer/xhr`);
    assert.equal(refused.status, 503);
    assert.equal(refused.body, 'Server is shutting down.');
    assert.equal((await request(`${base}/000/newcomer/eventsource`)).status, 503);
    assert.equal(await upgradeStatus(`${base}/000/newcomer/websocket`), 503);
    assert.equal(await upgradeStatus(`${base}/websocket`), 503);
    assert.equal(manager.stats().refusals.draining, 4);
    // Existing sessions are still served: an echo over the websocket.
    ws.send('still here');
    assert.equal((await ws.waitFor(2))[1], 'a["still here"]');
    assert.equal(closed, false, 'a poll still has a message to take');

    // The polling client comes back and takes its message; nothing else is queued anywhere.
    assert.equal((await post(`${base}/000/poll/xhr`)).body, 'a["queued"]\n');
    // The two polling clients are between two polls: they get the close frame from their next
    // one, which the route waits for (here, before or after it closed the sessions).
    assert.equal((await post(`${base}/000/poll/xhr`)).body, `${GOING_AWAY}\n`);
    assert.equal(closed, false, 'the jsonp client has not had its close frame yet');
    assert.equal((await request(`${base}/000/jsonp/jsonp?c=cb`)).body, `/**/cb(${JSON.stringify(GOING_AWAY)});\r\n`);
    await closing;

    assert.deepEqual((await ws.closed).code, 1000);
    assert.equal(ws.frames.at(-1), GOING_AWAY);
    await Promise.all([xhrStream.ended, eventsource.ended, htmlfile.ended]);
    assert.ok(xhrStream.text().endsWith(`${GOING_AWAY}\n`), xhrStream.text());
    assert.ok(eventsource.text().endsWith(`data: ${GOING_AWAY}\r\n\r\n`), eventsource.text());
    assert.ok(htmlfile.text().includes(JSON.stringify(GOING_AWAY)), htmlfile.text());
    assert.equal(manager.size, 0);
    assert.deepEqual(manager.stats().sessions.closedByCode, { 1001: 6 });
    assert.equal(Echo.hooks.length, 6, 'every session saw its close');
  });

  it('waits for a websocket of every kind (ws, raw, hixie-76) whose client reads slowly', { timeout: 60_000 }, async () => {
    const { base, middleware } = await start();
    const manager = middleware.manager;
    // Three clients on sockets the test can stop reading from.
    const sockets: net.Socket[] = [];
    const received: Record<string, string[]> = { websocket: [], 'websocket-raw': [], hixie76: [] };
    const closed: Array<Promise<unknown>> = [];
    for (const [kind, url] of [
      ['websocket', `${base}/000/ws/websocket`],
      ['websocket-raw', `${base}/websocket`],
    ] as const) {
      const ws = new WebSocket(url.replace('http', 'ws'), {
        createConnection: (options: http.ClientRequestArgs) => {
          const socket = net.connect(options as net.NetConnectOpts);
          sockets.push(socket);
          return socket;
        },
      });
      aborts.push(() => ws.terminate());
      ws.on('message', (data) => received[kind]!.push(String(data)));
      closed.push(new Promise((resolve) => ws.once('close', resolve)));
      await new Promise((resolve) => ws.once('open', resolve));
    }
    const hixie = await Hixie76Client.open(`${base}/000/hixie/websocket`);
    aborts.push(() => hixie.connection.close());
    sockets.push(hixie.connection.socket);
    closed.push(
      (async () => {
        for (let text = await hixie.recv(); text !== undefined; text = await hixie.recv()) received.hixie76!.push(text);
      })(),
    );
    await until(() => manager.activeSessions().length === 3, 'three sessions');

    // The clients stop reading; each session sends until its connection holds a backlog.
    for (const socket of sockets) socket.pause();
    const chunk = 'z'.repeat(256 * 1024);
    const sent = new Map<Session, number>();
    for (const session of manager.activeSessions()) {
      let count = 0;
      while (session.bufferedBytes < 1024 * 1024) {
        session.send(`${count++}:${chunk}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      sent.set(session, count);
    }

    let done = false;
    const closing = middleware.close({ timeout: 60_000 }).then(() => (done = true));
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(done, false, 'the route waits while a client has not read what it was sent');
    for (const session of manager.activeSessions()) assert.ok(session.bufferedBytes > 0);

    for (const socket of sockets) socket.resume();
    await closing;
    await Promise.all(closed);
    const counts = [...sent.values()];
    const messages = (frames: string[]): number => frames.filter((frame) => frame.includes(`:${chunk.slice(0, 16)}`)).length;
    assert.equal(received['websocket-raw']!.filter((text) => text.endsWith(chunk)).length, counts[1]);
    assert.equal(messages(received.websocket!), counts[0]);
    assert.equal(received.websocket!.at(-1), GOING_AWAY);
    assert.equal(messages(received.hixie76!), counts[2]);
    assert.equal(received.hixie76!.at(-1), GOING_AWAY);
    assert.deepEqual(manager.stats().sessions.closedByCode, { 1001: 3 });
  });

  it('refuses a new session whose admission was under way when close() came (a slow use middleware)', async () => {
    let entered = 0;
    let letThrough!: () => void;
    const held = new Promise<void>((resolve) => (letThrough = resolve));
    const { base, middleware } = await start({
      use: [
        async (_ctx, next) => {
          entered++;
          await held;
          await next();
        },
      ],
    });
    const eventsource = open(`${base}/000/es/eventsource`, { method: 'GET' });
    aborts.push(eventsource.abort);
    const poll = post(`${base}/000/poll/xhr`);
    const upgrades = Promise.all([upgradeStatus(`${base}/000/ws/websocket`), upgradeStatus(`${base}/websocket`)]);
    await until(() => entered === 4, 'four requests in the use chain');
    const closing = middleware.close({ timeout: 60_000 });
    letThrough();
    // Not a stream left open on a closed route (nor a 101 for a websocket ws would cut).
    assert.equal((await eventsource.response).statusCode, 503);
    assert.deepEqual(await poll, { ...(await poll), status: 503, body: 'Server is shutting down.' });
    assert.deepEqual(await upgrades, [503, 503]);
    await closing;
    assert.equal(middleware.manager.size, 0);
    assert.deepEqual(Echo.hooks, [], 'no session opened');
    assert.equal(middleware.manager.stats().refusals.draining, 4);
  });

  it('a hixie-76 upgrade: refused with 503 while draining; one whose key came after close() gets the close frame and no session', async () => {
    const { base, middleware } = await start();
    const url = new URL(`${base}/000/hixie/websocket`);
    const hixieHeaders = { Connection: 'Upgrade', Upgrade: 'WebSocket', Origin: url.origin, 'Sec-WebSocket-Key1': KEY1, 'Sec-WebSocket-Key2': KEY2 };
    // The client sends its headers, then takes its time with the 8 bytes of key3.
    const slow = await RawHttpConnection.open(url.href);
    aborts.push(() => slow.close());
    assert.equal((await slow.request('GET', url.pathname, { headers: hixieHeaders })).status, 101);
    await middleware.close();
    slow.write('aaaaaaaa');
    assert.deepEqual(await slow.read(16), EXPECTED);
    const texts: string[] = [];
    const parser = new Hixie76Parser(1 << 20, (text) => texts.push(text));
    while (texts.length === 0) {
      const chunk = await slow.readSome();
      if (chunk.length === 0) break;
      parser.push(chunk);
    }
    // The first frame is the close frame (not `o`), and the server closes the connection.
    assert.deepEqual(texts, [GOING_AWAY]);
    while ((await slow.readSome()).length > 0);
    assert.equal(middleware.manager.size, 0);
    assert.deepEqual(Echo.hooks, [], 'no session opened');

    const late = await RawHttpConnection.open(url.href);
    aborts.push(() => late.close());
    assert.equal((await late.request('GET', url.pathname, { headers: hixieHeaders })).status, 503);
    assert.equal(middleware.manager.stats().refusals.draining, 2);
  });

  it('a poll whose session the store was still creating when close() came gets the close frame, and no session', async () => {
    let created!: () => void;
    const creating = new Promise<void>((resolve) => (created = resolve));
    let asked = false;
    // A store whose create answers when the test says (a networked store's round trip).
    const store = overriding(new MemoryStore(), {
      create: async (original, key, record, ttl) => {
        asked = true;
        await creating;
        return original(key, record, ttl);
      },
    });
    const { base, middleware } = await start({ store });
    const poll = post(`${base}/000/slow/xhr`);
    await until(() => asked, 'the store asked to create the session');
    const closing = middleware.close();
    created();
    assert.equal((await poll).body, `${GOING_AWAY}\n`);
    await closing;
    assert.equal(middleware.manager.size, 0);
    assert.deepEqual(Echo.hooks, [], 'no session opened');
    assert.equal(middleware.manager.stats().refusals.draining, 1);
  });

  it('on a shared store, send() and drain() on a session handed over answer false: nothing more goes out here', async () => {
    const store = new SharedMemoryStore();
    const { base, middleware } = await start({ store });
    assert.equal((await post(`${base}/000/moving/xhr`)).body, 'o\n');
    const [session] = middleware.manager.activeSessions();
    assert.equal(session!.send('before'), true);
    await middleware.close();
    // Handed over, not closed: its record and queue stay for the process that adopts it.
    assert.equal(session!.state, SessionState.OPEN);
    assert.equal(session!.send('after'), false, 'a producer of this process must learn the message went nowhere');
    // Not a wait for ever: what the session queued is the adopting process's to deliver.
    assert.equal(await session!.drain(), false);
  });

  it('closes what is still queued with 1001 once the timeout ends', async () => {
    const { base, middleware, timers } = await start();
    assert.equal((await post(`${base}/000/idle/xhr`)).body, 'o\n');
    const [session] = middleware.manager.activeSessions();
    session!.send('never taken');
    await new Promise((resolve) => setImmediate(resolve));

    let closed = false;
    const closing = middleware.close({ timeout: 3000 }).then(() => (closed = true));
    timers.advance(2999);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, false);
    assert.equal(session!.state, SessionState.OPEN);
    timers.advance(1);
    await closing;
    assert.equal(session!.state, SessionState.CLOSED);
    assert.deepEqual(middleware.manager.stats().sessions.closedByCode, { 1001: 1 });
  });

  it('a polling client between two polls gets 1001 from its next poll while the timeout lasts, not the closed route\'s 503', async () => {
    const { base, middleware, timers } = await start();
    const manager = middleware.manager;
    assert.equal((await post(`${base}/000/back/xhr`)).body, 'o\n');
    assert.equal((await post(`${base}/000/gone/xhr`)).body, 'o\n');
    let closed = false;
    const closing = middleware.close({ timeout: 5000 }).then(() => (closed = true));
    // Nothing is queued: both sessions are closed at once, and the route waits for their polls.
    await until(() => manager.size === 0, 'the sessions to be closed');
    assert.equal((await post(`${base}/000/back/xhr`)).body, `${GOING_AWAY}\n`);
    // A client that does not come back holds the shutdown until the timeout ends, no longer.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, false);
    timers.advance(5000);
    await closing;
    assert.deepEqual(manager.stats().sessions.closedByCode, { 1001: 2 });
    // Closed: the route answers 503 now.
    assert.equal((await post(`${base}/000/gone/xhr`)).status, 503);
  });

  it('/info answers 503 while draining, so a new sockjs-client gives up at once instead of trying each transport', async () => {
    const { base, middleware } = await start();
    const manager = middleware.manager;
    assert.equal((await request(`${base}/info`)).status, 200);
    const ws = new FrameClient(`${base}/000/ws/websocket`);
    await ws.waitFor(1);
    const closing = middleware.close({ timeout: 60_000 });

    const info = await request(`${base}/info`);
    assert.equal(info.status, 503);
    assert.equal(info.body, 'Server is shutting down.');
    // A preflight is still answered: the browser then sees the 503 of the GET itself.
    assert.equal((await request(`${base}/info`, { method: 'OPTIONS' })).status, 204);
    const client = new TestClient(base, 'websocket');
    assert.deepEqual(await client.closed, { code: 1002, reason: 'Cannot connect to server' });
    assert.equal(manager.stats().refusals.draining, 2, 'both GET /info');
    ws.close();
    await closing;
  });

  it('the 503s of a draining route carry CORS headers, so a cross-origin page can read them (/info and a new session\'s poll)', async () => {
    const { base, middleware } = await start({ origins: ['*'] });
    const ws = new FrameClient(`${base}/000/ws/websocket`);
    await ws.waitFor(1);
    const closing = middleware.close({ timeout: 60_000 });
    const headers = { Origin: 'https://app.example.com' };
    for (const [method, url] of [['GET', `${base}/info`], ['POST', `${base}/000/new/xhr`]] as const) {
      const answer = await request(url, { method, headers });
      assert.equal(answer.status, 503, url);
      assert.equal(answer.headers['access-control-allow-origin'], 'https://app.example.com', `${method} ${url}`);
      assert.equal(answer.headers['access-control-allow-credentials'], 'true', `${method} ${url}`);
    }
    ws.close();
    await closing;
  });

  it('without a timeout closes at once; closing twice is one shutdown', async () => {
    const { base, middleware } = await start();
    const ws = new FrameClient(`${base}/000/a/websocket`);
    await ws.waitFor(1);
    const first = middleware.close();
    const second = middleware.close({ timeout: 5000 });
    // One shutdown: the second call (its options too) joins the first.
    assert.equal(middleware.manager.close(), middleware.manager.close({ timeout: 1 }));
    await Promise.all([first, second]);
    await ws.closed;
    assert.equal(ws.frames.at(-1), GOING_AWAY);
  });

  it('refuses a timeout that is not a number of milliseconds', async () => {
    const { middleware } = await start();
    await assert.rejects(middleware.close({ timeout: -5 }), /timeout/);
    assert.equal(middleware.manager.draining, false, 'a mistaken call does not start a shutdown');
    await middleware.close();
    assert.equal(middleware.manager.draining, true);
  });
});
