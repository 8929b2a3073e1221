/**
 * The route's store adapter (src/store/adapter.ts, issue 13): what it adds around a store that
 * is not shared (a node id, in-process publish/subscribe, wake-ups after pushes), around a
 * shared store without `watch` (wake-ups over its publish/subscribe) and with one (its own),
 * adoption as a compare-and-set update, count without `count()`, and timing, with a method
 * that throws failing as a rejection.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreAdapter, type StoreMeter } from '../../src/store/adapter.js';
import { MemoryStore } from '../../src/store/memory.js';
import { SessionState } from '../../src/store/session-state.js';
import type { SessionRecord, SessionStore } from '../../src/store/store.js';
import { SharedMemoryStore, WatchingMemoryStore } from '../helpers/shared-memory-store.js';

const TTL = 60_000;

function record(owner: string): SessionRecord {
  return { id: 'id-1', owner, state: SessionState.OPEN, seenAt: 0, transport: 'xhr-polling' };
}

/** Records every timed operation as `<name>` or `<name> failed`. */
class Meter implements StoreMeter {
  readonly done: string[] = [];
  started = 0;
  storeStarted(): void {
    this.started++;
  }
  storeDone(operation: string, _seconds: number, error?: unknown): void {
    this.done.push(error === undefined ? operation : `${operation} failed`);
  }
}

/** A store with only the nine core methods, over `memory` (none of MemoryStore's optional ones). */
function coreOf(memory: MemoryStore): SessionStore {
  return {
    create: (key, r, ttl) => memory.create(key, r, ttl),
    get: (key) => memory.get(key),
    update: (key, patch, owner) => memory.update(key, patch, owner),
    touch: (key, ttl) => memory.touch(key, ttl),
    delete: (key) => memory.delete(key),
    push: (key, mailbox, messages) => memory.push(key, mailbox, messages),
    take: (key, mailbox) => memory.take(key, mailbox),
    claimReceiver: (key, token, ttl) => memory.claimReceiver(key, token, ttl),
    releaseReceiver: (key, token) => memory.releaseReceiver(key, token),
  };
}

function adapt(store: SessionStore, localCount = 0): { adapter: StoreAdapter; meter: Meter; errors: string[] } {
  const meter = new Meter();
  const errors: string[] = [];
  const adapter = new StoreAdapter(store, { meter, localCount: () => localCount, reportError: (error, context) => errors.push(`${context}: ${(error as Error).message}`) });
  return { adapter, meter, errors };
}

