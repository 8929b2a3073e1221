/**
 * A store method that throws synchronously fails like one that rejects (issue 9 leftover, issue
 * 13): whichever method it is and wherever the route calls it, the error goes to onError, the
 * request that needed the store gets 503 or the close frame c[3503,"Session store unavailable"]
 * (or, for work no request waits on, nothing), and the process goes on. Every scenario runs
 * twice, with the method rejecting and with it throwing, and expects the same.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import Koa from 'koa';
import { MemoryStore, Session, SessionState, StoreError, sockjs, type SessionRecord, type SessionStore, type SockjsMiddleware, type SockjsOptions, type Unsubscribe } from '../../src/index.js';
import { FakeTimers } from '../helpers/fake-timers.js';
import { open, post, readAll, request, until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { SharedMemoryStore, WatchingMemoryStore } from '../helpers/shared-memory-store.js';
import { FrameClient } from '../helpers/ws-client.js';

type Mode = 'reject' | 'throw';

const STORE_UNAVAILABLE = 'c[3503,"Session store unavailable"]\n';

/** Anything that escaped: the process would have crashed, or logged an unhandled rejection. */
const escaped: unknown[] = [];
const onEscape = (error: unknown): void => void escaped.push(error);
before(() => {
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
});
after(() => {
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
});

class Echo extends Session {
  override onMessage(message: unknown): void {
    if (message === 'close') this.close(3000, 'bye');
    else this.send(message);
  }
}

interface Fixture {
  url: string;
  route: SockjsMiddleware;
  /** The store the route was given (its faults are armed through `fail`). */
  store: SessionStore;
  timers: FakeTimers;
  /** Contexts of the errors reported through onError, with their messages. */
  errors: string[];
  /** From now on, `method` of the store fails (throws or rejects, by the scenario's mode). */
  fail(method: string): void;
  heal(): void;
}

const fixtures: Array<{ route: SockjsMiddleware; server: Listening }> = [];
afterEach(async () => {
  for (const { route, server } of fixtures.splice(0)) {
    await route.close().catch(() => {});
    await server.close();
  }
  assert.deepEqual(escaped.splice(0), [], 'nothing escaped to the process');
});

/** The store under the faults: a MemoryStore by default, on the route's clock. */
type StoreOf = (timers: FakeTimers) => MemoryStore;
const memory: StoreOf = (timers) => new MemoryStore({ now: () => timers.now() });
/** A MemoryStore without the optional claimAndTake: polls claim, then take (the fallback path). */
const withoutClaimAndTake: StoreOf = (timers) => {
  const store = memory(timers);
  Object.defineProperty(store, 'claimAndTake', { value: undefined });
  return store;
};

