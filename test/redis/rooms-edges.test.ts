/**
 * Rooms on RedisStore at their edges (issue 16, adversary pass): two routes in this process
 * share one Redis as two processes would (each store its own node id and connections), and a
 * websocket session on one hears what the other sends to its rooms.
 *
 * - A room joined, left and joined again before its first SUBSCRIBE answered must stay
 *   subscribed: the store keeps one listener set per channel, and the hub used to hand it the same
 *   listener function for every subscription, so stopping the first one unsubscribed the second.
 * - Room names are any non-empty strings: ':', '*', '{', spaces, newlines, unicode.
 * - Rooms a session leaves (by closing) leave no channel subscribed.
 * - A room whose first member here joined while Redis was down is subscribed again once Redis is
 *   back (it used to wait for another join to that room, which for one user's room may never come).
 * - After route.close(), a broadcast is dropped: it used to reach the closed store and put a
 *   store error on the app's error path for every broadcast an app made while shutting down.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import Koa from 'koa';
import { Session, sockjs, type SockjsMiddleware } from '../../src/index.js';
import { RedisStore } from '../../src/store/redis/index.js';
import { until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { FrameClient } from '../helpers/ws-client.js';

/** Obeys its client: `{ join: [rooms] }`, `{ rejoin: room }` (join, leave, join in one tick). */
class Member extends Session {
  override async onMessage(message: unknown): Promise<void> {
    const command = message as { join?: string[]; rejoin?: string };
    if (command.join) {
      await Promise.all(command.join.map((room) => this.join(room)));
      this.send('joined');
    } else if (command.rejoin !== undefined) {
      void this.join(command.rejoin);
      this.leave(command.rejoin);
      await this.join(command.rejoin);
      this.send('joined');
    }
  }
}

interface Process {
  route: SockjsMiddleware<Member>;
  server: Listening;
}

