/**
 * sockjs-client in Node over its HTTP transports, with koa-body (and a real app's other
 * middleware) mounted before sockjs(): every message echoed, in order, nothing hangs, no error
 * reaches the app (issue 11).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listen } from '../helpers/listen.js';
import { TestClient } from '../helpers/sockjs-client.js';
import { realApp } from './real-app.js';

const MESSAGES = ['hello', '', 'ünïcödé ☃ 😀', '\u2028', '"quoted"', '[1,2]', 'x'.repeat(30_000), 'd=not a form', 'last'];

describe('sockjs-client in Node behind koa-body and friends', { timeout: 60_000 }, () => {
  for (const transport of ['xhr-streaming', 'xhr-polling', 'eventsource']) {
    it(`${transport}: echoes every message in order`, async () => {
      const { app, route, errors, logged } = realApp();
      const server = await listen(app);
      try {
        const client = new TestClient(`${server.url}/echo`, transport, { timeout: 10_000 });
        await client.opened;
        assert.equal(client.transport, transport);
        for (const message of MESSAGES) client.send(message);
        assert.deepEqual(await client.waitFor(MESSAGES.length), MESSAGES);
        await client.close();
        assert.deepEqual(errors, []);
        assert.ok(logged.some((line) => line.includes('xhr_send')));
      } finally {
        await route.close();
        await server.close();
      }
    });
  }
});
