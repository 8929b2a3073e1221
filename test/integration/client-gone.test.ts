/**
 * A client dropping a long-lived response mid-write (a closed tab) is normal: Koa's default
 * error handler must not print a stack trace for it, while the app's own 'error' listener
 * still hears it, marked as status 499.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { it } from 'node:test';
import Koa from 'koa';
import { Session, sockjs } from '../../src/index.js';
import { until } from '../helpers/http-client.js';
import { listen } from '../helpers/listen.js';

class Chatty extends Session {
  override onOpen(): void {
    // Keep the response busy so the reset hits a write in progress.
    const tick = (): void => {
      if (this.send('x'.repeat(4000))) setImmediate(tick);
    };
    tick();
  }
}

it('marks a reset streaming response as a client-gone error (499, exposed)', async () => {
  const app = new Koa();
  const errors: Array<{ code?: string; status?: number; expose?: boolean }> = [];
  app.on('error', (error: { code?: string; status?: number; expose?: boolean }) => errors.push(error));
  const route = sockjs({ prefix: '/s', session: Chatty, responseLimit: 1e9 });
  app.use(route);
  const server = await listen(app);
  const socket = net.connect(server.port, '127.0.0.1');
  socket.write('POST /s/0/abc/xhr_streaming HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
  await new Promise((resolve) => socket.once('data', resolve));
  socket.resetAndDestroy();
  await until(() => errors.length > 0 || route.manager.size === 0, 'the server to notice');
  await until(() => route.manager.activeSessions().length === 0, 'the session to close');
  assert.ok(errors.length > 0, "the reset reached the app as an error");
  for (const error of errors) {
    assert.ok(['ECONNRESET', 'EPIPE'].includes(error.code ?? ''), `unexpected ${error.code}`);
    assert.equal(error.status, 499);
    assert.equal(error.expose, true);
  }
  await route.close();
  await server.close();
});
