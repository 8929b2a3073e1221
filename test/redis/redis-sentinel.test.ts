/**
 * RedisStore through Sentinel, with a real master, replica and Sentinel: a failover moves the
 * store to the new master, what was replicated before it is still there, and the store's
 * subscriber follows (resubscribes, wakes its watchers, hears peers). The contract suite also
 * runs through Sentinel (store-contract.test.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { SessionState } from '../../src/store/session-state.js';
import { RedisStore } from '../../src/store/redis/index.js';
import { ask, connectRedis, SENTINEL_MASTER_NAME, startRedis, until, type RedisDeployment } from '../helpers/redis-deployments.js';

describe('RedisStore through Sentinel', () => {
  let redis: RedisDeployment;
  let client: Redis;
  const stores: RedisStore[] = [];

  before(async () => {
    redis = await startRedis('sentinel', { replica: true });
    client = connectRedis(redis.target) as Redis;
  });
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    client?.disconnect();
    await redis?.stop();
  });

  it('follows a failover to the new master: replicated sessions and messages are there, watchers and topics work again', { timeout: 60_000 }, async () => {
    const [master, replica, sentinel] = redis.servers as [(typeof redis.servers)[0], (typeof redis.servers)[0], (typeof redis.servers)[0]];
    const keyPrefix = `failover:${randomUUID()}:`;
    const open = async (): Promise<RedisStore> => {
      const store = new RedisStore({ client, keyPrefix, commandTimeout: 5_000 });
      stores.push(store);
      await store.ready();
      return store;
    };
    const [store, peer] = [await open(), await open()];
    await peer.create('k', { id: 'k', owner: peer.nodeId, state: SessionState.OPEN, seenAt: Date.now(), transport: 'xhr-polling' }, 60_000);
    await peer.push('k', 'outgoing', ['before']);
    let wake: () => void = () => {};
    await store.watch('k', 'outgoing', () => wake());
    const payloads: string[] = [];
    await store.subscribe('news', (payload) => payloads.push(payload));
    // Replication is asynchronous: what the test expects to survive is on the replica first.
    assert.equal(await client.call('WAIT', 1, 5_000), 1);

    const woken = new Promise<void>((resolve) => (wake = resolve));
    assert.equal(await ask(sentinel.port, 'SENTINEL', 'FAILOVER', SENTINEL_MASTER_NAME), 'OK');
    await until('Sentinel to name the replica as master', async () => {
      const address = (await ask(sentinel.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER_NAME)) as string[];
      return address[1] === String(replica.port);
    });
    // Sentinel makes the old master a replica and drops its clients in one transaction: then
    // every connection of the store has to come back, through Sentinel, to the new master.
    await until('the old master to become a replica', async () => String(await ask(master.port, 'INFO', 'replication')).includes('role:slave'));
    await woken; // the subscriber reconnected and woke its watchers

    assert.equal((await store.get('k'))?.owner, peer.nodeId, 'the session record was replicated');
    const wokenByPush = new Promise<void>((resolve) => (wake = resolve));
    await peer.push('k', 'outgoing', ['after']);
    await wokenByPush;
    assert.deepEqual(await store.take('k', 'outgoing'), ['before', 'after']);
    await peer.publish('news', 'after the failover');
    await until('the topic message', async () => payloads.length > 0);
    assert.deepEqual(payloads, ['after the failover']);
    assert.equal(String(await client.call('ROLE')).split(',')[0], 'master', 'the client is on a master');
    assert.equal(client.stream.remotePort, replica.port, 'the client is on the promoted replica');
  });
});
