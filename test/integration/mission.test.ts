/**
 * The mission's own examples, as written in the README: the echo session, the chat with
 * join/leave broadcasts, and a plain Koa route reaching the sessions with ctx.sockjs().
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { Session, sockjs } from '../../src/index.js';
import { request } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { TestClient } from '../helpers/sockjs-client.js';

class ChatSession extends Session {
  override onOpen() {
    this.send('Hello');
    this.manager.broadcast('Someone joined.');
  }
  override onMessage(message: unknown) {
    this.manager.broadcast(message);
  }
  override onClose() {
    this.manager.broadcast('Someone left.');
  }
}

class EchoSession extends Session {
  override onMessage(message: unknown) {
    this.send(message);
  }
}

function missionApp(): Koa {
  const app = new Koa();
  app.use(sockjs({ name: 'chat-service', prefix: '/chat', session: ChatSession }));
  app.use(sockjs({ name: 'echo', prefix: '/echo', session: EchoSession }));
  app.use(async (ctx, next) => {
    if (ctx.path !== '/broadcast') return next();
    const message = ctx.query.message;
    if (typeof message === 'string' && message) {
      for (const session of ctx.sockjs('chat-service').activeSessions()) session.send(message);
    }
    ctx.body = 'Message has been sent';
  });
  return app;
}

for (const transport of ['websocket', 'xhr-polling']) {
  describe(`the mission's examples over ${transport}`, () => {
    let server: Listening;
    before(async () => {
      server = await listen(missionApp());
    });
    after(() => server.close());

    it('echoes', async () => {
      const client = new TestClient(`${server.url}/echo`, transport);
      await client.opened;
      client.send('ping');
      assert.deepEqual(await client.waitFor(1), ['ping']);
      await client.close();
    });

    it('chats: greeting, join, messages to everyone, leave', async () => {
      const alice = new TestClient(`${server.url}/chat`, transport);
      await alice.opened;
      assert.deepEqual(await alice.waitFor(2), ['Hello', 'Someone joined.']);
      const bob = new TestClient(`${server.url}/chat`, transport);
      await bob.opened;
      assert.deepEqual(await bob.waitFor(2), ['Hello', 'Someone joined.']);
      assert.deepEqual(await alice.waitFor(3), ['Hello', 'Someone joined.', 'Someone joined.']);
      alice.send('hi bob');
      assert.equal((await bob.waitFor(3))[2], 'hi bob');
      assert.equal((await alice.waitFor(4))[3], 'hi bob');

      const reply = await request(`${server.url}/broadcast?message=${encodeURIComponent('from a plain route')}`);
      assert.equal(reply.body, 'Message has been sent');
      assert.equal((await alice.waitFor(5))[4], 'from a plain route');
      assert.equal((await bob.waitFor(4))[3], 'from a plain route');

      await bob.close();
      assert.equal((await alice.waitFor(6))[5], 'Someone left.');
      await alice.close();
    });
  });
}
