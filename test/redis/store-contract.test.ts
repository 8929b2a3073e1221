// The SessionStore contract suite, including its shared-between-processes part, on RedisStore
// against a real redis-server.
import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { describeStoreContract } from '../../src/store/contract.js';
import { RedisStore } from '../../src/store/redis/index.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

let redis: RedisServer;
before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  await redis?.stop();
});

async function open(keyPrefix: string): Promise<RedisStore> {
  const store = new RedisStore({ url: redis.url, keyPrefix });
  await store.ready();
  return store;
}

describeStoreContract('RedisStore', {
  create: () => open(`contract:${randomUUID()}:`),
  createPeer: (store) => open((store as RedisStore).keyPrefix),
});
