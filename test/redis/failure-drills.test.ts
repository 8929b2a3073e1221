/**
 * Failure drills for koa-sockjs on RedisStore, with real processes behind a round-robin proxy:
 * the process owning a session is killed (SIGKILL), and Redis restarts. What these tests
 * check is what docs/scaling.md promises, no more and no less.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { awaitMessages, clientEvent, startNodes, RoundRobinProxy, TestClient, type ClientClose, type ClusterNode } from '../helpers/redis-cluster.js';
import { startRedis, type RedisDeployment, type RedisTarget } from '../helpers/redis-deployments.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/** Short timings so a dead process is noticed within seconds (production defaults are longer). */
const FAST = { nodeTtl: 1000, heartbeatDelay: 1000, disconnectDelay: 5000, responseLimit: 1024 };

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Cluster {
  nodes: ClusterNode[];
  proxy: RoundRobinProxy;
  clients: TestClient[];
  connect(transport: string): Promise<TestClient>;
  /** An extra request through the proxy, to shift the round-robin rotation. */
  shiftRotation(): Promise<void>;
  close(): Promise<void>;
}

async function startCluster(redis: RedisTarget): Promise<Cluster> {
  const nodes = await startNodes(2, { redis, keyPrefix: `drill:${randomUUID()}:`, ...FAST });
  const proxy = await new RoundRobinProxy(nodes.map((node) => node.port)).listen();
  const clients: TestClient[] = [];
  return {
    nodes,
    proxy,
    clients,
    async connect(transport) {
      const client = new TestClient(`${proxy.url}/echo`, transport);
      clients.push(client);
      await clientEvent(client, client.opened, `a ${transport} session to open`);
      assert.equal(client.transport, transport);
      return client;
    },
    async shiftRotation() {
      await (await fetch(`${proxy.url}/count`)).arrayBuffer().catch(() => undefined);
    },
    async close() {
      for (const client of clients) client.sock.close();
      await proxy.close();
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}

/** Sends each message and waits for its echo. */
async function exchange(cluster: Cluster, client: TestClient, sent: string[], messages: string[]): Promise<void> {
  for (const [i, message] of messages.entries()) {
    sent.push(message);
    client.send(message);
    await awaitMessages(client, sent.length, `the echo of ${message}`);
    if (i % 2 === 1) await cluster.shiftRotation();
  }
}

/** The owner of a session is killed (SIGKILL): the drills that hold on every Redis deployment. */
function ownerKillDrills(target: () => RedisTarget): void {
  for (const transport of ['xhr-polling', 'xhr-streaming'] as const) {
    it(`${transport}: the owner is SIGKILLed while the client's requests are on the survivor; the client goes on, nothing is lost`, async () => {
      const cluster = await startCluster(target());
      try {
        const client = await cluster.connect(transport);
        let closedEarly: ClientClose | undefined;
        void client.closed.then((close) => (closedEarly = close));
        await waitUntil(() => cluster.nodes.some((node) => node.hooks.some((event) => event.hook === 'onOpen')), 'onOpen');
        const owner = cluster.nodes.find((node) => node.hooks.some((event) => event.hook === 'onOpen'))!;
        const survivor = cluster.nodes.find((node) => node !== owner)!;
        const id = owner.hooks.find((event) => event.hook === 'onOpen')!.id;

        const sent: string[] = [];
        await exchange(cluster, client, sent, ['a1', 'a2', 'a3', 'a4', 'a5', 'a6']);

        // The crash: at a moment when the client's receiving request waits on the survivor (a
        // stream moves to the next process each time it reaches responseLimit).
        const onSurvivorOnly = () => cluster.proxy.inFlight(owner.port) === 0 && cluster.proxy.inFlight(survivor.port) > 0;
        for (let i = 0; !onSurvivorOnly(); i++) {
          assert.ok(i < 40, 'the receiving request came to wait on the survivor');
          await exchange(cluster, client, sent, [`pad${i}-${'x'.repeat(300)}`]);
          if (i % 3 === 2) await cluster.shiftRotation();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await owner.kill();

        // The client notices nothing: messages sent now are queued in Redis until the survivor
        // adopts the session (owner's liveness lapsed), then reach onMessage there, in order.
        const afterKill = ['b1', 'b2', 'b3', 'b4'];
        await exchange(cluster, client, sent, afterKill);
        const burst = Array.from({ length: 20 }, (_, i) => `c${i}`);
        for (const message of burst) {
          sent.push(message);
          client.send(message);
        }
        await awaitMessages(client, sent.length, 'the echoes of the burst');

        assert.deepEqual(client.received, sent, 'every message came back once, in order');
        assert.equal(closedEarly, undefined, 'the client never saw its session close');
        const survivorHooks = () => survivor.hooksOf(id);
        await waitUntil(() => survivorHooks().filter((event) => event.hook === 'onMessage').length >= afterKill.length + burst.length, 'onMessage reports');
        assert.equal(survivorHooks().filter((event) => event.hook === 'onOpen').length, 0, 'adoption does not run onOpen again');
        assert.deepEqual(
          survivorHooks()
            .filter((event) => event.hook === 'onMessage')
            .map((event) => event.message),
          [...afterKill, ...burst],
          'the survivor ran onMessage once per message sent after the crash, in order',
        );
        assert.equal((await client.close()).code, 1000);
      } finally {
        await cluster.close();
      }
    });
  }

  it('xhr-polling: the owner is SIGKILLed while it holds the client\'s poll; the poll fails and sockjs-client ends the session (1006), as documented', async () => {
    const cluster = await startCluster(target());
    try {
      const client = await cluster.connect('xhr-polling');
      await waitUntil(() => cluster.nodes.some((node) => node.hooks.some((event) => event.hook === 'onOpen')), 'onOpen');
      const owner = cluster.nodes.find((node) => node.hooks.some((event) => event.hook === 'onOpen'))!;
      const survivor = cluster.nodes.find((node) => node !== owner)!;
      const sent: string[] = [];
      await exchange(cluster, client, sent, ['a1', 'a2', 'a3']);

      const onOwnerOnly = () => cluster.proxy.inFlight(owner.port) > 0 && cluster.proxy.inFlight(survivor.port) === 0;
      for (let i = 0; !onOwnerOnly(); i++) {
        assert.ok(i < 40, 'the poll came to wait on the owner');
        await exchange(cluster, client, sent, [`pad${i}`]);
        if (i % 3 === 2) await cluster.shiftRotation();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await owner.kill();

      const closed = await within(client.closed, 10_000, 'the client to close');
      assert.equal(closed.code, 1006);
      // Everything the server had accepted before the crash was answered.
      assert.deepEqual(client.received, sent);
      // A new session on the survivor works at once.
      const again = await cluster.connect('xhr-polling');
      again.send('again');
      assert.deepEqual(await awaitMessages(again, 1, 'an echo'), ['again']);
    } finally {
      await cluster.close();
    }
  });
}

describe('failure drills on RedisStore', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.stop();
  });

  ownerKillDrills(() => ({ kind: 'single', url: redis.url }));

  it('Redis restarts: new sessions fail fast with a reason, websockets go on, and everything works again once it is back', async () => {
    const cluster = await startCluster({ kind: 'single', url: redis.url });
    try {
      const ws = await cluster.connect('websocket');
      await cluster.shiftRotation();
      const polling = await cluster.connect('xhr-polling');
      polling.send('before');
      await awaitMessages(polling, 1, 'an echo before the restart');

      await redis.stop({ kill: true });

      // A websocket session does not touch the store per message: it goes on.
      ws.send('while Redis is down');
      assert.deepEqual(await awaitMessages(ws, 1, 'a websocket echo', 5000), ['while Redis is down']);

      // Plain requests that need the store get 503, not a hang.
      // (The store waits commandTimeout for a lost connection; after that it fails at once.)
      for (const node of cluster.nodes) {
        const count = await within(fetch(`${node.url}/count`), 5000, '/count');
        assert.equal(count.status, 503);
        // Koa's bare status text: the store's message (hosts, connection states) stays inside.
        assert.equal(await count.text(), 'Service Unavailable');
      }

      // A new session cannot be recorded: its client is told why, at once.
      const started = Date.now();
      const fresh = new TestClient(`${cluster.proxy.url}/echo`, 'xhr-polling');
      fresh.opened.catch(() => undefined);
      cluster.clients.push(fresh);
      const refused = await within(fresh.closed, 10_000, 'the new session to be refused');
      assert.deepEqual(refused, { code: 3503, reason: 'Session store unavailable' });
      assert.ok(Date.now() - started < 5000, 'refused quickly');

      // The polling session from before: its next request fails and the client is told (3503),
      // or, after the restart, Redis no longer has its record (1006 "Server lost session").
      const lost = await within(polling.closed, 10_000, 'the polling session to end');
      assert.ok([3503, 1006].includes(lost.code), `closed with ${lost.code} ${lost.reason}`);

      await redis.start();
      // Each process reconnects on its own schedule (within a second): until then, it fails fast.
      for (const node of cluster.nodes) {
        await waitUntil(() => node.alive, 'the node');
        const deadline = Date.now() + 10_000;
        while ((await fetch(`${node.url}/count`)).status !== 200) {
          assert.ok(Date.now() < deadline, 'the process reconnected to Redis');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }

      // New sessions work again, across processes.
      const after = await within(cluster.connect('xhr-polling'), 15_000, 'a new session after the restart');
      const sent: string[] = [];
      await exchange(cluster, after, sent, ['x1', 'x2', 'x3', 'x4']);
      assert.deepEqual(after.received, sent);

      // Broadcasts cross processes again once the subscriber connections have resubscribed:
      // the websocket, held by one process, hears a broadcast made on each.
      for (const [i, node] of cluster.nodes.entries()) {
        const heard = () => ws.received.some((message) => String(message).startsWith(`back-${i}-`));
        const deadline = Date.now() + 10_000;
        for (let attempt = 0; !heard(); attempt++) {
          assert.ok(Date.now() < deadline, `a broadcast from process ${i} reached the websocket`);
          const answer = await fetch(`${node.url}/broadcast?route=echo&message=back-${i}-${attempt}`);
          assert.equal(answer.status, 200);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    } finally {
      await cluster.close();
      if (!redis.running) await redis.start();
    }
  });
});

describe('failure drills on RedisStore (Redis Cluster)', () => {
  let redis: RedisDeployment;
  before(async () => {
    redis = await startRedis('cluster');
  });
  after(async () => {
    await redis?.stop();
  });

  ownerKillDrills(() => redis.target);
});
