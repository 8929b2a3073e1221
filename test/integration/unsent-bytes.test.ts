/**
 * A session's unsent bytes are bounded across all its responses (issue 9, fault 3): a client
 * that polls but never reads is a stalled reader, closed with 1013, not a sink for the
 * server's memory.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import Koa from 'koa';
import { Session, sockjs, type SockjsManagedOptions } from '../../src/index.js';
import { post, until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { deafPoll, readRest } from '../helpers/deaf-poll.js';

const CHUNK = 'x'.repeat(256 * 1024);

/** Sends `n` chunks of 256 KiB when asked: `["feed", n]`. */
class Feed extends Session {
  static sessions: Feed[] = [];
  static closed: number[] = [];
  override onOpen(): void {
    Feed.sessions.push(this);
  }
  override onMessage(message: unknown): void {
    for (let i = 0; i < (message as number); i++) this.send(CHUNK);
  }
  override onClose(): void {
    Feed.closed.push(this.hits);
  }
}

const servers: Listening[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

async function start(options: SockjsManagedOptions<Session>): Promise<{ server: Listening; base: string }> {
  Feed.sessions = [];
  Feed.closed = [];
  const app = new Koa();
  app.use(sockjs({ prefix: '/s', session: Feed, ...options }));
  const server = await listen(app);
  servers.push(server);
  return { server, base: `${server.url}/s` };
}


describe('unsent bytes across all of a session\'s responses', () => {
  it('closes with 1013 a client that polls again without reading the answered poll, and drops that connection', async () => {
    // The limit is far above the data: only the stalled reader rule can close the session.
    const { server, base } = await start({ maxBufferedBytes: 256 * 1024 * 1024 });
    const id = randomUUID();
    assert.equal((await post(`${base}/000/${id}/xhr`)).body, 'o\n');
    // 12 MiB wait for the next poll: more than the kernel buffers of one loopback connection.
    assert.equal((await post(`${base}/000/${id}/xhr_send`, '[48]')).status, 204);
    const session = Feed.sessions[0]!;
    const first = deafPoll(server.port, `/s/000/${id}/xhr`);
    await until(() => session.hits === 2, 'the first deaf poll');
    const second = deafPoll(server.port, `/s/000/${id}/xhr`);
    await until(() => Feed.closed.length === 1, 'the session to close');
    assert.match(await readRest(second), /\r\n\r\nc\[1013,"Client too slow to receive"\]\n$/);
    // The unread answer was dropped with its connection, not kept: reading now, the client
    // finds only what its kernel buffers had taken, then the end.
    const unread = await readRest(first);
    assert.ok(unread.length < 48 * CHUNK.length, `the connection was cut (${unread.length} bytes read)`);
  });

  it('closes with 1013 once what waits for the next poll passes maxBufferedBytes', async () => {
    const { base } = await start({ maxBufferedBytes: 1024 * 1024 });
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    // 768 KiB wait; 768 more pass the limit: the session closes, and later sends are refused.
    assert.equal((await post(`${url}/xhr_send`, '[3]')).status, 204);
    assert.equal((await post(`${url}/xhr_send`, '[3]')).status, 204);
    assert.equal((await post(`${url}/xhr_send`, '[3]')).status, 404);
    // What was queued before the close still goes out, then the close frame.
    assert.ok((await post(`${url}/xhr`)).body.startsWith('a["xxx'));
    assert.equal((await post(`${url}/xhr`)).body, 'c[1013,"Client too slow to receive"]\n');
  });

  it('leaves a client that reads every answer alone, however large the answers', async () => {
    const { base } = await start({ maxBufferedBytes: 16 * 1024 * 1024 });
    const url = `${base}/000/${randomUUID()}`;
    await post(`${url}/xhr`);
    for (let round = 0; round < 3; round++) {
      assert.equal((await post(`${url}/xhr_send`, '[40]')).status, 204);
      const answer = (await post(`${url}/xhr`)).body;
      assert.equal((JSON.parse(answer.slice(1)) as string[]).length, 40, `round ${round}`);
    }
    assert.deepEqual(Feed.closed, []);
  });
});