async function start(mode: Mode, storeOf: StoreOf = memory, options: Partial<SockjsOptions> = {}): Promise<Fixture> {
  const timers = new FakeTimers();
  const base = storeOf(timers);
  let failing: string | undefined;
  const fault = (method: string) => {
    const error = new StoreError(`${method} failed at 10.1.2.3 (internal detail)`);
    return mode === 'throw'
      ? () => {
          throw error;
        }
      : () => Promise.reject(error);
  };
  // A Proxy, so one fixture serves every method, of the core and of the shared capability.
  const store = new Proxy(base, {
    get(target, property) {
      if (property === failing) return fault(property);
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const errors: string[] = [];
  const route = sockjs({
    prefix: '/p',
    session: Echo,
    store,
    timers,
    // Records outlive the disconnect timer (disconnectDelay + 2 heartbeats), as in production.
    heartbeatDelay: 10_000,
    disconnectDelay: 5_000,
    onError: (error, context) => errors.push(`${context}: ${(error as Error).message}`),
    ...options,
  } as SockjsOptions);
  const app = new Koa();
  app.use(route);
  const server = await listen(app);
  fixtures.push({ route, server });
  // The route subscribes to its topics on its first request: before any fault is armed.
  assert.equal((await request(`${server.url}/p/info`)).status, 200);
  return {
    url: `${server.url}/p`,
    route,
    store,
    timers,
    errors,
    fail: (method) => {
      failing = method;
    },
    heal: () => {
      failing = undefined;
    },
  };
}

/** The route still serves a new session from start to end once the store answers again. */
async function stillServes(f: Fixture): Promise<void> {
  f.heal();
  const url = `${f.url}/000/after-${Math.random().toString(36).slice(2)}`;
  assert.equal((await post(`${url}/xhr`)).body, 'o\n');
  assert.equal((await post(`${url}/xhr_send`, '["again"]')).status, 204);
  assert.equal((await post(`${url}/xhr`)).body, 'a["again"]\n');
}

/** Waits until onError heard of `method`'s failure. */
async function reported(f: Fixture, method: string): Promise<void> {
  await until(() => f.errors.some((error) => error.includes(`${method} failed`)), `the failure of ${method} reported`);
  assert.ok(!f.errors.some((error) => !error.includes('internal detail')), `only the store's failures: ${f.errors.join('; ')}`);
}

function record(owner: string): SessionRecord {
  return { id: 'orphan-id', owner, state: SessionState.OPEN, seenAt: Date.now(), transport: 'xhr-polling' };
}

for (const mode of ['reject', 'throw'] as const) {
  describe(`a store method that ${mode === 'throw' ? 'throws synchronously' : 'rejects'}`, () => {
    it('create, for a receiving request: the close frame 3503', async () => {
      const f = await start(mode);
      f.fail('create');
      assert.equal((await post(`${f.url}/000/s/xhr`)).body, STORE_UNAVAILABLE);
      await reported(f, 'create');
      await stillServes(f);
    });

    it('create, for a websocket session: reported, and the session (which needs no record) goes on', async () => {
      const f = await start(mode);
      f.fail('create');
      const client = new FrameClient(`${f.url}/000/ws/websocket`);
      assert.deepEqual(await client.waitFor(1), ['o']);
      client.send('hello');
      assert.deepEqual(await client.waitFor(2), ['o', 'a["hello"]']);
      await reported(f, 'create');
      await client.close();
      await stillServes(f);
    });

    it('get, for a send: 503 "Session store unavailable."', async () => {
      const f = await start(mode);
      f.fail('get');
      const reply = await post(`${f.url}/000/unknown/xhr_send`, '["x"]');
      assert.equal(reply.status, 503);
      assert.equal(reply.body, 'Session store unavailable.');
      await reported(f, 'get');
      await stillServes(f);
    });

    it('get, for a request the identity check looks up: 503', async () => {
      const f = await start(mode, memory, { identity: () => 'alice' });
      assert.equal((await post(`${f.url}/000/bound/xhr`)).body, 'o\n');
      f.fail('get');
      const poll = await post(`${f.url}/000/bound/xhr`);
      assert.equal(poll.status, 503);
      const send = await post(`${f.url}/000/bound/xhr_send`, '["x"]');
      assert.equal(send.status, 503);
      await reported(f, 'get');
      await stillServes(f);
    });

    it('count, under limits.maxSessions: 503', async () => {
      const f = await start(mode, memory, { limits: { maxSessions: 100 } });
      f.fail('count');
      const reply = await post(`${f.url}/000/counted/xhr`);
      assert.equal(reply.status, 503);
      await reported(f, 'count');
      await stillServes(f);
    });

    it('claimAndTake, for a poll: the close frame 3503', async () => {
      const f = await start(mode);
      assert.equal((await post(`${f.url}/000/s/xhr`)).body, 'o\n');
      f.fail('claimAndTake');
      assert.equal((await post(`${f.url}/000/s/xhr`)).body, STORE_UNAVAILABLE);
      await reported(f, 'claimAndTake');
      await stillServes(f);
    });

    it('claimReceiver, for a poll (a store without claimAndTake): the close frame 3503', async () => {
      const f = await start(mode, withoutClaimAndTake);
      assert.equal((await post(`${f.url}/000/s/xhr`)).body, 'o\n');
      f.fail('claimReceiver');
      assert.equal((await post(`${f.url}/000/s/xhr`)).body, STORE_UNAVAILABLE);
      await reported(f, 'claimReceiver');
      await stillServes(f);
    });

    it('take, for a poll (a store without claimAndTake): the poll ends with c[3503], reported', async () => {
      const f = await start(mode, withoutClaimAndTake);
      assert.equal((await post(`${f.url}/000/s/xhr`)).body, 'o\n');
      f.fail('take');
      const poll = await post(`${f.url}/000/s/xhr`);
      assert.equal(poll.status, 200);
      // The close every store failure gets (docs/stores.md, rule 7), not 1002 as if the client left.
      assert.equal(poll.body, 'c[3503,"Session store unavailable"]\n');
      await reported(f, 'take');
      await stillServes(f);
    });

    it('push, queueing a reply between polls: reported; the send is answered 204', async () => {
      const f = await start(mode);
      const url = `${f.url}/000/s`;
      assert.equal((await post(`${url}/xhr`)).body, 'o\n');
      f.fail('push');
      // No poll is attached: the echo would wait in the store's outgoing mailbox.
      assert.equal((await post(`${url}/xhr_send`, '["x"]')).status, 204);
      await reported(f, 'push');
      await stillServes(f);
    });

    it('touch and releaseReceiver, renewing and ending a poll: reported; the poll gets its messages', async () => {
      for (const method of ['touch', 'releaseReceiver']) {
        const f = await start(mode);
        const url = `${f.url}/000/${method}`;
        assert.equal((await post(`${url}/xhr`)).body, 'o\n');
        f.fail(method);
        // The send is a sign of life (touch); the poll that takes its echo releases its claim
        // as it ends (releaseReceiver).
        assert.equal((await post(`${url}/xhr_send`, '["x"]')).status, 204);
        assert.equal((await post(`${url}/xhr`)).body, 'a["x"]\n');
        await reported(f, method);
        await stillServes(f);
      }
    });

    it('update, recording a close: reported; the client still gets the close frame', async () => {
      const f = await start(mode);
      const url = `${f.url}/000/s`;
      assert.equal((await post(`${url}/xhr`)).body, 'o\n');
      f.fail('update');
      assert.equal((await post(`${url}/xhr_send`, '["close"]')).status, 204);
      assert.equal((await post(`${url}/xhr`)).body, 'c[3000,"bye"]\n');
      await reported(f, 'update');
      await stillServes(f);
    });

    it('bury and delete, removing sessions: reported', async () => {
      const f = await start(mode);
      assert.equal((await post(`${f.url}/000/s/xhr`)).body, 'o\n');
      f.fail('bury');
      f.timers.advance(5_000);
      await reported(f, 'bury');
      f.fail('delete');
      const client = new FrameClient(`${f.url}/000/ws/websocket`);
      await client.waitFor(1);
      await client.close();
      await reported(f, 'delete');
      await stillServes(f);
    });

    it('isAlive and update (adoption), for a session whose owner may be dead: the close frame 3503', async () => {
      for (const method of ['isAlive', 'update']) {
        const f = await start(mode, (timers) => new SharedMemoryStore({ now: () => timers.now() }));
        // A session opened by a process that has died since, as another process left it.
        await f.store.create(method, record('a-dead-node'), 60_000);
        f.fail(method);
        assert.equal((await post(`${f.url}/000/${method}/xhr`)).body, STORE_UNAVAILABLE);
        await reported(f, method);
        await stillServes(f);
      }
    });

    it('publish, broadcasting: reported; local sessions still get it', async () => {
      const f = await start(mode, () => new SharedMemoryStore());
      const client = new FrameClient(`${f.url}/000/ws/websocket`);
      await client.waitFor(1);
      f.fail('publish');
      f.route.manager.broadcast('to all');
      assert.deepEqual(await client.waitFor(2), ['o', 'a["to all"]']);
      await reported(f, 'publish');
      await client.close();
      await stillServes(f);
    });

    it('subscribe, on the first request: 503, and the next request subscribes again', async () => {
      const error = new StoreError('subscribe failed at 10.1.2.3 (internal detail)');
      class FailsFirstSubscribe extends SharedMemoryStore {
        #failed = false;
        override subscribe(topic: string, listener: (payload: string) => void): Unsubscribe {
          if (this.#failed) return super.subscribe(topic, listener);
          this.#failed = true;
          if (mode === 'throw') throw error;
          return Promise.reject(error) as unknown as Unsubscribe;
        }
      }
      const errors: string[] = [];
      const route = sockjs({ prefix: '/p', store: new FailsFirstSubscribe(), onError: (e, context) => errors.push(`${context}: ${(e as Error).message}`) });
      const app = new Koa();
      app.use(route);
      const server = await listen(app);
      fixtures.push({ route, server });
      const first = await request(`${server.url}/p/info`);
      assert.equal(first.status, 503);
      assert.equal(first.body, 'Session store unavailable.');
      assert.match(errors[0] ?? '', /subscribe failed/);
      assert.equal((await request(`${server.url}/p/info`)).status, 200);
    });

    it('watch, for a new polling session: reported; the session opens', async () => {
      const f = await start(mode, () => new WatchingMemoryStore());
      f.fail('watch');
      assert.equal((await post(`${f.url}/000/s/xhr`)).body, 'o\n');
      await reported(f, 'watch');
      await stillServes(f);
    });

    it('close, shutting the route down: close() rejects with the error', async () => {
      const f = await start(mode);
      f.fail('close');
      await assert.rejects(f.route.close(), /close failed/);
    });
  });
}

describe('a store that does not implement the contract', () => {
  it('is refused when the route is built, with a SockjsOptionError naming what is missing', () => {
    const core = new MemoryStore();
    const partial = { get: core.get.bind(core), create: core.create.bind(core) } as unknown as SessionStore;
    assert.throws(() => sockjs({ store: partial }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'SOCKJS_ERR_INVALID_OPTION');
      assert.match(error.message, /option "store" lacks update\(\), touch\(\), delete\(\), push\(\), take\(\), claimReceiver\(\), releaseReceiver\(\)/);
      return true;
    });
    assert.throws(() => sockjs({ store: 'redis://localhost' as unknown as SessionStore }), /option "store" must be a session store/);
    const countless = Object.assign(new MemoryStore(), { count: 5 }) as unknown as SessionStore;
    assert.throws(() => sockjs({ store: countless }), /option "store" has count but not as a function/);
  });

  it('declaring itself shared (a nodeId) without the rest of the shared capability is refused', () => {
    class HalfShared extends MemoryStore {
      readonly nodeId = 'half';
      publish(): void {}
    }
    assert.throws(() => sockjs({ store: new HalfShared() }), (error: Error & { code?: string; option?: string }) => {
      assert.equal(error.code, 'SOCKJS_ERR_INVALID_OPTION');
      assert.equal(error.option, 'store');
      assert.match(error.message, /declares itself shared \(it has a nodeId\) but lacks isAlive\(\), subscribe\(\)/);
      return true;
    });
    assert.doesNotThrow(() => sockjs({ store: new SharedMemoryStore() }));
  });

  it('having the shared capability but no nodeId is refused, not run as a store of one process', () => {
    // Taken for an in-process store, its publish/subscribe would go unused: broadcasts, rooms
    // and hand-overs would silently stay inside each process.
    const shared = new SharedMemoryStore();
    const nameless = Object.assign(Object.create(shared) as SharedMemoryStore, { nodeId: undefined });
    assert.throws(() => sockjs({ store: nameless }), (error: Error & { code?: string; option?: string }) => {
      assert.equal(error.option, 'store');
      assert.match(error.message, /option "store" has isAlive\(\), publish\(\), subscribe\(\) of a shared store but no nodeId/);
      return true;
    });
  });
});
