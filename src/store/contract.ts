/**
 * The SessionStore contract as a test suite. Any store can run it with node's test runner:
 *
 *   import { describeStoreContract } from 'koa-sockjs/store-contract';
 *   describeStoreContract('MyStore', { create: () => new MyStore(), createPeer: ... });
 *
 * The core tests run on every store; the tests of the shared capability run on a store that
 * has a `nodeId` (a SharedSessionStore), and those between two instances when `createPeer` is
 * given. Tests of optional methods (`bury`, `count`, `claimAndTake`, `watch`) are skipped for a
 * store without them. docs/stores.md explains every rule.
 *
 * `create` must return a store with an empty, private namespace each time (for a networked
 * store: a fresh key prefix). `createPeer`, for stores shared between processes, returns a
 * second instance on the same namespace as the given one, as another process would have.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SessionState } from './session-state.js';
import type { SessionRecord, SessionStore, SharedSessionStore } from './store.js';

/** How {@link describeStoreContract} gets the stores it tests. */
export interface StoreContractOptions {
  /** A store with an empty namespace of its own. */
  create(): SessionStore | Promise<SessionStore>;
  /**
   * Another instance sharing `store`'s namespace, as a second process would. Only for shared
   * stores (with a `nodeId`); omit for in-process stores.
   */
  createPeer?(store: SharedSessionStore): SharedSessionStore | Promise<SharedSessionStore>;
}

const TTL = 60_000;

/** The owner written into records by stores that are not shared (any string will do). */
const OWNER = 'node-a';

function record(owner: string, id = 'id-1'): SessionRecord {
  return { id, owner, state: SessionState.OPEN, seenAt: Date.now(), transport: 'xhr-polling' };
}

/**
 * An expired record is gone: `get` finds nothing, or the tombstone a store may leave (a closed
 * record; MemoryStore buries what expires, so its client gets a close frame, not a new session).
 */
function assertGone(found: SessionRecord | undefined, message: string): void {
  assert.ok(found === undefined || found.state === SessionState.CLOSED, message);
}

/** The store as a shared one, or undefined when it has no `nodeId` (its tests are skipped). */
function shared(store: SessionStore): SharedSessionStore | undefined {
  return (store as Partial<SharedSessionStore>).nodeId !== undefined ? (store as SharedSessionStore) : undefined;
}

