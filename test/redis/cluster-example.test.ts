/**
 * examples/cluster runs as its README says: `npx tsx examples/cluster/cluster.ts` starts chat
 * processes on a RedisStore behind its round-robin proxy, and the chat works across them.
 * (It imports `koa-sockjs` and `koa-sockjs/redis` as an application does: from dist/.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { awaitMessages, clientEvent, TestClient } from '../helpers/redis-cluster.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('examples/cluster', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.stop();
  });

  it('serves the chat from several processes behind a proxy without sticky sessions', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/cluster/cluster.ts'], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: redis.url, PORT: '0', NODES: '2' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    const clients: TestClient[] = [];
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          output += chunk;
          const found = /Cluster running at (http:\/\/\S+?)\/? /.exec(output);
          if (found) resolve(found[1]!);
        });
        child.once('exit', () => reject(new Error(`the example exited: ${output}`)));
      });

      // Each process says who it is and where it listens; the proxy lists them all.
      const listening = [...output.matchAll(/^Chat process (\d+) listening on http:\/\/127\.0\.0\.1:(\d+)\/ \(Redis at redis:/gm)];
      assert.equal(listening.length, 2, output);
      for (const [, pid, port] of listening) assert.match(output, new RegExp(`Cluster running at .*pid ${pid} on port ${port}`));

      const page = await fetch(`${url}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /koa-sockjs cluster chat/);
      const pids = new Set<number>();
      for (let i = 0; i < 2; i++) pids.add(((await (await fetch(`${url}/stats`)).json()) as { process: number }).process);
      assert.equal(pids.size, 2, 'requests alternate between the processes');

      const alice = new TestClient(`${url}/chat?name=alice`, 'xhr-polling');
      const bob = new TestClient(`${url}/chat?name=bob`, 'websocket');
      clients.push(alice, bob);
      await Promise.all([clientEvent(alice, alice.opened, 'alice to connect'), clientEvent(bob, bob.opened, 'bob to connect')]);
      const closes = new Map<TestClient, unknown>();
      for (const client of clients) void client.closed.then((close) => closes.set(client, close));
      await awaitMessages(alice, 1, "alice's welcome");
      await awaitMessages(bob, 1, "bob's welcome");
      assert.match(String(alice.received[0]), /^Welcome, alice! Your session lives in process \d+\.$/);

      // The server puts each sender's name in front.
      alice.send('hello');
      bob.send('hi');
      const heard = (client: TestClient) => client.received.filter((message) => /^(alice|bob): /.test(String(message)));
      for (const client of clients) {
        const deadline = Date.now() + 10_000;
        while (heard(client).length < 2) {
          assert.ok(Date.now() < deadline, `both chat lines reached every client; ${client === alice ? 'alice' : 'bob'} got ${JSON.stringify(client.received)}, closed: ${JSON.stringify(closes.get(client))}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.deepEqual(heard(client).sort(), ['alice: hello', 'bob: hi']);
        const self = client === alice ? 'alice' : 'bob';
        assert.ok(!client.received.includes(`${self} joined.`), `${self} is not told that they joined`);
      }
      const stats = (await (await fetch(`${url}/stats`)).json()) as { sessionsInCluster: number };
      assert.equal(stats.sessionsInCluster, 2);
    } finally {
      for (const client of clients) client.sock.close();
      child.kill('SIGTERM');
      await exited;
    }
  });
});
