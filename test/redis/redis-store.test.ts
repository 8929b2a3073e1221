/**
 * RedisStore beyond the shared contract: one subscriber connection however many sessions it
 * watches, TTLs on everything a session leaves in Redis, failing fast when Redis is not there,
 * a client given by the application, and option checks.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { SessionState } from '../../src/index.js';
import { RedisStore, RedisStoreError } from '../../src/store/redis/index.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const record = (owner: string, id = 'id-1') => ({ id, owner, state: SessionState.OPEN, seenAt: Date.now(), transport: 'xhr-polling' });

async function connectedClients(admin: Redis): Promise<number> {
  const info = await admin.info('clients');
  return Number(/connected_clients:(\d+)/.exec(info)![1]);
}

describe('RedisStore', () => {
  let redis: RedisServer;
  let admin: Redis;
  before(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url);
  });
  after(async () => {
    admin?.disconnect();
    await redis?.stop();
  });

  it('uses two connections, whatever it watches and subscribes to: one for commands, one for pub/sub', async () => {
    const before = await connectedClients(admin);
    const store = new RedisStore({ url: redis.url, keyPrefix: `conn:${randomUUID()}:` });
    try {
      await store.ready();
      const stops = [];
      for (let i = 0; i < 200; i++) {
        await store.create(`k${i}`, record(store.nodeId, `id-${i}`), 60_000);
        stops.push(await store.watch(`k${i}`, 'incoming', () => {}));
        stops.push(await store.watch(`k${i}`, 'outgoing', () => {}));
      }
      for (let i = 0; i < 20; i++) stops.push(await store.subscribe(`topic-${i}`, () => {}));
      assert.equal(await connectedClients(admin), before + 2);
      for (const stop of stops) await stop();
    } finally {
      await store.close();
    }
  });

  it('runs operations in the order they were called, even the first use of a script Redis has not cached', async () => {
    // The bench's non-sticky polling lost a message this way: a process's first push went by
    // SHA1, Redis answered NOSCRIPT, and the push re-sent whole ran after the take called
    // just after it, so the take found the mailbox empty.
    await admin.script('FLUSH');
    const store = new RedisStore({ url: redis.url, keyPrefix: `order:${randomUUID()}:` });
    try {
      await store.create('k', record(store.nodeId), 60_000);
      // TAKE is cached (and known to this connection) from here on; PUSH is not.
      assert.deepEqual(await store.take('k', 'outgoing'), []);
      const pushed = store.push('k', 'outgoing', ['"first"']);
      const taken = store.take('k', 'outgoing');
      await pushed;
      assert.deepEqual(await taken, ['"first"']);
      // After Redis forgets every script on a live connection, order holds from the next call.
      await admin.script('FLUSH');
      await assert.doesNotReject(store.push('k', 'outgoing', ['"second"']));
      const pushedAgain = store.push('k', 'outgoing', ['"third"']);
      const takenAgain = store.take('k', 'outgoing');
      await pushedAgain;
      assert.deepEqual(await takenAgain, ['"second"', '"third"']);
    } finally {
      await store.close();
    }
  });

  it('gives a session record and its mailboxes the time to live it was given', async () => {
    const prefix = `ttl:${randomUUID()}:`;
    const store = new RedisStore({ url: redis.url, keyPrefix: prefix });
    try {
      await store.create('k', record(store.nodeId), 300);
      await store.push('k', 'outgoing', ['"out"']);
      await store.push('k', 'incoming', ['"in"']);
      for (const key of ['session:k', 'outgoing:k', 'incoming:k']) {
        const ttl = await admin.pttl(prefix + key);
        assert.ok(ttl > 0 && ttl <= 300, `${key} expires (PTTL ${ttl})`);
      }
      await store.touch('k', 5_000);
      assert.ok((await admin.pttl(`${prefix}outgoing:k`)) > 300, 'touch renews the mailboxes too');
      await store.touch('k', 200);
      await new Promise((resolve) => setTimeout(resolve, 400));
      const left = (await admin.keys(`${prefix}*`)).map((key) => key.slice(prefix.length)).sort();
      // Only this process's liveness mark and the index (whose stale entries count() drops).
      assert.deepEqual(left, [`node:${store.nodeId}`, 'sessions']);
      assert.equal(await store.count(), 0);
      assert.ok((await admin.pttl(`${prefix}node:${store.nodeId}`)) > 0, 'the liveness mark expires by itself too');
    } finally {
      await store.close();
    }
    assert.deepEqual(await admin.keys(`${prefix}node:*`), [], 'close() removes the liveness mark');
  });

  it('keeps a process alive while it runs (refreshing its mark) and not after close()', async () => {
    const prefix = `alive:${randomUUID()}:`;
    const a = new RedisStore({ url: redis.url, keyPrefix: prefix, nodeTtl: 300 });
    const b = new RedisStore({ url: redis.url, keyPrefix: prefix, nodeTtl: 300 });
    try {
      await Promise.all([a.ready(), b.ready()]);
      await new Promise((resolve) => setTimeout(resolve, 700));
      assert.equal(await b.isAlive(a.nodeId), true, 'alive after more than nodeTtl');
      await a.close();
      assert.equal(await b.isAlive(a.nodeId), false);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('fails fast, with a 503 RedisStoreError, when Redis is not there; close() does not hang', async () => {
    // A port nobody listens on: the one of a server we stop.
    const gone = await startRedisServer();
    await gone.stop();
    const store = new RedisStore({ url: gone.url, commandTimeout: 300 });
    const started = Date.now();
    await assert.rejects(store.ready(), (error: unknown) => {
      assert.ok(error instanceof RedisStoreError);
      assert.equal(error.status, 503);
      // Its message names hosts and connection states: Koa must not show it to the client.
      assert.equal(error.expose, false);
      assert.equal(error.code, 'SOCKJS_ERR_STORE');
      assert.match(error.message, /Redis/);
      return true;
    });
    await assert.rejects(store.get('k'), RedisStoreError);
    await assert.rejects(store.publish('t', 'x'), RedisStoreError);
    assert.ok(Date.now() - started < 2000, `failed within ${Date.now() - started} ms`);
    await store.close();
    await assert.rejects(store.get('k'), /closed/);
  });

  it('works on a client the application gives it, and leaves that client open', async () => {
    const client = new Redis(redis.url);
    const store = new RedisStore({ client, keyPrefix: `own:${randomUUID()}:` });
    await store.create('k', record(store.nodeId), 60_000);
    assert.equal((await store.get('k'))?.id, 'id-1');
    await store.close();
    assert.equal(await client.ping(), 'PONG');
    client.disconnect();
  });

  it("shares one application client among many stores without Node's listener-leak warning, and gives its limit back", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      if (warning.name === 'MaxListenersExceededWarning') warnings.push(warning);
    };
    process.on('warning', onWarning);
    // Not yet connected: every store also waits for its 'ready' while registering.
    const client = new Redis(redis.url, { lazyConnect: true });
    const stores: RedisStore[] = [];
    try {
      const limit = client.getMaxListeners();
      for (let i = 0; i < 8; i++) stores.push(new RedisStore({ client, keyPrefix: `shared:${i}:${randomUUID()}:` }));
      await client.connect();
      await Promise.all(stores.map((store) => store.ready()));
      await Promise.all(stores.map((store) => store.close()));
      assert.equal(client.getMaxListeners(), limit);
      assert.equal(client.listenerCount('ready'), 0, 'no listener of a closed store left on the client');
      // Node emits the warning on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
      await Promise.all(stores.map((store) => store.close()));
      client.disconnect();
    }
    assert.deepEqual(warnings, []);
  });

  it('checks its options', () => {
    assert.throws(() => new RedisStore({ url: 'redis://127.0.0.1:1', client: new Redis({ lazyConnect: true }) }), { code: 'SOCKJS_ERR_INVALID_OPTION', message: /"client" cannot be combined with "url"/ });
    assert.throws(() => new RedisStore({ nodeTtl: 0 }), { code: 'SOCKJS_ERR_INVALID_OPTION', option: 'nodeTtl' });
    assert.throws(() => new RedisStore({ commandTimeout: -1 }), { code: 'SOCKJS_ERR_INVALID_OPTION', option: 'commandTimeout' });
    assert.throws(() => new RedisStore({ client: {} as Redis }), { code: 'SOCKJS_ERR_INVALID_OPTION', option: 'client' });
  });
});
