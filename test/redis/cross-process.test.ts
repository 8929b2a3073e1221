/**
 * koa-sockjs on RedisStore across real processes, behind a round-robin proxy (no sticky
 * sessions): the real sockjs-client over xhr-polling, xhr-streaming, eventsource and websocket;
 * broadcasts and counts across processes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { awaitMessages, clientEvent, startNodes, RoundRobinProxy, TestClient, type ClusterNode } from '../helpers/redis-cluster.js';
import { startRedis, type RedisDeployment } from '../helpers/redis-deployments.js';

/** The last path segment of each transport's receiving request. */
const RECEIVING = { 'xhr-polling': 'xhr', 'xhr-streaming': 'xhr_streaming', eventsource: 'eventsource', websocket: 'websocket' } as const;

// On one Redis, and on a three-master Redis Cluster.
for (const kind of ['single', 'cluster'] as const) {
  describe(`RedisStore across processes, requests alternating between them${kind === 'cluster' ? ' (Redis Cluster)' : ''}`, () => {
    let redis: RedisDeployment;
    let nodes: ClusterNode[];
    let proxy: RoundRobinProxy;
    const clients: TestClient[] = [];

    before(async () => {
      redis = await startRedis(kind);
      // A small responseLimit makes streaming clients open new streams often, each on the next process.
      nodes = await startNodes(2, { redis: redis.target, keyPrefix: `cross:${randomUUID()}:`, responseLimit: 4096 });
      // Each kind of request alternates between the processes on its own: a session's receiving
      // requests reach both however its sends interleave with them.
      proxy = await new RoundRobinProxy(
        nodes.map((node) => node.port),
        { perKind: true },
      ).listen();
    });
    after(async () => {
      for (const client of clients) client.sock.close();
      await proxy?.close();
      await Promise.all((nodes ?? []).map((node) => node.stop()));
      await redis?.stop();
    });

    const connect = async (route: string, transport: string): Promise<TestClient> => {
      const client = new TestClient(`${proxy.url}/${route}`, transport);
      clients.push(client);
      await clientEvent(client, client.opened, `the ${transport} session to open`);
      assert.equal(client.transport, transport, 'sockjs-client used the transport asked for');
      return client;
    };

    const allHooks = () => nodes.flatMap((node) => node.hooks);

    for (const transport of ['xhr-polling', 'xhr-streaming', 'eventsource', 'websocket'] as const) {
      it(`${transport}: every message reaches onMessage once, in order, and comes back in order`, async () => {
        const opensBefore = allHooks().filter((event) => event.hook === 'onOpen' && event.route === 'echo').length;
        const client = await connect('echo', transport);
        const echoOpens = () => allHooks().filter((event) => event.hook === 'onOpen' && event.route === 'echo');
        // Hooks are reported over IPC, which may lag behind the open frame.
        await waitUntil(() => echoOpens().length > opensBefore, 'onOpen');
        const opens = echoOpens();
        assert.equal(opens.length, opensBefore + 1, 'onOpen ran once');
        const { id } = opens.at(-1)!;

        // One at a time (each send and poll lands on the next process), then a burst.
        const padding = 'x'.repeat(400);
        const sent: string[] = [];
        for (let i = 0; i < 12; i++) {
          sent.push(`one-${i}-${padding}`);
          client.send(sent.at(-1)!);
          await awaitMessages(client, sent.length, `the echo of message ${i}`);
        }
        for (let i = 0; i < 30; i++) {
          sent.push(`burst-${i}`);
          client.send(sent.at(-1)!);
        }
        await awaitMessages(client, sent.length, 'the echoes of the burst');
        assert.deepEqual(client.received, sent);

        const messageHooks = () => allHooks().filter((event) => event.id === id && event.hook === 'onMessage');
        await waitUntil(() => messageHooks().length >= sent.length, 'onMessage reports');
        await new Promise((resolve) => setTimeout(resolve, 50));
        const onMessage = messageHooks();
        assert.deepEqual(
          onMessage.map((event) => event.message),
          sent,
          'onMessage saw each message once, in the order sent',
        );
        assert.equal(new Set(onMessage.map((event) => event.pid)).size, 1, 'hooks ran on the owning process only');

        const [a, b] = nodes.map((node) => node.port) as [number, number];
        if (transport === 'websocket') {
          assert.equal(proxy.count(a, 'websocket') + proxy.count(b, 'websocket'), 1);
        } else {
          // The point of the exercise: both processes served this session's requests.
          assert.ok(proxy.count(a, 'xhr_send') > 0 && proxy.count(b, 'xhr_send') > 0, 'sends reached both processes');
          const segment = RECEIVING[transport];
          assert.ok(proxy.count(a, segment) > 0 && proxy.count(b, segment) > 0, `${segment} requests reached both processes`);
        }
        const closed = await client.close();
        assert.equal(closed.code, 1000);
      });
    }

    it('broadcast() reaches sessions on every process, websocket ones included; count() is cluster-wide', async () => {
      const chat: TestClient[] = [];
      const owners = new Set<number>();
      const chatOpens = () => allHooks().filter((event) => event.hook === 'onOpen' && event.route === 'chat');
      // A websocket session on each process (upgrades pinned to it), plus polling and streaming.
      try {
        for (const node of nodes) {
          proxy.upgradesTo = node.port;
          const seen = chatOpens().length;
          chat.push(await connect('chat', 'websocket'));
          await waitUntil(() => chatOpens().length > seen, 'onOpen of the websocket session');
          owners.add(chatOpens().at(-1)!.pid);
        }
      } finally {
        proxy.upgradesTo = undefined;
      }
      assert.equal(owners.size, 2, 'websocket sessions on both processes');
      chat.push(await connect('chat', 'xhr-polling'), await connect('chat', 'xhr-streaming'));

      // A session's broadcast (this.manager.broadcast in onMessage) reaches everyone.
      chat[0]!.send('from a session');
      for (const client of chat) await awaitMessages(client, 1, 'the broadcast from a session');
      // A plain Koa route's broadcast (ctx.sockjs('chat').broadcast), from each process in turn.
      // Broadcasts from two processes have no order between them (each reaches the other
      // process's sessions through Redis, its own at once): each is awaited everywhere first.
      for (let i = 0; i < 2; i++) {
        const answer = await fetch(`${proxy.url}/broadcast?route=chat&message=from-route-${i}`);
        assert.equal(answer.status, 200);
        for (const client of chat) await awaitMessages(client, 2 + i, `the broadcast from route ${i}`);
      }
      for (const client of chat) assert.deepEqual(client.received, ['from a session', 'from-route-0', 'from-route-1']);

      // count() is the whole cluster's; activeSessions() is this process's own.
      const counts = await Promise.all(nodes.map(async (node) => (await fetch(`${node.url}/count?route=chat`)).json() as Promise<{ count: number; local: number }>));
      for (const { count } of counts) assert.equal(count, chat.length);
      assert.equal(counts.reduce((sum, { local }) => sum + local, 0), chat.length);
      assert.ok(counts.every(({ local }) => local < chat.length), 'each process sees only its own sessions as active');
    });
  });
}

async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
