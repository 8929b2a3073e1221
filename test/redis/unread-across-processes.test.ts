/**
 * A new poll while the previous answer is unread is a stalled reader (issue 9, fault 3), whichever
 * process answered that poll and whichever the new one reaches: two routes on RedisStores of one
 * Redis (two processes as the session layer sees them: their own store connections, node ids
 * and subscriptions), and polls on connections of their own, straight to one process or the
 * other (a proxy in front would read the answers itself). The unread answer keeps the session's
 * receiver claim until it is read, so the new poll, wherever it lands, finds it: the unread
 * connection is dropped, the session closes with 1013, and the new poll gets the close frame.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import Koa from 'koa';
import { Session, sockjs } from '../../src/index.js';
import { RedisStore } from '../../src/store/redis/index.js';
import { post, until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { deafPoll, readRest } from '../helpers/deaf-poll.js';

const CHUNK = 'x'.repeat(256 * 1024);
/** 48 chunks, 12 MiB: more than the kernel buffers of one loopback connection take. */
const DEAF_ANSWER = 48;
const TOO_SLOW = 'c[1013,"Client too slow to receive"]';

/** Sends `n` chunks of 256 KiB when asked. */
class Feed extends Session {
  static closed = new Map<string, number>();
  override onMessage(message: unknown): void {
    for (let i = 0; i < (message as number); i++) this.send(CHUNK);
  }
  override onClose(): void {
    Feed.closed.set(this.id, (Feed.closed.get(this.id) ?? 0) + 1);
  }
}

/** Polls Redis until `predicate` holds; fails after 10 s. */
async function redisUntil(predicate: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await predicate())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}


describe('a new poll while an answer is unread, across processes on Redis', () => {
  let redis: RedisServer;
  let client: Redis;
  const keyPrefix = `unread:${randomUUID()}:`;
  let owner: Listening;
  let other: Listening;
  const routes: Array<ReturnType<typeof sockjs>> = [];
  const servers: Listening[] = [];
  before(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url);
    [owner, other] = await Promise.all(
      [0, 1].map(async (index) => {
        const store = new RedisStore({ url: redis.url, keyPrefix });
        await store.ready();
        // Far above the data: only the stalled reader rule can close a session here.
        const route = sockjs({ prefix: '/s', session: Feed, store, maxBufferedBytes: 256 * 1024 * 1024 });
        routes[index] = route;
        const app = new Koa();
        app.use(route);
        const server = await listen(app);
        servers.push(server);
        return server;
      }),
    ) as [Listening, Listening];
  });
  after(async () => {
    for (const route of routes) await route.close({ handOver: false });
    for (const server of servers) await server.close();
    client?.disconnect();
    await redis?.stop();
  });

  /** A session opened on the owner with DEAF_ANSWER chunks queued for its next poll. */
  async function queued(): Promise<{ path: string; id: string }> {
    const id = randomUUID();
    const path = `/s/000/${id}`;
    assert.equal((await post(`${owner.url}${path}/xhr`)).body, 'o\n');
    assert.equal((await post(`${owner.url}${path}/xhr_send`, `[${DEAF_ANSWER}]`)).status, 204);
    // routes[0] serves `owner`, where the session was opened.
    const sessionId = routes[0]!.manager.activeSessions().find((session) => !Feed.closed.has(session.id))!.id;
    return { path: `${path}/xhr`, id: sessionId };
  }

  for (const [answeredBy, nextTo] of [
    ['the owner', 'the other process'],
    ['the other process', 'the owner'],
    ['the other process', 'the same other process'],
  ] as const) {
    it(`answered by ${answeredBy}, polled again on ${nextTo}: 1013, and the unread connection is dropped`, async () => {
      const { path, id } = await queued();
      const key = path.split('/')[3]!;
      const outgoing = `${keyPrefix}outgoing:${key}`;
      await redisUntil(async () => (await client.llen(outgoing)) === DEAF_ANSWER, 'the chunks to be queued');
      const answering = answeredBy === 'the owner' ? routes[0]! : routes[1]!;
      const sentBefore = answering.manager.stats().messages.sent;
      const first = deafPoll((answeredBy === 'the owner' ? owner : other).port, path);
      // Answered (a poll still waiting for its answer is another matter: a second one meanwhile
      // gets c[2010]), and the claim kept by the unread answer.
      await until(() => answering.manager.stats().messages.sent === sentBefore + DEAF_ANSWER, 'the deaf poll to be answered');
      assert.equal(await client.llen(outgoing), 0);
      assert.notEqual(await client.hget(`${keyPrefix}session:${key}`, 'receiver'), null, 'the unread answer keeps the claim');
      const second = deafPoll((nextTo === 'the owner' ? owner : other).port, path);
      await until(() => Feed.closed.get(id) === 1, 'the session to close', 10_000);
      assert.match(await readRest(second), new RegExp(`\\r\\n\\r\\n${TOO_SLOW.replace(/[[\]]/g, '\\$&')}\\n$`));
      // The unread answer was dropped with its connection: reading now, the client finds only
      // what its kernel buffers had taken, then the end.
      const unread = await readRest(first);
      assert.ok(unread.length < DEAF_ANSWER * CHUNK.length, `the connection was cut (${unread.length} bytes read)`);
      assert.equal(Feed.closed.get(id), 1, 'closed once');
    });
  }

  it('leaves alone a client that reads every large answer, its polls alternating between processes', async () => {
    const id = randomUUID();
    const url = `/s/000/${id}`;
    assert.equal((await post(`${owner.url}${url}/xhr`)).body, 'o\n');
    const closedBefore = Feed.closed.size;
    for (let round = 0; round < 4; round++) {
      const server = round % 2 === 0 ? other : owner;
      assert.equal((await post(`${server.url}${url}/xhr_send`, '[40]')).status, 204);
      const answer = (await post(`${(round % 2 === 0 ? owner : other).url}${url}/xhr`)).body;
      assert.equal((JSON.parse(answer.slice(1)) as string[]).length, 40, `round ${round}`);
    }
    assert.equal(Feed.closed.size, closedBefore, 'no session closed');
  });
});
