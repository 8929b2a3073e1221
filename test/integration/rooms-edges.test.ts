/**
 * Rooms on one process at their edges (issue 16, adversary pass): selections of many rooms,
 * membership racing the end of a session, and what is left once sessions are gone.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Koa from 'koa';
import { MemoryStore, Session, SessionManager, sockjs, type Unsubscribe } from '../../src/index.js';
import { until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { FakeTimers } from '../helpers/fake-timers.js';
import { SharedMemoryStore } from '../helpers/shared-memory-store.js';
import { FrameClient } from '../helpers/ws-client.js';

/** Counts the room topics a store is subscribed to now. */
class CountingStore extends SharedMemoryStore {
  roomSubscriptions = 0;
  override subscribe(topic: string, listener: (payload: string) => void): Unsubscribe {
    const stop = super.subscribe(topic, listener);
    if (!topic.startsWith('room:')) return stop;
    this.roomSubscriptions++;
    return () => {
      this.roomSubscriptions--;
      return stop();
    };
  }
}

/**
 * Joins ten rooms on open; in onClose and onClosed (it has left them: the close frame and the
 * leaving come before onClose, but `rooms` still names them) tries to join and leave more.
 */
class Busy extends Session {
  static seen: string[] = [];
  override async onOpen(): Promise<void> {
    await Promise.all(Array.from({ length: 10 }, (_, i) => this.join(`room-${i}`)));
    this.send('joined');
  }
  override onClose(): void {
    void this.join('late');
    Busy.seen.push(`onClose: ${this.rooms.size} rooms${this.rooms.has('late') ? ', late' : ''}`);
  }
  override onClosed(): void {
    void this.join('later');
    Busy.seen.push(`onClosed: ${this.rooms.size} rooms${this.rooms.has('later') ? ', later' : ''}, left room-0: ${this.leave('room-0')}`);
  }
}