/** Resolves when `predicate` holds, polling the event loop (for cross-process notifications). */
async function eventually(predicate: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Declares the SessionStore contract suite with node's test runner (`node:test`): atomic
 * `create`, compare-and-set `update` and `claimReceiver`, ordered queues taken exactly once,
 * time to live renewed by every sign of activity, the optional `bury` and `count`; for a store
 * with a `nodeId`, the shared capability (liveness, publish/subscribe, the optional `watch`);
 * and, with `createPeer`, all of it between two instances as two processes would see it.
 * Every store it opens is closed (if it has `close`) after its test.
 *
 * Call it at the top level of a test file and run the file with `node --test`:
 * `describeStoreContract('MyStore', { create: () => new MyStore() })`.
 *
 * @param name - Shown in the suite's title.
 * @param options - How to create stores; see {@link StoreContractOptions}.
 */
export function describeStoreContract(name: string, options: StoreContractOptions): void {
  describe(`SessionStore contract: ${name}`, () => {
    const opened: SessionStore[] = [];
    const open = async (): Promise<SessionStore> => {
      const store = await options.create();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close?.();
    });

    it('creates a record once; a second create returns the existing one', async () => {
      const store = await open();
      const first = await store.create('k', record(OWNER), TTL);
      assert.equal(first.created, true);
      assert.equal(first.record.id, 'id-1');
      const second = await store.create('k', record('someone-else', 'id-2'), TTL);
      assert.equal(second.created, false);
      assert.equal(second.record.id, 'id-1');
      assert.equal(second.record.owner, OWNER);
    });

    it('lets exactly one of many concurrent creates win', async () => {
      const store = await open();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.create('race', record(OWNER, `id-${i}`), TTL)));
      assert.equal(results.filter((r) => r.created).length, 1);
      const winner = results.find((r) => r.created)!.record.id;
      for (const result of results) assert.equal(result.record.id, winner);
    });

    it('gets, updates and deletes records', async () => {
      const store = await open();
      assert.equal(await store.get('missing'), undefined);
      assert.equal(await store.update('missing', { state: SessionState.CLOSED }), false);
      const created = record(OWNER);
      await store.create('k', created, TTL);
      const got = await store.get('k');
      assert.equal(got?.id, 'id-1');
      assert.equal(got?.owner, OWNER);
      assert.equal(got?.state, SessionState.OPEN);
      assert.equal(got?.transport, 'xhr-polling');
      assert.equal(got?.seenAt, created.seenAt);
      assert.equal(await store.update('k', { state: SessionState.CLOSED, closeCode: 3000, closeReason: 'Go away!' }), true);
      const closed = await store.get('k');
      assert.equal(closed?.state, SessionState.CLOSED);
      assert.equal(closed?.closeCode, 3000);
      assert.equal(closed?.closeReason, 'Go away!');
      assert.equal(closed?.transport, 'xhr-polling', 'fields not in the patch are kept');
      assert.equal(closed?.owner, OWNER);
      await store.delete('k');
      assert.equal(await store.get('k'), undefined);
      await store.delete('k');
    });

    it('keeps the identity a session was created with, through updates of any kind', async () => {
      const store = await open();
      await store.create('k', { ...record('dead-node'), identity: 'digest-of-alice' }, TTL);
      assert.equal((await store.get('k'))?.identity, 'digest-of-alice');
      assert.equal((await store.create('k', { ...record(OWNER, 'id-2'), identity: 'digest-of-bob' }, TTL)).record.identity, 'digest-of-alice');
      await store.update('k', { state: SessionState.CLOSING });
      await store.update('k', { owner: OWNER }, 'dead-node');
      assert.equal((await store.get('k'))?.identity, 'digest-of-alice');
      await store.create('plain', record(OWNER), TTL);
      assert.equal((await store.get('plain'))?.identity, undefined);
      if (store.bury) {
        // A tombstone answers its owner with the close frame, and only its owner.
        await store.bury('k', 3000, 'Go away!', TTL);
        assert.equal((await store.get('k'))?.identity, 'digest-of-alice');
      }
    });

    it('updates only from the expected owner (compare-and-set), as adoption does', async () => {
      const store = await open();
      await store.create('k', record('dead-node'), TTL);
      assert.equal(await store.update('k', { owner: 'node-b' }, 'not-the-owner'), false);
      assert.equal((await store.get('k'))?.owner, 'dead-node', 'a failed compare-and-set changes nothing');
      assert.equal(await store.update('k', { owner: 'node-b', state: SessionState.CLOSING }, 'dead-node'), true);
      const adopted = await store.get('k');
      assert.equal(adopted?.owner, 'node-b');
      assert.equal(adopted?.state, SessionState.CLOSING, 'the whole patch is applied');
      assert.equal(await store.update('k', { owner: 'node-c' }, 'dead-node'), false, 'the old owner is no longer the owner');
      assert.equal(await store.update('k', { state: SessionState.OPEN }, 'node-b'), true, 'any field, not only the owner');
      assert.equal((await store.get('k'))?.owner, 'node-b');
      assert.equal(await store.update('missing', { owner: 'node-b' }, 'dead-node'), false);
    });

    it('lets exactly one of concurrent compare-and-set updates win', async () => {
      const store = await open();
      await store.create('k', record('dead-node'), TTL);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.update('k', { owner: `node-${i}` }, 'dead-node')));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await store.get('k'))?.owner, `node-${results.indexOf(true)}`);
    });

    it('queues messages in order and takes each exactly once', async () => {
      const store = await open();
      await store.create('k', record(OWNER), TTL);
      await store.push('k', 'outgoing', ['"a"', '"b"']);
      await store.push('k', 'outgoing', ['"c"']);
      await store.push('k', 'incoming', ['"in"']);
      assert.deepEqual(await store.take('k', 'outgoing'), ['"a"', '"b"', '"c"']);
      assert.deepEqual(await store.take('k', 'outgoing'), []);
      assert.deepEqual(await store.take('k', 'incoming'), ['"in"']);
      assert.deepEqual(await store.take('missing', 'outgoing'), []);
    });

    it('never hands one message to two concurrent takers', async () => {
      const store = await open();
      await store.create('k', record(OWNER), TTL);
      const sent = Array.from({ length: 200 }, (_, i) => JSON.stringify(i));
      const pushes = [];
      const takes = [];
      for (let i = 0; i < sent.length; i += 10) {
        pushes.push(store.push('k', 'outgoing', sent.slice(i, i + 10)));
        takes.push(store.take('k', 'outgoing'));
      }
      await Promise.all(pushes);
      const taken = (await Promise.all(takes)).flat().concat(await store.take('k', 'outgoing'));
      assert.deepEqual(taken, sent);
    });

    it('drops pushes to a missing record', async () => {
      const store = await open();
      await store.push('missing', 'outgoing', ['"x"']);
      await store.create('missing', record(OWNER), TTL);
      assert.deepEqual(await store.take('missing', 'outgoing'), []);
    });

    it('lets one receiver claim a session at a time', async () => {
      const store = await open();
      assert.equal(await store.claimReceiver('missing', 'a', TTL), false);
      await store.create('k', record(OWNER), TTL);
      assert.equal(await store.claimReceiver('k', 'a', TTL), true);
      assert.equal(await store.claimReceiver('k', 'b', TTL), false);
      assert.equal((await store.get('k'))?.receiver, 'a');
      await store.releaseReceiver('k', 'b');
      assert.equal(await store.claimReceiver('k', 'b', TTL), false);
      const before = Date.now();
      await store.releaseReceiver('k', 'a');
      const released = await store.get('k');
      assert.equal(released?.receiver, undefined);
      assert.ok(released!.seenAt >= before - 5, 'seenAt is set when the claim is released');
      assert.equal(await store.claimReceiver('k', 'b', TTL), true);
    });

    it('claims and takes the outgoing mailbox in one step (optional claimAndTake)', async (t) => {
      const store = await open();
      if (!store.claimAndTake) {
        t.skip('this store has no claimAndTake(); the route calls claimReceiver() and then take()');
        return;
      }
      assert.equal(await store.claimAndTake('missing', 'a', TTL), null, 'no record: refused');
      await store.create('k', record(OWNER), TTL);
      await store.push('k', 'outgoing', ['"1"', '"2"']);
      await store.push('k', 'incoming', ['"in"']);
      assert.deepEqual(await store.claimAndTake('k', 'a', TTL), ['"1"', '"2"'], 'granted: the outgoing mailbox, in order');
      assert.equal((await store.get('k'))?.receiver, 'a');
      assert.deepEqual(await store.take('k', 'outgoing'), [], 'taken exactly once');
      await store.push('k', 'outgoing', ['"3"']);
      assert.equal(await store.claimAndTake('k', 'b', TTL), null, 'held by another token: refused');
      assert.deepEqual(await store.take('k', 'outgoing'), ['"3"'], 'a refused claim takes nothing');
      assert.deepEqual(await store.claimAndTake('k', 'a', TTL), [], 'claimed again by its holder: an empty mailbox');
      assert.deepEqual(await store.take('k', 'incoming'), ['"in"'], 'the incoming mailbox is left alone');
      await store.releaseReceiver('k', 'a');
      assert.deepEqual(await store.claimAndTake('k', 'b', TTL), [], 'released: another token may claim');
      if (store.bury) {
        await store.bury('k', 3000, 'Go away!', TTL);
        assert.equal(await store.claimAndTake('k', 'c', TTL), null, 'a tombstone cannot be claimed');
      }
    });

    it('lets a claim lapse when its holder stops renewing it', async () => {
      const store = await open();
      await store.create('k', record(OWNER), TTL);
      assert.equal(await store.claimReceiver('k', 'dead', 100), true);
      await sleep(250);
      assert.equal(await store.claimReceiver('k', 'alive', TTL), true);
    });

    it('keeps a claim its holder renews with touch, past the claim\'s own time to live', async () => {
      // A streaming receiver holds its claim for as long as it is connected: the route renews it
      // with touch (heartbeats), never by claiming again. A touch that renewed only the record
      // would let a second poll claim the session while the first still streams.
      const ttl = 600;
      const step = 300;
      const store = await open();
      await store.create('k', record(OWNER), ttl);
      assert.equal(await store.claimReceiver('k', 'streaming', ttl), true);
      for (let i = 0; i < 3; i++) {
        await sleep(step);
        await store.touch('k', ttl);
      }
      // 3 steps > ttl since the claim: only the touches kept it.
      assert.equal(await store.claimReceiver('k', 'second-poll', ttl), false, 'touch renewed the claim');
      assert.equal((await store.get('k'))?.receiver, 'streaming');
    });

    it('expires records after their time to live, unless touched', async () => {
      const store = await open();
      await store.create('short', record(OWNER), 150);
      await store.create('touched', record(OWNER, 'id-2'), 150);
      await sleep(75);
      await store.touch('touched', 1000);
      await sleep(200);
      assertGone(await store.get('short'), 'an untouched record expires');
      assert.equal((await store.get('touched'))?.id, 'id-2');
    });

    it('renews the time to live on every sign of activity: claim and release too (issue 9)', async () => {
      const store = await open();
      // Each check comes after the time to live given before the last renewal has run out
      // (2 steps > TTL), and before the renewed one has (1 step < TTL): slow machines only make
      // the steps longer, so the margin is wide.
      const ttl = 1500;
      const step = 800;
      await store.create('k', record(OWNER), ttl);
      await sleep(step);
      assert.equal(await store.claimReceiver('k', 'poll-1', ttl), true, 'a receiving request claims the session');
      await sleep(step);
      assert.equal((await store.get('k'))?.id, 'id-1', 'the claim renewed the record');
      await store.releaseReceiver('k', 'poll-1');
      await sleep(step);
      assert.equal((await store.get('k'))?.state, SessionState.OPEN, 'the release renewed the record');
      await sleep(ttl + 500);
      assertGone(await store.get('k'), 'without activity the record expires');
    });

    it('holds the claim of a record created with a receiver (a websocket session)', async () => {
      const store = await open();
      await store.create('ws', { ...record(OWNER), receiver: 'ws-connection' }, TTL);
      assert.equal((await store.get('ws'))?.receiver, 'ws-connection');
      assert.equal(await store.claimReceiver('ws', 'poll', TTL), false);
    });

    it('buries a record (optional): a closed tombstone that is not counted and lapses after its time to live', async (t) => {
      const store = await open();
      if (!store.bury) {
        t.skip('this store has no bury(); the route uses update() and touch() instead');
        return;
      }
      await store.create('k', record(OWNER), TTL);
      await store.create('other', record(OWNER, 'id-2'), TTL);
      await store.push('k', 'outgoing', ['"unsent"']);
      assert.equal(await store.claimReceiver('k', 'poll', TTL), true);
      await store.bury('k', 3001, 'Session expired', 1500);
      const grave = await store.get('k');
      assert.equal(grave?.id, 'id-1');
      assert.equal(grave?.state, SessionState.CLOSED);
      assert.equal(grave?.closeCode, 3001);
      assert.equal(grave?.closeReason, 'Session expired');
      assert.equal(grave?.receiver, undefined);
      // A client coming back finds the tombstone, never a new session.
      const again = await store.create('k', record(OWNER, 'id-3'), TTL);
      assert.equal(again.created, false);
      assert.equal(again.record.id, 'id-1');
      assert.equal(again.record.state, SessionState.CLOSED);
      assert.equal(await store.claimReceiver('k', 'next-poll', TTL), false);
      await store.touch('k', TTL);
      assert.deepEqual(await store.take('k', 'outgoing'), []);
      if (store.count) assert.equal(await store.count(), 1, 'a tombstone is not counted');
      await store.bury('missing', 3000, 'Go away!', 1500);
      assert.equal(await store.get('missing'), undefined);
      await sleep(2000);
      assert.equal(await store.get('k'), undefined, 'touch does not renew a tombstone');
      assert.equal((await store.create('k', record(OWNER, 'id-4'), TTL)).created, true);
    });

    it('counts its records (optional)', async (t) => {
      const store = await open();
      if (!store.count) {
        t.skip('this store has no count(); the route counts the sessions it runs itself');
        return;
      }
      assert.equal(await store.count(), 0);
      for (const key of ['a', 'b', 'c']) await store.create(key, record(OWNER, key), TTL);
      assert.equal(await store.count(), 3);
      await store.delete('b');
      assert.equal(await store.count(), 2);
    });

    describe('shared capability (stores with a nodeId)', () => {
      /** The store under test as a shared one; the test is skipped for a store that is not. */
      const openShared = async (t: { skip(message: string): void }): Promise<SharedSessionStore | undefined> => {
        const store = shared(await open());
        if (!store) t.skip('not a shared store (no nodeId)');
        return store;
      };

      it('has a node id and knows its own node is alive', async (t) => {
        const store = await openShared(t);
        if (!store) return;
        assert.equal(typeof store.nodeId, 'string');
        assert.notEqual(store.nodeId, '');
        assert.equal(await store.isAlive(store.nodeId), true);
        assert.equal(await store.isAlive('never-registered-node'), false);
      });

      it('publishes to subscribers of a topic only, until unsubscribed', async (t) => {
        const store = await openShared(t);
        if (!store) return;
        const got: string[] = [];
        const also: string[] = [];
        const other: string[] = [];
        const stop = await store.subscribe('topic-a', (payload) => got.push(payload));
        const stopAlso = await store.subscribe('topic-a', (payload) => also.push(payload));
        const stopOther = await store.subscribe('topic-b', (payload) => other.push(payload));
        await store.publish('topic-a', 'hello\nworld');
        await store.publish('topic-a', '');
        await eventually(() => got.length === 2 && also.length === 2, 'published messages');
        assert.deepEqual(got, ['hello\nworld', ''], 'in order, newlines and empty payloads included');
        assert.deepEqual(also, ['hello\nworld', ''], 'every subscriber of the topic');
        assert.deepEqual(other, []);
        await stop();
        await stopAlso();
        await stopOther();
        await store.publish('topic-a', 'after');
        await sleep(50);
        assert.deepEqual(got, ['hello\nworld', '']);
      });

      it('wakes watchers after a push, until unwatched (optional watch)', async (t) => {
        const store = await openShared(t);
        if (!store) return;
        if (!store.watch) {
          t.skip('this store has no watch(); the route wakes watchers over publish/subscribe');
          return;
        }
        await store.create('k', record(store.nodeId), TTL);
        let wakes = 0;
        const unwatch = await store.watch('k', 'outgoing', () => wakes++);
        await store.push('k', 'outgoing', ['"a"']);
        await eventually(() => wakes >= 1, 'a wake-up');
        await unwatch();
        const before = wakes;
        await store.push('k', 'outgoing', ['"b"']);
        await sleep(50);
        assert.equal(wakes, before);
      });

      if (options.createPeer) {
        const createPeer = options.createPeer;
        const openPair = async (): Promise<[SharedSessionStore, SharedSessionStore]> => {
          const store = shared(await open());
          assert.ok(store, 'createPeer is for shared stores: the store must have a nodeId');
          const peer = await createPeer(store);
          opened.push(peer);
          return [store, peer];
        };

        it('shows records, queues, wake-ups, claims and topics to a peer', async () => {
          const [store, peer] = await openPair();
          assert.notEqual(peer.nodeId, store.nodeId);
          await store.create('k', record(store.nodeId), TTL);
          assert.equal((await peer.get('k'))?.owner, store.nodeId);
          assert.equal(await peer.isAlive(store.nodeId), true);

          await store.push('k', 'outgoing', ['"from-a"']);
          assert.deepEqual(await peer.take('k', 'outgoing'), ['"from-a"']);
          if (peer.watch) {
            let wakes = 0;
            const unwatch = await peer.watch('k', 'outgoing', () => wakes++);
            await store.push('k', 'outgoing', ['"again"']);
            await eventually(() => wakes >= 1, 'a cross-process wake-up');
            assert.deepEqual(await peer.take('k', 'outgoing'), ['"again"']);
            await unwatch();
          }

          assert.equal(await store.claimReceiver('k', 'a', TTL), true);
          assert.equal(await peer.claimReceiver('k', 'b', TTL), false);

          const got: string[] = [];
          const stop = await peer.subscribe('t', (payload) => got.push(payload));
          await store.publish('t', 'x');
          await eventually(() => got.length === 1, 'a cross-process publish');
          await stop();
        });

        it('lets exactly one of two peers adopt a session (compare-and-set update)', async () => {
          const [store, peer] = await openPair();
          await store.create('k', record('dead-node'), TTL);
          const [mine, theirs] = await Promise.all([store.update('k', { owner: store.nodeId }, 'dead-node'), peer.update('k', { owner: peer.nodeId }, 'dead-node')]);
          assert.equal(Number(mine) + Number(theirs), 1);
          assert.equal((await peer.get('k'))?.owner, mine ? store.nodeId : peer.nodeId);
        });

        it('reports a closed peer as no longer alive', async () => {
          const [store, peer] = await openPair();
          const peerId = peer.nodeId;
          assert.equal(await store.isAlive(peerId), true);
          // A process that shuts down cleanly deregisters at once; one that dies lapses later.
          await peer.close?.();
          assert.equal(await store.isAlive(peerId), false);
        });
      }
    });
  });
}