describe('rooms on RedisStore at the edges', () => {
  let redis: RedisServer;
  let admin: Redis;
  let keyPrefix: string;
  let sender: Process;
  let receiver: Process;

  const start = async (errors: string[] = []): Promise<Process> => {
    const store = new RedisStore({ url: redis.url, keyPrefix });
    await store.ready();
    const route = sockjs({ name: 'edges', prefix: '/s', session: Member, store, onError: (error, context) => errors.push(`${context}: ${String(error)}`) });
    const app = new Koa();
    app.use(route);
    return { route, server: await listen(app) };
  };

  before(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url);
    keyPrefix = `edges:${randomUUID()}:`;
    sender = await start();
    receiver = await start();
  });
  after(async () => {
    for (const process of [sender, receiver]) {
      await process?.route.close();
      await process?.server.close();
    }
    admin?.disconnect();
    await redis?.stop();
  });

  /** A websocket session on the receiving process that has done `command`. */
  const member = async (command: object): Promise<FrameClient> => {
    const client = new FrameClient(`${receiver.server.url}/s/0/${randomUUID()}/websocket`);
    await client.waitFor(1);
    client.ws.send(JSON.stringify([command]));
    assert.deepEqual(await client.waitFor(2), ['o', 'a["joined"]']);
    return client;
  };

  /** The messages a client got after joining, up to the sender's broadcast `end` to everyone. */
  const untilEnd = async (clients: FrameClient[]): Promise<string[][]> => {
    await new Promise((resolve) => setImmediate(resolve));
    sender.route.manager.broadcast('end');
    await Promise.all(clients.map((client) => until(() => client.frames.at(-1)?.endsWith('"end"]') === true, 'the end marker')));
    return clients.map((client) => client.frames.slice(2).flatMap((frame) => JSON.parse(frame.slice(1)) as string[]));
  };

  /** Resolves once `predicate` holds; each try is a round trip to Redis, so this never spins idle. */
  const eventually = async (predicate: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await predicate())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  const publishCalls = async (): Promise<number> => Number(/cmdstat_publish:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);

  const subscribedChannels = async (): Promise<string[]> => (await admin.pubsub('CHANNELS', `${keyPrefix}*room*`)) as string[];

  it('a room joined, left and joined again in one tick still hears the other process', async () => {
    const client = await member({ rejoin: 'red' });
    try {
      sender.route.manager.to('red').broadcast('to red');
      assert.deepEqual(await untilEnd([client]), [['to red', 'end']]);
    } finally {
      await client.close();
    }
    await until(() => receiver.route.manager.size === 0, 'the session to go');
  });

  it('room names with any characters reach their members only, across processes', async () => {
    const rooms = ['ünïcødé 🎉', 'a:b', 'a', '*', 'a*', '{tag}', '[a-z]', '?', 'with space', 'line\nbreak', '\\', '"quoted"', 'room:edges:a', '\u{10FFFF}'];
    const clients: FrameClient[] = [];
    try {
      for (const room of rooms) clients.push(await member({ join: [room] }));
      for (const room of rooms) sender.route.manager.to(room).broadcast(`to ${room}`);
      const received = await untilEnd(clients);
      assert.deepEqual(received, rooms.map((room) => [`to ${room}`, 'end']));
    } finally {
      for (const client of clients) await client.close();
    }
    await until(() => receiver.route.manager.size === 0, 'the sessions to go');
  });

  it('a session in a thousand rooms: one broadcast to all of them is published once and arrives once; closing it unsubscribes every one', async () => {
    const before = (await subscribedChannels()).length;
    const rooms = Array.from({ length: 1000 }, (_, i) => `many-${i}`);
    const client = await member({ join: rooms });
    try {
      assert.equal((await subscribedChannels()).length, before + rooms.length);
      const published = await publishCalls();
      sender.route.manager.to(rooms).broadcast('to all of them');
      assert.deepEqual(await untilEnd([client]), [['to all of them', 'end']]);
      // Once on the route's topic (and the end marker), not a copy naming 1 000 rooms per room.
      assert.ok((await publishCalls()) - published <= 4, `${(await publishCalls()) - published} PUBLISH`);
    } finally {
      await client.close();
    }
    await until(() => receiver.route.manager.size === 0, 'the session to go');
    // UNSUBSCRIBE is sent when the last member leaves; Redis has handled it once a later command answers.
    await admin.ping();
    let left = await subscribedChannels();
    for (let tries = 0; left.length !== before && tries < 100; tries++) left = await subscribedChannels();
    assert.equal(left.length, before);
  });

  it('after route.close(), broadcasts are dropped without a store error', async () => {
    const errors: string[] = [];
    const leaving = await start(errors);
    try {
      await leaving.route.close();
      leaving.route.manager.to('red').broadcast('after close');
      leaving.route.manager.to('red').except('blue').broadcast('after close');
      leaving.route.manager.broadcast('after close');
      await new Promise((resolve) => setImmediate(resolve));
      await admin.ping();
      assert.deepEqual(errors, []);
    } finally {
      await leaving.server.close();
    }
  });

  it('a room joined while Redis is down is subscribed again once Redis is back', { timeout: 30_000 }, async () => {
    const errors: string[] = [];
    const [far, near] = [await start(), await start(errors)];
    const client = new FrameClient(`${near.server.url}/s/0/${randomUUID()}/websocket`);
    try {
      await client.waitFor(1);
      await redis.stop({ kill: true });
      client.ws.send(JSON.stringify([{ join: ['while-down'] }]));
      assert.deepEqual(await client.waitFor(2), ['o', 'a["joined"]'], 'join() resolves, as always');
      assert.ok(errors.some((error) => error.startsWith('store subscribe to room while-down')), errors.join('\n'));
      await redis.start();
      const channel = `${keyPrefix}topic:room:edges:while-down`;
      const fresh = new Redis(redis.url);
      try {
        await eventually(async () => ((await fresh.pubsub('NUMSUB', channel)) as [string, number])[1] === 1, 'the room to be subscribed again', 20_000);
      } finally {
        fresh.disconnect();
      }
      await eventually(async () => {
        try {
          await (far.route.manager.store as RedisStore).publish('probe', '');
          return true;
        } catch {
          return false;
        }
      }, 'the sending process to reconnect', 20_000);
      far.route.manager.to('while-down').broadcast('back');
      await until(() => client.frames.includes('a["back"]'), 'the broadcast', 10_000);
    } finally {
      client.ws.terminate();
      for (const process of [far, near]) {
        await process.route.close();
        await process.server.close();
      }
    }
  });
});
