/**
 * Session semantics of issue 10 (requirement 5), each with the exact input the issue gives:
 * a session that closes itself mid-batch, and sends to a session that is already closed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import Koa from 'koa';
import { Session, SessionState, sockjs, type SockjsManagedOptions } from '../../src/index.js';
import { FakeTimers } from '../helpers/fake-timers.js';
import { post, until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { FrameClient } from '../helpers/ws-client.js';

/** Closes itself on "bye"; records every hook with the state it ran in. */
class Bye extends Session {
  static log: string[] = [];
  override onMessage(message: unknown): void {
    Bye.log.push(`message ${JSON.stringify(message)} in state ${this.state}`);
    if (message === 'bye') this.close(3000, 'Bye');
  }
  override onClose(): void {
    Bye.log.push('close');
  }
}

/** The same, with an async onMessage: later messages wait behind it, then must not run. */
class AsyncBye extends Bye {
  override async onMessage(message: unknown): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    super.onMessage(message);
  }
}

const servers: Listening[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

async function start(options: SockjsManagedOptions<Session> = {}): Promise<string> {
  Bye.log = [];
  const app = new Koa();
  app.use(sockjs({ prefix: '/s', session: Bye, ...options }));
  const server = await listen(app);
  servers.push(server);
  return `${server.url}/s`;
}

describe('a session that closes itself inside onMessage', () => {
  for (const session of [Bye, AsyncBye]) {
    const kind = session === Bye ? 'onMessage' : 'an async onMessage';
    it(`gets no further onMessage for the rest of one xhr_send batch (${kind})`, async () => {
      const base = await start({ session });
      const url = `${base}/000/${randomUUID()}`;
      assert.equal((await post(`${url}/xhr`)).body, 'o\n');
      assert.equal((await post(`${url}/xhr_send`, '["a","bye","b"]')).status, 204);
      await until(() => Bye.log.includes('close'), 'onClose');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(Bye.log, [`message "a" in state ${SessionState.OPEN}`, `message "bye" in state ${SessionState.OPEN}`, 'close']);
      assert.equal((await post(`${url}/xhr`)).body, 'c[3000,"Bye"]\n');
    });

    it(`gets no further onMessage for the rest of one websocket frame (${kind})`, async () => {
      const base = await start({ session });
      const client = new FrameClient(`${base}/0/0/websocket`);
      await client.waitFor(1);
      client.ws.send('["a","bye","b"]');
      await client.closed;
      await until(() => Bye.log.includes('close'), 'onClose');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(Bye.log, [`message "a" in state ${SessionState.OPEN}`, `message "bye" in state ${SessionState.OPEN}`, 'close']);
      assert.deepEqual(client.frames, ['o', 'c[3000,"Bye"]']);
    });
  }
});

describe('a send to a session that is already closed', () => {
  for (const [transport, body, headers] of [
    ['xhr_send', '["late"]', {}],
    ['jsonp_send', 'd=%5B%22late%22%5D', { 'Content-Type': 'application/x-www-form-urlencoded' }],
  ] as const) {
    it(`is refused with 404, like one to an unknown session, and reaches no hook (${transport})`, async () => {
      const timers = new FakeTimers();
      const base = await start({ timers });
      const url = `${base}/000/${randomUUID()}`;
      await post(`${url}/xhr`);
      await post(`${url}/xhr_send`, '["bye"]');
      // Closed, still serving its close frame: the send is refused.
      const refused = await post(`${url}/${transport}`, body, headers);
      assert.equal(refused.status, 404);
      assert.equal(refused.body, 'No such session.');
      // After disconnectDelay, the same.
      timers.advance(5_000);
      assert.equal((await post(`${url}/${transport}`, body, headers)).status, 404);
      assert.deepEqual(Bye.log, [`message "bye" in state ${SessionState.OPEN}`, 'close']);
    });
  }
});