const servers: Listening[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

describe('rooms at the edges, one process', () => {
  it('selections of 50 000 rooms are built in linear time (they took seconds each, O(rooms²))', async () => {
    const manager = new SessionManager({ name: 'many', session: Session, store: new MemoryStore({ maxSessions: 10 }) });
    try {
      const rooms = Array.from({ length: 50_000 }, (_, i) => `room-${i}`);
      const started = performance.now();
      const selection = manager.to(rooms).to(rooms).except(rooms).except(rooms.slice(1));
      manager.except(rooms);
      manager.in([...rooms, ...rooms]);
      const elapsed = performance.now() - started;
      // Linear: tens of milliseconds on a loaded machine; quadratic was over 25 s here.
      assert.ok(elapsed < 3000, `${Math.round(elapsed)} ms`);
      assert.equal(selection.size, 0);
    } finally {
      await manager.close();
    }
  });

  it('a session leaves every room when it ends (before onClose, which still sees their names); joins in onClose and onClosed add nothing; nothing is left subscribed', async () => {
    Busy.seen = [];
    const store = new CountingStore();
    const errors: string[] = [];
    const route = sockjs({ prefix: '/s', session: Busy, store, disconnectDelay: 200, onError: (error, context) => errors.push(`${context}: ${String(error)}`) });
    const app = new Koa();
    app.use(route);
    const server = await listen(app);
    servers.push(server);
    const clients: FrameClient[] = [];
    for (let i = 0; i < 20; i++) {
      const client = new FrameClient(`${server.url}/s/0/${i}/websocket`);
      clients.push(client);
    }
    for (const client of clients) await client.waitFor(2);
    assert.equal(store.roomSubscriptions, 10);
    assert.equal(route.manager.in('room-3').size, 20);
    // Five end from the server's side, in the tick of a broadcast to their room; ten from the client's.
    for (const session of route.manager.activeSessions().slice(0, 5)) session.close();
    route.manager.to('room-1').broadcast('while closing');
    const ended = (client: FrameClient): boolean => client.frames.at(-1)?.startsWith('c[') === true;
    await until(() => clients.filter(ended).length === 5, 'the close frames');
    for (const client of clients.filter((client) => !ended(client)).slice(0, 10)) client.ws.terminate();
    await until(() => route.manager.size === 5, 'the ended sessions to go');
    for (const session of route.manager.activeSessions()) assert.equal(session.rooms.size, 10);
    await route.close();
    assert.equal(route.manager.in(['room-1', 'late', 'later']).size, 0);
    assert.equal(store.roomSubscriptions, 0, 'every room topic unsubscribed');
    assert.deepEqual(new Set(Busy.seen), new Set(['onClose: 10 rooms', 'onClosed: 10 rooms, left room-0: false']));
    assert.equal(Busy.seen.length, 40);
    // After close, a broadcast is dropped: no error, nothing queued.
    route.manager.to('room-1').broadcast('after close');
    route.manager.broadcast('after close');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(errors, []);
  });

  it('onClose tells its rooms goodbye with to([...this.rooms]) on every way a session ends: the others hear it, the leaver does not', async () => {
    class Goodbye extends Session {
      override async onOpen(): Promise<void> {
        await this.join('lobby');
        await this.join(`own-${this.id}`);
        this.send('in');
      }
      override onClose(): void {
        this.manager.to([...this.rooms]).broadcast(`bye from ${[...this.rooms].sort().join('+')}`);
      }
    }
    const route = sockjs({ prefix: '/g', session: Goodbye, disconnectDelay: 200 });
    const app = new Koa();
    app.use(route);
    const server = await listen(app);
    servers.push(server);
    const stayer = new FrameClient(`${server.url}/g/0/stay/websocket`);
    await stayer.waitFor(2);
    const stayerId = route.manager.activeSessions()[0]!.id;
    const ends: Array<[string, (client: FrameClient, session: Session) => void]> = [
      ['server close()', (_client, session) => session.close()],
      ['client gone', (client) => client.ws.terminate()],
      ['expire()', (_client, session) => session.expire()],
    ];
    for (const [how, end] of ends) {
      const leaver = new FrameClient(`${server.url}/g/0/${how.replace(/\W/g, '')}/websocket`);
      await leaver.waitFor(2);
      const session = route.manager.activeSessions().find((candidate) => candidate.id !== stayerId)!;
      const heard = stayer.frames.length;
      end(leaver, session);
      await stayer.waitFor(heard + 1);
      assert.equal(stayer.frames[heard], `a${JSON.stringify([`bye from lobby+own-${session.id}`])}`, how);
      assert.ok(!leaver.frames.some((frame) => frame.includes('bye from')), `${how}: the leaver heard its own goodbye`);
      await until(() => route.manager.size === 1, `${how}: the leaver to go`);
    }
    await route.close();
  });

  it('a room whose store subscription failed is subscribed again on the clock, 1 s then doubling, while it has members', async () => {
    const timers = new FakeTimers();
    const attempts: string[] = [];
    let failures = 3;
    class FlakyStore extends SharedMemoryStore {
      override subscribe(topic: string, listener: (payload: string) => void): Unsubscribe {
        if (topic.startsWith('room:')) {
          attempts.push(`${topic} at ${timers.now()}`);
          if (failures-- > 0) throw new Error('store unreachable');
        }
        return super.subscribe(topic, listener);
      }
    }
    const errors: string[] = [];
    const route = sockjs({ prefix: '/s', session: Session, store: new FlakyStore(), timers, heartbeatDelay: 0, onError: (_error, context) => errors.push(context) });
    const app = new Koa();
    app.use(route);
    const server = await listen(app);
    servers.push(server);
    const client = new FrameClient(`${server.url}/s/0/0/websocket`);
    await client.waitFor(1);
    const [session] = route.manager.activeSessions() as [Session];
    const start = timers.now();
    // A failed subscription is handled once its failure is in (a throw fails like a rejection).
    const advance = async (ms: number): Promise<void> => {
      timers.advance(ms);
      await new Promise((resolve) => setImmediate(resolve));
    };
    await session.join('red');
    await advance(999);
    assert.equal(attempts.length, 1);
    await advance(1);
    await advance(2000);
    await advance(4000);
    assert.deepEqual(attempts, [0, 1000, 3000, 7000].map((at) => `room::red at ${start + at}`));
    assert.deepEqual(errors, Array(3).fill('store subscribe to room red'));
    await advance(60_000);
    assert.equal(attempts.length, 4, 'held: no more attempts');
    // A room that lost its members while failing is not tried again.
    failures = 1;
    await session.join('blue');
    session.leave('blue');
    await advance(60_000);
    assert.equal(attempts.length, 5);
    await client.close();
    await route.close();
  });
});
