// Identity binding and flood limits across two processes sharing one Redis (the /secure route
// of test/redis/cluster-node.ts): a session opened on one process is refused to another
// identity on the other, the new-sessions window (RateLimiterRedis) and the route's session
// cap count both processes together.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ClusterNode, startNodes } from '../helpers/redis-cluster.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { RawHttpConnection, type ResponseHead } from '../conformance/helpers.js';

const WS_HEADERS = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' };
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

async function exchange(node: ClusterNode, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ head: ResponseHead; body: string }> {
  const connection = await RawHttpConnection.open(node.url);
  try {
    const head = await connection.request(method, `/secure${path}`, { headers, ...(body !== undefined ? { body } : {}) });
    const length = head.headers['content-length'];
    const text = head.status === 101 || length === undefined ? '' : (await connection.read(Number(length))).toString('utf8');
    return { head, body: text };
  } finally {
    connection.close();
  }
}

async function count(node: ClusterNode): Promise<number> {
  const response = await fetch(`${node.url}/count?route=secure`);
  return ((await response.json()) as { count: number }).count;
}

describe('security across two processes on Redis', () => {
  let redis: RedisServer;
  let a: ClusterNode;
  let b: ClusterNode;

  before(async () => {
    redis = await startRedisServer();
    // Sessions without a receiver live a minute: the counts below must not shrink meanwhile.
    [a, b] = (await startNodes(2, { redisUrl: redis.url, keyPrefix: `security:${randomUUID()}:`, disconnectDelay: 60_000, securePoints: 3, secureMax: 8 })) as [ClusterNode, ClusterNode];
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  it("a session opened on one process is another identity's 404 on the other, on every transport", async () => {
    const alice = { 'X-User': 'alice', 'X-Client': 'binding' };
    assert.equal((await exchange(a, 'POST', '/0/shared/xhr', alice)).body, 'o\n');
    const mallory = { 'X-User': 'mallory', 'X-Client': 'binding' };
    const attempts: Array<[string, string, Record<string, string>, string | undefined]> = [
      ['POST', 'xhr', {}, undefined],
      ['POST', 'xhr_send', {}, '["evil"]'],
      ['POST', 'xhr_streaming', {}, undefined],
      ['GET', 'eventsource', {}, undefined],
      ['GET', 'htmlfile?c=cb', {}, undefined],
      ['GET', 'jsonp?c=cb', {}, undefined],
      ['POST', 'jsonp_send', FORM, 'd=%5B%22evil%22%5D'],
      ['GET', 'websocket', WS_HEADERS, undefined],
    ];
    for (const [method, path, headers, body] of attempts) {
      const reply = await exchange(b, method, `/0/shared/${path}`, { ...mallory, ...headers }, body);
      assert.equal(reply.head.status, 404, `${path} on the other process`);
      assert.equal(reply.body, 'No such session.', path);
    }
    // The owner reaches it from either process; nothing of mallory's arrived.
    assert.equal((await exchange(b, 'POST', '/0/shared/xhr_send', alice, '["mine"]')).head.status, 204);
    assert.equal((await exchange(b, 'POST', '/0/shared/xhr', alice)).body, 'a["mine"]\n');
    const messages = [...a.hooks, ...b.hooks].filter((event) => event.hook === 'onMessage' && event.route === 'secure').map((event) => event.message);
    assert.deepEqual(messages, ['mine']);
  });

  it('new sessions per client count both processes: the third passes, the fourth is refused on either', async () => {
    const client = { 'X-User': 'carol', 'X-Client': 'carol-laptop' };
    assert.equal((await exchange(a, 'POST', '/0/carol-1/xhr', client)).head.status, 200);
    assert.equal((await exchange(b, 'POST', '/0/carol-2/xhr', client)).head.status, 200);
    assert.equal((await exchange(a, 'GET', '/0/carol-3/websocket', { ...client, ...WS_HEADERS })).head.status, 101);
    for (const node of [a, b]) {
      const over = await exchange(node, 'POST', '/0/carol-4/xhr', client);
      assert.equal(over.head.status, 429);
      assert.ok(Number(over.head.headers['retry-after']) > 0);
    }
    assert.equal((await exchange(b, 'GET', '/0/carol-5/websocket', { ...client, ...WS_HEADERS })).head.status, 429);
    // Another client still may.
    assert.equal((await exchange(b, 'POST', '/0/dave-1/xhr', { 'X-User': 'dave', 'X-Client': 'dave-phone' })).head.status, 200);
  });

  it("the route's session cap counts both processes; a full route refuses newcomers and keeps everyone", async () => {
    let serial = 0;
    while ((await count(a)) < 8) {
      const node = serial % 2 === 0 ? a : b;
      serial++;
      const reply = await exchange(node, 'POST', `/0/fill-${serial}/xhr`, { 'X-User': `u${serial}`, 'X-Client': `c${serial}` });
      assert.equal(reply.head.status, 200, `session ${serial} below the cap`);
    }
    for (const node of [a, b]) {
      const over = await exchange(node, 'POST', '/0/one-too-many/xhr', { 'X-User': 'late', 'X-Client': `late-${node.pid}` });
      assert.equal(over.head.status, 429, `over the cap on process ${node.pid}`);
    }
    assert.equal(await count(b), 8);
    // Nobody was evicted: the first session is still its owner's.
    assert.equal((await exchange(a, 'POST', '/0/shared/xhr_send', { 'X-User': 'alice' }, '["still here"]')).head.status, 204);
  });
});
