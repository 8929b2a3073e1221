// The SessionStore contract suite, including its shared-between-processes part, on RedisStore
// against a real redis-server, a real three-master Redis Cluster, and a master behind Sentinel.
import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { describeStoreContract } from '../../src/store/contract.js';
import { RedisStore } from '../../src/store/redis/index.js';
import { startRedis, storeOptions, type RedisDeployment, type RedisKind } from '../helpers/redis-deployments.js';

for (const kind of ['single', 'cluster', 'sentinel'] as const satisfies readonly RedisKind[]) {
  describe(`RedisStore on ${kind === 'single' ? 'one Redis' : kind === 'cluster' ? 'a Redis Cluster' : 'Sentinel'}`, () => {
    let redis: RedisDeployment;
    // One application client for every store of the suite (the stores never close it).
    let client: ReturnType<typeof storeOptions> | undefined;
    before(async () => {
      redis = await startRedis(kind);
      client = storeOptions(redis.target);
    });
    after(async () => {
      client?.close();
      await redis?.stop();
    });

    async function open(keyPrefix: string): Promise<RedisStore> {
      const store = new RedisStore({ ...client!.options, keyPrefix });
      await store.ready();
      return store;
    }

    describeStoreContract(kind === 'single' ? 'RedisStore' : `RedisStore (${kind})`, {
      create: () => open(`contract:${randomUUID()}:`),
      createPeer: (store) => open((store as RedisStore).keyPrefix),
    });
  });
}
