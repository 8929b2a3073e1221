/**
 * What only a Redis Cluster tests about RedisStore, on a real three-master cluster: the keys
 * of a session share one slot and sessions spread over every master (the hash tags of
 * src/store/redis/keys.ts), a key prefix that would break the tags is refused, and the store's
 * own subscriber connection recovers from being dropped, on another master if its own refuses it. The contract suite, the cross-process
 * tests and the owner-SIGKILL drills also run on a cluster (their own files).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { SessionState } from '../../src/store/session-state.js';
import { RedisStore } from '../../src/store/redis/index.js';
import type { SessionRecord } from '../../src/store/store.js';
import { connectRedis, startRedis, type RedisDeployment } from '../helpers/redis-deployments.js';

const record = (id: string, owner: string): SessionRecord => ({ id, owner, state: SessionState.OPEN, seenAt: Date.now(), transport: 'xhr-polling' });

describe('RedisStore on a Redis Cluster', () => {
  let redis: RedisDeployment;
  let cluster: Cluster;
  const stores: RedisStore[] = [];

  before(async () => {
    redis = await startRedis('cluster');
    cluster = connectRedis(redis.target) as Cluster;
  });
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    cluster?.disconnect();
    await redis?.stop();
  });

  const open = async (keyPrefix: string): Promise<RedisStore> => {
    const store = new RedisStore({ client: cluster, keyPrefix });
    stores.push(store);
    await store.ready();
    return store;
  };

  it('refuses a key prefix with a hash tag of its own, naming the option (one Redis takes it)', () => {
    for (const keyPrefix of ['{app}:', 'a}b', 'a{b']) {
      assert.throws(() => new RedisStore({ client: cluster, keyPrefix }), { code: 'SOCKJS_ERR_INVALID_OPTION', option: 'keyPrefix', message: /"\{" or "\}"/ });
    }
    const client = new Redis({ lazyConnect: true });
    const store = new RedisStore({ client, keyPrefix: '{app}:' });
    assert.equal(store.keyPrefix, '{app}:');
    void store.close();
    client.disconnect();
  });

  it("keeps every key of a session in its shard index's slot, and spreads sessions over every master", { timeout: 30_000 }, async () => {
    const prefix = `spread:${randomUUID()}:`;
    const store = await open(prefix);
    const keys = Array.from({ length: 60 }, (_, i) => `session-${i}`);
    for (const key of keys) {
      await store.create(key, record(key, store.nodeId), 60_000);
      await store.push(key, 'outgoing', ['to the client']);
      await store.push(key, 'incoming', ['from the client']);
    }
    assert.equal(await store.count(), keys.length, 'count() adds up every shard');

    // Where each key is, by asking every master for its own keys.
    const masterOf = new Map<string, string>();
    const masters = cluster.nodes('master');
    assert.equal(masters.length, 3);
    for (const master of masters) {
      for (const name of await master.keys(`*${prefix}*`)) masterOf.set(name, `${master.options.host}:${master.options.port}`);
    }
    const slot = async (name: string): Promise<number> => Number(await cluster.call('CLUSTER', 'KEYSLOT', name));
    const sessionsPerMaster = new Map<string, number>();
    for (const key of keys) {
      const names = [...masterOf.keys()].filter((name) => name.endsWith(`:${key}`) && /:(session|outgoing|incoming):/.test(name));
      assert.equal(names.length, 3, `record and both mailboxes of ${key}`);
      const index = names[0]!.replace(/:(session|outgoing|incoming):.*$/, ':sessions');
      assert.ok(masterOf.has(index), `the index ${index} exists`);
      const slots = new Set(await Promise.all([...names, index].map(slot)));
      assert.equal(slots.size, 1, `${key}: its keys and its shard's index in one slot`);
      const master = masterOf.get(names[0]!)!;
      sessionsPerMaster.set(master, (sessionsPerMaster.get(master) ?? 0) + 1);
    }
    assert.equal(sessionsPerMaster.size, 3, `sessions on every master: ${JSON.stringify([...sessionsPerMaster])}`);
  });

  it('resubscribes after its subscriber connection is dropped, wakes every watcher, and hears peers again', { timeout: 20_000 }, async () => {
    const prefix = `resubscribe:${randomUUID()}:`;
    const [store, peer] = [await open(prefix), await open(prefix)];
    await peer.create('k', record('k', peer.nodeId), 60_000);

    let wake: () => void = () => {};
    const unwatch = await store.watch('k', 'outgoing', () => wake());
    const payloads: string[] = [];
    let heard: () => void = () => {};
    const unsubscribe = await store.subscribe('news', (payload) => {
      payloads.push(payload);
      heard();
    });

    // Every pub/sub connection of the cluster dropped, as a node restart or a network cut would.
    const woken = new Promise<void>((resolve) => (wake = resolve));
    await Promise.all(cluster.nodes('master').map((master) => master.call('CLIENT', 'KILL', 'TYPE', 'pubsub')));
    await woken; // no push came: the store woke its watchers itself, once resubscribed

    const wokenByPush = new Promise<void>((resolve) => (wake = resolve));
    await peer.push('k', 'outgoing', ['after the drop']);
    await wokenByPush;
    assert.deepEqual(await store.take('k', 'outgoing'), ['after the drop']);

    const published = new Promise<void>((resolve) => (heard = resolve));
    await peer.publish('news', 'after the drop');
    await published;
    assert.deepEqual(payloads, ['after the drop']);
    await unwatch();
    await unsubscribe();
  });

  it('moves its subscriber to another master when its own refuses it, and hears peers there', { timeout: 30_000 }, async () => {
    const prefix = `move:${randomUUID()}:`;
    const [store, peer] = [await open(prefix), await open(prefix)];
    await peer.create('k', record('k', peer.nodeId), 60_000);
    let wake: () => void = () => {};
    await store.watch('k', 'outgoing', () => wake());
    const watchChannel = `${prefix}wake:outgoing:k`;

    // The master whose pub/sub connection watches the session's channel is the store's.
    const subscribers = async (master: Redis): Promise<number> => {
      const [, count] = (await master.call('PUBSUB', 'NUMSUB', watchChannel)) as [string, number];
      return Number(count);
    };
    const masters = cluster.nodes('master');
    const counts = await Promise.all(masters.map(subscribers));
    assert.deepEqual(counts.filter((count) => count > 0), [1], 'one subscriber connection, on one master');
    const own = masters[counts.findIndex((count) => count > 0)]!;
    const limit = ((await own.call('CONFIG', 'GET', 'maxclients')) as string[])[1]!;
    try {
      // It refuses every new connection (the cluster's own stay), then drops the store's subscriber.
      await own.call('CONFIG', 'SET', 'maxclients', '1');
      const woken = new Promise<void>((resolve) => (wake = resolve));
      await own.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await woken; // resubscribed on another master, watchers woken
      assert.equal(await subscribers(own), 0);
      assert.equal((await Promise.all(masters.map(subscribers))).reduce((sum, count) => sum + count, 0), 1, 'on another master');
      const wokenByPush = new Promise<void>((resolve) => (wake = resolve));
      await peer.push('k', 'outgoing', ['after the move']);
      await wokenByPush;
      assert.deepEqual(await store.take('k', 'outgoing'), ['after the move']);
    } finally {
      await own.call('CONFIG', 'SET', 'maxclients', limit);
    }
  });
});
