/**
 * Rooms across real processes sharing a RedisStore: sessions in overlapping rooms on two and
 * three processes get every room broadcast once and in the order sent, non-members nothing;
 * a process subscribes to a room's topic only while it has members of it; a process killed in
 * the middle of a stream of room broadcasts costs its own clients, nobody else's messages.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { awaitMessages, clientEvent, startNodes, RoundRobinProxy, TestClient, type ClusterNode } from '../helpers/redis-cluster.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

interface Member {
  client: TestClient;
  rooms: string[];
}

/** The messages of one stream (`<tag>-<i>`), in the order received. */
function stream(client: TestClient, tag: string): string[] {
  return client.received.filter((message): message is string => typeof message === 'string' && message.startsWith(`${tag}-`));
}

function sequence(tag: string, indexes: Iterable<number>): string[] {
  return [...indexes].map((i) => `${tag}-${i}`);
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

async function get(url: string): Promise<void> {
  const answer = await fetch(url);
  assert.equal(answer.status, 200, `${url} answered ${answer.status}`);
  await answer.arrayBuffer();
}

describe('rooms across processes on RedisStore', () => {
  let redis: RedisServer;
  let admin: Redis;
  let nodes: ClusterNode[];
  let proxy: RoundRobinProxy;
  let keyPrefix: string;
  const clients: TestClient[] = [];

  before(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url);
    keyPrefix = `rooms:${randomUUID()}:`;
    nodes = await startNodes(3, { redisUrl: redis.url, keyPrefix, responseLimit: 4096 });
    // Polling and streaming sessions through a balancer over the first two processes.
    proxy = await new RoundRobinProxy(nodes.slice(0, 2).map((node) => node.port)).listen();
  });
  after(async () => {
    for (const client of clients) client.sock.close();
    await proxy?.close();
    await Promise.all((nodes ?? []).map((node) => node.stop()));
    admin?.disconnect();
    await redis?.stop();
  });

  /** A session on `base` (a process, or the proxy) that has joined `rooms` on every process. */
  const member = async (base: string, rooms: string[], transport = 'websocket'): Promise<Member> => {
    const client = new TestClient(`${base}/rooms`, transport);
    clients.push(client);
    await clientEvent(client, client.opened, `the ${transport} session to open`);
    for (const room of rooms) {
      const before = client.received.length;
      client.send(JSON.stringify({ join: room }));
      await awaitMessages(client, before + 1, `the join of ${room}`);
      assert.deepEqual(client.received.at(-1), { joined: room });
    }
    return { client, rooms };
  };

  /** After a broadcast to everyone from each process, nothing sent before it is still on its way. */
  const settle = async (senders: ClusterNode[], members: Member[], mark: string): Promise<void> => {
    for (const node of senders) await get(`${node.url}/broadcast?route=rooms&message=${mark}-${node.port}`);
    for (const { client } of members) {
      await clientEvent(
        client,
        (async () => {
          while (!senders.every((node) => client.received.includes(`${mark}-${node.port}`))) await client.waitFor(client.received.length + 1);
        })(),
        `the ${mark} markers`,
      );
    }
  };

  const subscribers = async (room: string): Promise<number> => {
    const [, count] = (await admin.pubsub('NUMSUB', `${keyPrefix}rooms:topic:room:rooms:${room}`)) as [string, number];
    return count;
  };

  it('two processes: every member gets each message once, in order; non-members nothing; broadcast() and to() keep one order', async () => {
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    const members = [
      await member(a.url, ['red']),
      await member(a.url, ['red', 'blue']),
      await member(a.url, []),
      await member(b.url, ['blue']),
      await member(b.url, ['red', 'blue']),
      await member(b.url, ['green']),
      await member(proxy.url, ['red'], 'xhr-polling'),
      await member(proxy.url, ['blue'], 'xhr-streaming'),
    ];
    // Only the processes with members of a room listen to it.
    assert.equal(await subscribers('green'), 1);
    assert.equal(await subscribers('nobody'), 0);

    const count = 40;
    await Promise.all([
      get(`${a.url}/rooms-broadcast?route=rooms&rooms=red&tag=A&count=${count}`),
      get(`${b.url}/rooms-broadcast?route=rooms&rooms=red,blue&tag=B&count=${count}`),
      // Every other message to everyone (manager.broadcast), the rest to blue.
      get(`${a.url}/rooms-broadcast?route=rooms&rooms=blue&tag=M&count=${count}&mix=1`),
    ]);
    await settle([a, b], members, 'end');

    const odd = range(count).filter((i) => i % 2 === 1);
    for (const { client, rooms } of members) {
      const inRed = rooms.includes('red');
      const inBlue = rooms.includes('blue');
      const who = `the member of [${rooms.join(', ')}] over ${client.transport}`;
      assert.deepEqual(stream(client, 'A'), inRed ? sequence('A', range(count)) : [], `${who}: A`);
      assert.deepEqual(stream(client, 'B'), inRed || inBlue ? sequence('B', range(count)) : [], `${who}: B`);
      assert.deepEqual(stream(client, 'M'), sequence('M', inBlue ? range(count) : odd), `${who}: M`);
    }

    // The last member of green leaves: its process stops listening to green.
    const green = members[5]!.client;
    green.send(JSON.stringify({ leave: 'green' }));
    await awaitMessages(green, green.received.length + 1, 'the leave');
    assert.deepEqual(green.received.at(-1), { left: 'green', was: true });
    await waitFor(async () => (await subscribers('green')) === 0, 'the unsubscription from green');
    assert.equal(await subscribers('red'), 2);
  });

  it('three processes, three senders at once, overlapping rooms: once each, in each sender\'s order; a sender in its room', async () => {
    const [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const layout: Array<[ClusterNode, string[]]> = [
      [a, ['x']],
      [a, ['x', 'y']],
      [a, ['z']],
      [b, ['y']],
      [b, ['x', 'z']],
      [b, []],
      [c, ['x', 'y', 'z']],
      [c, ['y', 'z']],
      [c, []],
    ];
    const members: Member[] = [];
    for (const [node, rooms] of layout) members.push(await member(node.url, rooms));
    const count = 30;
    const streams = { P: ['x'], Q: ['y', 'z'], R: ['x', 'z'] } as const;
    // The paced streams report their last message; B's leaves in one tick, before its answer.
    const paced = [once(a.events, 'sent'), once(c.events, 'sent')];
    await Promise.all([
      get(`${a.url}/rooms-broadcast?route=rooms&rooms=x&tag=P&count=${count}&every=1`),
      get(`${b.url}/rooms-broadcast?route=rooms&rooms=y,z&tag=Q&count=${count}`),
      get(`${c.url}/rooms-broadcast?route=rooms&rooms=x,z&tag=R&count=${count}&every=1`),
    ]);
    // A session broadcasting to its own rooms, except itself: the others in them get it.
    const sender = members[6]!.client;
    sender.send(JSON.stringify({ to: ['x', 'y'], except: 'me', say: 'S-0' }));
    sender.send(JSON.stringify({ to: ['x', 'y'], say: 'S-1' }));
    await clientEvent(sender, waitStream(sender, 'S', 1), 'the sender\'s own S-1');
    await Promise.all(paced);
    await settle([a, b, c], members, 'end3');

    for (const [index, { client, rooms }] of members.entries()) {
      const who = `member ${index} of [${rooms.join(', ')}]`;
      for (const [tag, targets] of Object.entries(streams)) {
        const reached = targets.some((room) => rooms.includes(room));
        assert.deepEqual(stream(client, tag), reached ? sequence(tag, range(count)) : [], `${who}: ${tag}`);
      }
      const inXorY = rooms.includes('x') || rooms.includes('y');
      const expected = index === 6 ? ['S-1'] : inXorY ? ['S-0', 'S-1'] : [];
      assert.deepEqual(stream(client, 'S'), expected, `${who}: S`);
    }
  });

  it('a process killed in the middle of a stream of room broadcasts: the others still get every message once, in order', async () => {
    const [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const onA = await member(a.url, ['k']);
    const onB = await member(b.url, ['k']);
    const onC = await member(c.url, ['k']);
    const count = 150;

    // A member's process dies while C streams to the room.
    const sent = once(c.events, 'sent');
    await get(`${c.url}/rooms-broadcast?route=rooms&rooms=k&tag=K&count=${count}&every=8`);
    await clientEvent(onA.client, waitStream(onA.client, 'K', 20), 'the first 20 messages');
    await b.kill();
    const atKill = stream(onA.client, 'K').length;
    await sent;
    await settle([c], [onA, onC], 'after-kill');
    assert.ok(atKill < count, `the process died mid-stream (${atKill} of ${count} delivered by then)`);
    assert.deepEqual(stream(onA.client, 'K'), sequence('K', range(count)));
    assert.deepEqual(stream(onC.client, 'K'), sequence('K', range(count)));
    const partial = stream(onB.client, 'K');
    assert.deepEqual(partial, sequence('K', range(partial.length)), 'what reached the dead process\'s member was in order');
    await clientEvent(onB.client, onB.client.closed.then(() => undefined), "the dead process's client to close");

    // The sender dies mid-stream: the others get a prefix of its messages, in order, no repeats.
    await get(`${a.url}/rooms-broadcast?route=rooms&rooms=k&tag=L&count=${count}&every=8`);
    await clientEvent(onC.client, waitStream(onC.client, 'L', 20), 'the first 20 messages of the doomed sender');
    await a.kill();
    await settle([c], [onC], 'after-sender-kill');
    const prefix = stream(onC.client, 'L');
    assert.ok(prefix.length < count, `the sender died mid-stream (${prefix.length} of ${count})`);
    assert.deepEqual(prefix, sequence('L', range(prefix.length)));
  });
});

/** Resolves once `client` has `count` messages of the stream `tag`. */
async function waitStream(client: TestClient, tag: string, count: number): Promise<void> {
  while (stream(client, tag).length < count) await client.waitFor(client.received.length + 1);
}

async function waitFor(predicate: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
