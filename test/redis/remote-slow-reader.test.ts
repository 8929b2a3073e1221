/**
 * Unsent bytes are bounded wherever a session's receiving connection is (issue 9, fault 3): a
 * stream served by another process than the session's owner, whose client stops reading, ends
 * with 1013 and the owner's session closes, instead of the serving process buffering for ever.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import Koa from 'koa';
import { Session, sockjs } from '../../src/index.js';
import { RedisStore } from '../../src/store/redis/index.js';
import { post, until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const CHUNK = 'x'.repeat(256 * 1024);

class Feed extends Session {
  static closed = 0;
  override onMessage(message: unknown): void {
    for (let i = 0; i < (message as number); i++) this.send(CHUNK);
  }
  override onClose(): void {
    Feed.closed++;
  }
}

describe('a stream served by another process whose client stops reading', () => {
  let redis: RedisServer;
  let client: Redis;
  const servers: Listening[] = [];
  const routes: Array<ReturnType<typeof sockjs>> = [];
  before(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url);
  });
  after(async () => {
    for (const route of routes) await route.close();
    for (const server of servers) await server.close();
    client?.disconnect();
    await redis?.stop();
  });

  it('ends with 1013 once its backlog passes maxBufferedBytes, and the session closes', async () => {
    const keyPrefix = `slow:${randomUUID()}:`;
    const [owner, other] = await Promise.all(
      [0, 1].map(async () => {
        const store = new RedisStore({ url: redis.url, keyPrefix });
        await store.ready();
        const route = sockjs({ prefix: '/s', session: Feed, store, maxBufferedBytes: 1024 * 1024, responseLimit: 256 * 1024 * 1024 });
        routes.push(route);
        const app = new Koa();
        app.use(route);
        const server = await listen(app);
        servers.push(server);
        return server;
      }),
    );
    const id = randomUUID();
    assert.equal((await post(`${owner!.url}/s/000/${id}/xhr`)).body, 'o\n');
    // The stream goes to the other process, and its client never reads.
    const stream = net.connect(other!.port, '127.0.0.1');
    stream.pause();
    stream.write(`POST /s/000/${id}/xhr_streaming HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n`);
    const record = `${keyPrefix}session:${id}`;
    while ((await client.hget(record, 'receiver')) === null) await new Promise((resolve) => setImmediate(resolve));
    // 256 KiB at a time, each taken by the stream before the next: the owner never holds more
    // than its limit, the stream's connection fills up.
    for (let sent = 0; Feed.closed === 0 && sent < 160; sent++) {
      const answer = await post(`${owner!.url}/s/000/${id}/xhr_send`, '[1]');
      if (answer.status === 404) break;
      while ((await client.llen(`${keyPrefix}outgoing:${id}`)) > 0 && Feed.closed === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => Feed.closed === 1, 'the session to close');
    // Reading at last, the client finds the reason after what it was sent.
    const received = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      stream.resume();
    });
    assert.ok(received.includes('c[1013,"Client too slow to receive"]\n'), 'the close frame ends the stream');
    stream.destroy();
  });
});