/** The same store as another process sees it: another node id, the same records and topics. */
function peerOf(store: SharedMemoryStore): SharedMemoryStore {
  const nodeId = `${store.nodeId}-peer`;
  return new Proxy(store, {
    get(target, property) {
      if (property === 'nodeId') return nodeId;
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('store adapter: a store that is not shared', () => {
  it('gets a node id of its own that only it counts as alive', () => {
    const { adapter } = adapt(new MemoryStore());
    assert.equal(adapter.shared, false);
    assert.match(adapter.nodeId, /^local-[0-9a-f-]{36}$/);
    assert.notEqual(adapt(new MemoryStore()).adapter.nodeId, adapter.nodeId);
    assert.equal(adapter.isAlive(adapter.nodeId), true);
    assert.equal(adapter.isAlive('another-node'), false);
  });

  it('publishes in process, synchronously; a subscriber that throws is reported and the others still hear', () => {
    const { adapter, errors } = adapt(new MemoryStore());
    const heard: string[] = [];
    const stop = adapter.subscribe('t', () => {
      throw new Error('listener bug');
    }) as () => void;
    adapter.subscribe('t', (payload) => heard.push(payload));
    adapter.subscribe('other', (payload) => heard.push(`other ${payload}`));
    adapter.publish('t', 'one');
    assert.deepEqual(heard, ['one']);
    assert.deepEqual(errors, ['subscriber of t: listener bug']);
    stop();
    adapter.publish('t', 'two');
    assert.deepEqual(heard, ['one', 'two']);
    assert.equal(errors.length, 1);
  });

  it('wakes watchers after each push made through it, synchronously, until unwatched', () => {
    const { adapter } = adapt(new MemoryStore());
    adapter.create('k', record(adapter.nodeId), TTL);
    const wakes: string[] = [];
    const unwatch = adapter.watch('k', 'incoming', () => wakes.push('incoming')) as () => void;
    adapter.watch('k', 'outgoing', () => wakes.push('outgoing'));
    adapter.push('k', 'incoming', ['"a"']);
    assert.deepEqual(wakes, ['incoming'], 'woken before push() returns, by its own mailbox only');
    assert.deepEqual(adapter.take('k', 'incoming'), ['"a"']);
    adapter.push('k', 'incoming', []);
    assert.deepEqual(wakes, ['incoming'], 'an empty push wakes nobody');
    unwatch();
    adapter.push('k', 'incoming', ['"b"']);
    assert.deepEqual(wakes, ['incoming']);
  });

  it('wakes watchers after a push that answers later, once it is done', async () => {
    const memory = new MemoryStore();
    const later = new Proxy(memory, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property);
        if (typeof value !== 'function') return value;
        const bound = (value as (...args: unknown[]) => unknown).bind(target);
        return property === 'push' ? (...args: unknown[]) => Promise.resolve().then(() => bound(...args)) : bound;
      },
    });
    const { adapter } = adapt(later);
    adapter.create('k', record(adapter.nodeId), TTL);
    const queued: string[][] = [];
    adapter.watch('k', 'outgoing', () => queued.push(memory.take('k', 'outgoing')));
    const pushed = adapter.push('k', 'outgoing', ['"a"']);
    assert.deepEqual(queued, []);
    await pushed;
    assert.deepEqual(queued, [['"a"']]);
  });

  it('adopts with a compare-and-set update, timed as update', () => {
    const { adapter, meter } = adapt(new MemoryStore());
    adapter.create('k', record('dead-node'), TTL);
    assert.equal(adapter.adopt('k', 'someone-else', adapter.nodeId), false);
    assert.equal(adapter.adopt('k', 'dead-node', adapter.nodeId), true);
    assert.equal((adapter.get('k') as SessionRecord).owner, adapter.nodeId);
    assert.deepEqual(meter.done, ['create', 'update', 'update', 'get']);
  });

  it('counts the sessions of this process when the store has no count(), and closes a store without close()', async () => {
    const memory = new MemoryStore();
    memory.create('k', record('x'), TTL);
    assert.equal(adapt(memory).adapter.count(), 1, "the store's own count");
    const core = coreOf(memory);
    const { adapter } = adapt(core, 7);
    assert.equal(adapter.count(), 7);
    assert.equal(adapter.bury, undefined, 'no bury: the session layer updates and touches instead');
    assert.equal(await adapter.close(), undefined);
  });

  it('claims and takes the outgoing mailbox in one call with claimAndTake, or claims only without it', async () => {
    const memory = new MemoryStore();
    memory.create('k', record('x'), TTL);
    memory.push('k', 'outgoing', ['"a"']);
    const { adapter, meter } = adapt(memory);
    assert.deepEqual(adapter.claimAndTake('k', 't1', TTL), ['"a"'], 'granted: the mailbox, synchronously');
    assert.equal(adapter.claimAndTake('k', 't2', TTL), false, 'refused (null from the store): false');
    assert.deepEqual(meter.done, ['claimAndTake', 'claimAndTake']);
    const core = coreOf(memory);
    memory.push('k', 'outgoing', ['"b"']);
    const fallback = adapt(core);
    assert.equal(fallback.adapter.claimAndTake('k', 't1', TTL), true, 'without claimAndTake: claimed, the mailbox left for the caller');
    assert.equal(fallback.adapter.claimAndTake('k', 't2', TTL), false);
    assert.deepEqual(memory.take('k', 'outgoing'), ['"b"']);
    assert.deepEqual(fallback.meter.done, ['claimReceiver', 'claimReceiver']);
  });

  it('does not use an inherited claimAndTake when take or claimReceiver is overridden below it (a MemoryStore subclass)', () => {
    // A subclass that filters what `take` answers: the inherited claimAndTake would bypass it.
    class Redacting extends MemoryStore {
      override take(key: string, mailbox: 'incoming' | 'outgoing'): string[] {
        return super.take(key, mailbox).filter((message) => message !== '"secret"');
      }
    }
    const store = new Redacting();
    store.create('k', record('x'), TTL);
    store.push('k', 'outgoing', ['"a"', '"secret"']);
    const { adapter, meter } = adapt(store);
    assert.equal(adapter.claimAndTake('k', 't1', TTL), true, 'claimed only: the caller takes through the override');
    assert.deepEqual(meter.done, ['claimReceiver']);
    assert.deepEqual(adapter.take('k', 'outgoing'), ['"a"']);

    // A subclass that also writes its own claimAndTake is trusted with it.
    class Combined extends Redacting {
      override claimAndTake(key: string, token: string, ttlMs: number): string[] | null {
        return this.claimReceiver(key, token, ttlMs) ? this.take(key, 'outgoing') : null;
      }
    }
    const combined = new Combined();
    combined.create('k', record('x'), TTL);
    combined.push('k', 'outgoing', ['"secret"', '"b"']);
    assert.deepEqual(adapt(combined).adapter.claimAndTake('k', 't1', TTL), ['"b"']);

    // Patched on the instance after the route started (as the faulty-store tests do): decided again.
    const patched = new MemoryStore();
    patched.create('k', record('x'), TTL);
    patched.push('k', 'outgoing', ['"c"']);
    const late = adapt(patched);
    patched.take = () => ['"patched"'];
    assert.equal(late.adapter.claimAndTake('k', 't1', TTL), true);
    assert.deepEqual(late.adapter.take('k', 'outgoing'), ['"patched"']);
  });

  it('turns a method that throws into a rejection, timed as a failure', async () => {
    const memory = new MemoryStore();
    const throwing = new Proxy(memory, {
      get(target, property) {
        if (property === 'take') {
          return () => {
            throw new Error('take threw');
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const { adapter, meter } = adapt(throwing);
    let taken: unknown;
    assert.doesNotThrow(() => {
      taken = adapter.take('k', 'outgoing');
    });
    await assert.rejects(taken as Promise<string[]>, /take threw/);
    assert.deepEqual(meter.done, ['take failed']);
  });
});

describe('store adapter: a shared store', () => {
  for (const how of ['throws', 'rejects'] as const) {
    it(`without watch: a wake-up publish that ${how} after a push that succeeded is reported, and the push succeeds (the message is stored)`, async () => {
      class FailingPublish extends SharedMemoryStore {
        override publish(topic: string, payload: string): void {
          if (!topic.startsWith('wake:')) return super.publish(topic, payload);
          const error = new Error('publish failed');
          if (how === 'throws') throw error;
          return Promise.reject(error) as unknown as void;
        }
      }
      const store = new FailingPublish();
      const { adapter, errors } = adapt(store);
      await adapter.create('k', record(store.nodeId), TTL);
      // Resolves: a rejection here would answer the send 503 and have the client send it again.
      await adapter.push('k', 'incoming', ['"kept"']);
      assert.deepEqual(errors, ['wake-up after a push to incoming of k: publish failed']);
      assert.deepEqual(await adapter.take('k', 'incoming'), ['"kept"']);
    });
  }

  it('without watch: a push through one process wakes the watchers of another over a wake topic', async () => {
    const store = new SharedMemoryStore();
    const a = adapt(store).adapter;
    const b = adapt(peerOf(store)).adapter;
    assert.equal(a.shared, true);
    assert.equal(a.nodeId, store.nodeId);
    assert.notEqual(b.nodeId, a.nodeId);
    a.create('k', record(a.nodeId), TTL);
    let wakes = 0;
    const unwatch = await b.watch('k', 'incoming', () => wakes++);
    await a.push('k', 'incoming', ['"from a"']);
    assert.equal(wakes, 1);
    assert.deepEqual(await b.take('k', 'incoming'), ['"from a"']);
    await unwatch();
    await a.push('k', 'incoming', ['"again"']);
    assert.equal(wakes, 1);
  });

  it('without watch: exactly one of two processes adopts a session of a dead one', async () => {
    const store = new SharedMemoryStore();
    const a = adapt(store).adapter;
    const b = adapt(peerOf(store)).adapter;
    a.create('k', record('dead-node'), TTL);
    assert.equal(await a.isAlive(b.nodeId), false, 'the store answers for other nodes');
    const won = [await a.adopt('k', 'dead-node', a.nodeId), await b.adopt('k', 'dead-node', b.nodeId)];
    assert.deepEqual(won, [true, false]);
  });

  it('with watch: its own wake-ups, and no wake topic', async () => {
    const store = new WatchingMemoryStore();
    const published: string[] = [];
    const spied = new Proxy(store, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property);
        if (typeof value !== 'function') return value;
        const bound = (value as (...args: unknown[]) => unknown).bind(target);
        return property === 'publish' ? (topic: string, payload: string) => (published.push(topic), bound(topic, payload)) : bound;
      },
    });
    const { adapter, meter } = adapt(spied);
    adapter.create('k', record(adapter.nodeId), TTL);
    let wakes = 0;
    adapter.watch('k', 'outgoing', () => wakes++);
    store.push('k', 'outgoing', ['"straight into the store"']);
    assert.equal(wakes, 1);
    adapter.push('k', 'outgoing', ['"through the adapter"']);
    assert.equal(wakes, 2);
    assert.deepEqual(published, []);
    assert.deepEqual(meter.done, ['create', 'watch', 'push']);
  });
});

describe('answers the store contract does not allow', () => {
  it('fail as a StoreError naming the method, synchronous or not, and are timed as failures', async () => {
    const store = new MemoryStore();
    store.claimReceiver = (() => Promise.resolve('yes')) as never;
    store.count = (() => -1) as never;
    store.update = (() => Promise.resolve(undefined)) as never;
    store.claimAndTake = (() => 'all') as never;
    const { adapter, meter } = adapt(store);
    await assert.rejects(Promise.resolve(adapter.claimAndTake('k', 't', TTL)), { name: 'StoreError', message: /claimAndTake\(\) answered the string "all", not an array of messages/ });
    await assert.rejects(Promise.resolve(adapter.claimReceiver('k', 't', TTL)), { name: 'StoreError', message: /claimReceiver\(\) answered the string "yes", not a boolean/ });
    await assert.rejects(Promise.resolve(adapter.count()), { name: 'StoreError', message: /count\(\) answered number -1, not a count/ });
    await assert.rejects(Promise.resolve(adapter.adopt('k', 'a', 'b')), { name: 'StoreError', message: /update\(\) answered undefined, not a boolean/ });
    assert.deepEqual(meter.done, ['claimAndTake failed', 'claimReceiver failed', 'count failed', 'update failed']);
  });
});
