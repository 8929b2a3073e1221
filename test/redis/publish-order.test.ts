/**
 * What one process publishes reaches every other process in the order sent, on every Redis
 * deployment the store supports: README "Order is kept", docs/scaling.md; and rooms rely on it
 * (RoomHub drops a room message whose sender sequence number it has passed already, which is
 * how a message published to several rooms is delivered once). On a Redis Cluster, ioredis sent
 * each PUBLISH (a command without keys) to a random master, and two masters forward over the
 * cluster bus independently: a subscriber saw some messages of one sender out of order.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { RedisStore } from '../../src/store/redis/index.js';
import { until } from '../helpers/http-client.js';
import { startRedis, storeOptions, type RedisDeployment, type RedisKind } from '../helpers/redis-deployments.js';

const MESSAGES = 6000;
const TOPICS = ['red', 'green', 'blue'];

for (const kind of ['single', 'cluster'] as RedisKind[]) {
  describe(`publish order on ${kind === 'single' ? 'one Redis' : 'a Redis Cluster'}`, { timeout: 120_000 }, () => {
    let deployment: RedisDeployment;
    before(async () => {
      deployment = await startRedis(kind);
    });
    after(async () => {
      await deployment?.stop();
    });

    it(`${MESSAGES} messages over ${TOPICS.length} topics, sent at once, arrive in the order sent`, async () => {
      const keyPrefix = `order:${randomUUID()}:`;
      const connections = [storeOptions(deployment.target), storeOptions(deployment.target)];
      const [sender, receiver] = connections.map(({ options }) => new RedisStore({ ...options, keyPrefix })) as [RedisStore, RedisStore];
      try {
        await Promise.all([sender.ready(), receiver.ready()]);
        const received: number[] = [];
        for (const topic of TOPICS) await receiver.subscribe(topic, (payload) => received.push(Number(payload)));
        await Promise.all(Array.from({ length: MESSAGES }, (_, i) => sender.publish(TOPICS[i % TOPICS.length]!, String(i))));
        await until(() => received.length === MESSAGES, 'every message', 30_000);
        const overtaken = received.filter((value, i) => i > 0 && value < received[i - 1]!);
        assert.deepEqual(overtaken, [], 'messages that arrived after a later one');
      } finally {
        await sender.close();
        await receiver.close();
        for (const connection of connections) connection.close();
      }
    });
  });
}
