/**
 * Shutdown leaves nothing running: after sessions on every core transport, closing the route
 * and the server leaves no timer, socket or server handle in the process.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import Koa from 'koa';
import { Session, sockjs } from '../../src/index.js';
import { open, post, until } from '../helpers/http-client.js';
import { listen } from '../helpers/listen.js';
import { FrameClient } from '../helpers/ws-client.js';

class Echo extends Session {
  static last: Echo | undefined;
  override onOpen(): void {
    Echo.last = this;
  }
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

/** Handles other than the test runner's own stdio and its IPC channel. */
function openHandles(): string[] {
  return process.getActiveResourcesInfo().filter((name) => !['TTYWrap', 'PipeWrap', 'FSReqCallback'].includes(name));
}

it('leaves no open handle after route.close() and server.close()', async () => {
  const before = openHandles();
  const app = new Koa();
  const route = sockjs({ prefix: '/echo', session: Echo, heartbeatDelay: 60_000, disconnectDelay: 60_000 });
  app.use(route);
  const server = await listen(app);

  const ws = new FrameClient(`${server.url}/echo/0/0/websocket`);
  await ws.waitFor(1);
  ws.send('x');
  await ws.waitFor(2);

  const url = `${server.url}/echo/000/${randomUUID()}`;
  await post(`${url}/xhr`);
  const polling = Echo.last!;
  const poll = open(`${url}/xhr`);
  await until(() => polling.hits === 1, 'the poll to arrive');
  // An idle polling session with its disconnect timer running, too.
  await post(`${server.url}/echo/000/${randomUUID()}/xhr`);

  await route.close();
  await ws.closed;
  await (await poll.response).resume();
  await server.close();
  await until(() => openHandles().length <= before.length, 'handles to close');
  assert.deepEqual(openHandles(), before);
});
