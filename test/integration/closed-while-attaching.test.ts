/**
 * A session that closes while a receiving request is still claiming it (a networked store
 * answers the claim later) must still be removed after disconnectDelay. The soak on Redis found
 * such sessions held for ever: the request attached, found the session closed, served its close
 * frame and left, and with it went the only timer that would have removed the session.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import Koa from 'koa';
import { MemoryStore, Session, SessionState, sockjs, type SessionStore } from '../../src/index.js';
import { FakeTimers } from '../helpers/fake-timers.js';
import { post, until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';

let removed = 0;
class Tracked extends Session {
  override onRemove(): void {
    removed++;
  }
}

/**
 * A MemoryStore whose receiver claims (with or without the outgoing mailbox) wait until the test
 * lets them through, as a networked store's do.
 */
function slowClaims(store: MemoryStore): { store: SessionStore; pending: Array<() => void> } {
  const pending: Array<() => void> = [];
  const claim = store.claimReceiver.bind(store);
  const claimAndTake = store.claimAndTake.bind(store);
  const slow: SessionStore['claimReceiver'] = (key, token, ttlMs) => new Promise((resolve) => pending.push(() => resolve(claim(key, token, ttlMs))));
  const slowTaking: NonNullable<SessionStore['claimAndTake']> = (key, token, ttlMs) =>
    new Promise((resolve) => pending.push(() => resolve(claimAndTake(key, token, ttlMs))));
  Object.assign(store, { claimReceiver: slow, claimAndTake: slowTaking });
  return { store, pending };
}

const servers: Listening[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

it('a session closed while a poll was claiming it is removed after disconnectDelay all the same', async () => {
  const timers = new FakeTimers();
  const { store, pending } = slowClaims(new MemoryStore({ now: () => timers.now() }));
  const route = sockjs({ prefix: '/s', session: Tracked, store, timers, disconnectDelay: 5_000, heartbeatDelay: 0 });
  const app = new Koa();
  app.use(route);
  const server = await listen(app);
  servers.push(server);
  try {
    const url = `${server.url}/s/000/closing/xhr`;
    assert.equal((await post(url)).body, 'o\n');
    const [session] = route.manager.activeSessions();
    assert.ok(session);
    // The next poll waits for its claim; meanwhile the application closes the session.
    const poll = post(url);
    await until(() => pending.length === 1, 'the poll to ask for its claim');
    session.close(3000, 'Go away!');
    pending.shift()!();
    assert.equal((await poll).body, 'c[3000,"Go away!"]\n');
    assert.equal(session.state, SessionState.CLOSED);
    timers.advance(5_000);
    await until(() => removed === 1, 'the closed session to be removed');
    assert.equal(route.manager.size, 0);
  } finally {
    await route.close();
  }
});
