/** Rooms on one process: join, leave, to(), in(), except(), order, and membership through every ending on every transport. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import Koa from 'koa';
import { WebSocket } from 'ws';
import { MemoryStore, Session, SockjsArgumentError, sockjs, type SockjsMiddleware, type SockjsManagedOptions, type Unsubscribe } from '../../src/index.js';
import { FakeTimers } from '../helpers/fake-timers.js';
import { open, post, request, until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { SharedMemoryStore } from '../helpers/shared-memory-store.js';
import { FrameClient } from '../helpers/ws-client.js';

/** Joins the rooms of `Member.onOpenRooms` when it opens; obeys commands sent by its client. */
class Member extends Session {
  static sessions: Member[] = [];
  static onOpenRooms: string[] = [];
  override onOpen(): void {
    Member.sessions.push(this);
    for (const room of Member.onOpenRooms) void this.join(room);
  }
  override onMessage(message: unknown): void {
    const command = message as { join?: string; leave?: string; to?: string | string[]; exceptMe?: boolean; say?: unknown };
    if (command.join !== undefined) void this.join(command.join).then(() => this.send({ joined: command.join }));
    else if (command.leave !== undefined) this.send({ left: command.leave, was: this.leave(command.leave) });
    else if (command.to !== undefined) {
      const target = this.manager.to(command.to);
      (command.exceptMe ? target.except(this) : target).broadcast(command.say);
    }
  }
}

const servers: Listening[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

async function start(options: SockjsManagedOptions<Member> = {}): Promise<{ base: string; route: SockjsMiddleware<Member> }> {
  Member.sessions = [];
  Member.onOpenRooms = [];
  const app = new Koa();
  const route = sockjs({ prefix: '/s', session: Member, ...options });
  app.use(route);
  const server = await listen(app);
  servers.push(server);
  return { base: `${server.url}/s`, route };
}

/** Opens websocket sessions, one at a time, so Member.sessions[i] is clients[i]'s. */
async function clients(base: string, count: number): Promise<FrameClient[]> {
  const opened: FrameClient[] = [];
  for (let i = 0; i < count; i++) {
    const client = new FrameClient(`${base}/0/0/websocket`);
    await client.waitFor(1);
    await until(() => Member.sessions.length === i + 1, 'onOpen');
    opened.push(client);
  }
  return opened;
}

/** A last broadcast to everyone marks the end: what a client got before it is all it will get. */
async function settle(route: SockjsMiddleware<Member>, all: FrameClient[]): Promise<void> {
  // In a tick of its own, so it leaves in a frame of its own.
  await new Promise((resolve) => setImmediate(resolve));
  route.manager.broadcast('end');
  await Promise.all(all.map((client) => until(() => client.frames.at(-1) === 'a["end"]', 'the end marker')));
}

describe('rooms on one process', () => {
  it('to(room) reaches the members only, each once, from a value encoded once', async () => {
    const { base, route } = await start();
    const [a, b, c] = await clients(base, 3);
    const [sa, sb, sc] = Member.sessions as [Member, Member, Member];
    await sa.join('red');
    await sb.join('red');
    await sb.join('blue');
    await sc.join('blue');
    let encodings = 0;
    route.manager.to('red').broadcast({
      toJSON() {
        encodings++;
        return 'r1';
      },
    });
    route.manager.to(['red', 'blue']).broadcast('both');
    await settle(route, [a!, b!, c!]);
    assert.equal(encodings, 1, 'encoded once for two members');
    // What one tick holds for a session leaves as one frame.
    assert.deepEqual(a!.frames, ['o', 'a["r1","both"]', 'a["end"]']);
    assert.deepEqual(b!.frames, ['o', 'a["r1","both"]', 'a["end"]'], 'in both rooms, the message once');
    assert.deepEqual(c!.frames, ['o', 'a["both"]', 'a["end"]']);
    assert.deepEqual([...sb.rooms].sort(), ['blue', 'red']);
    for (const client of [a, b, c]) await client!.close();
  });

  it('in(room): size and sessions() of this process; session.rooms; leave()', async () => {
    const { base, route } = await start();
    const all = await clients(base, 3);
    const [sa, sb, sc] = Member.sessions as [Member, Member, Member];
    void sa.join('red');
    void sb.join('red');
    void sc.join('blue');
    const { manager } = route;
    assert.equal(manager.in('red').size, 2);
    assert.deepEqual(manager.in('red').sessions(), [sa, sb]);
    assert.deepEqual(manager.in(['red', 'blue']).sessions(), [sa, sb, sc]);
    assert.deepEqual(manager.in('red').except(sa).sessions(), [sb]);
    assert.equal(manager.in('nobody').size, 0);
    assert.equal(manager.except('red').size, 1);
    assert.equal(sa.leave('red'), true);
    assert.equal(sa.leave('red'), false, 'not a member any more');
    assert.deepEqual([...sa.rooms], []);
    assert.deepEqual(manager.in('red').sessions(), [sb]);
    // Joining twice is being in the room once.
    void sb.join('red');
    assert.equal(manager.in('red').size, 1);
    for (const client of all) await client.close();
  });

  it('except() leaves out sessions and the members of rooms', async () => {
    const { base, route } = await start();
    const all = await clients(base, 3);
    const [a, b, c] = all as [FrameClient, FrameClient, FrameClient];
    const [sa, sb, sc] = Member.sessions as [Member, Member, Member];
    void sa.join('red');
    void sb.join('red');
    void sc.join('blue');
    const { manager } = route;
    manager.to('red').except(sa).broadcast('red but a');
    manager.except('blue').broadcast('all but blue');
    manager.except([sb, 'blue']).broadcast('all but b and blue');
    manager.to(['red', 'blue']).except('red').broadcast('blue only');
    await settle(route, all);
    assert.deepEqual(a.frames, ['o', 'a["all but blue","all but b and blue"]', 'a["end"]']);
    assert.deepEqual(b.frames, ['o', 'a["red but a","all but blue"]', 'a["end"]']);
    assert.deepEqual(c.frames, ['o', 'a["blue only"]', 'a["end"]']);
    for (const client of all) await client.close();
  });

  it("a sender in its own room gets its message, unless it excepts itself", async () => {
    const { base, route } = await start();
    const all = await clients(base, 2);
    const [a, b] = all as [FrameClient, FrameClient];
    a.send({ join: 'red' });
    b.send({ join: 'red' });
    await a.waitFor(2);
    await b.waitFor(2);
    a.send({ to: 'red', say: 'to all of red' });
    await b.waitFor(3);
    a.send({ to: 'red', exceptMe: true, say: 'to the others' });
    await b.waitFor(4);
    await settle(route, all);
    assert.deepEqual(a.frames, ['o', 'a[{"joined":"red"}]', 'a["to all of red"]', 'a["end"]']);
    assert.deepEqual(b.frames, ['o', 'a[{"joined":"red"}]', 'a["to all of red"]', 'a["to the others"]', 'a["end"]']);
    for (const client of all) await client.close();
  });

  it('keeps call order across broadcast(), to(room).broadcast() and send() in one tick', async () => {
    const { base, route } = await start();
    const all = await clients(base, 2);
    const [member, other] = all as [FrameClient, FrameClient];
    const session = Member.sessions[0]!;
    void session.join('red');
    const { manager } = route;
    manager.broadcast('b1');
    manager.to('red').broadcast('r1');
    manager.to('red').broadcast('r2');
    session.send('direct');
    manager.to('red').broadcast('r3');
    manager.broadcast('b2');
    await settle(route, all);
    // What a session gets of one tick's broadcasts leaves as one frame, in call order; a direct
    // send goes out after the broadcasts made before it.
    assert.deepEqual(member.frames, ['o', 'a["b1","r1","r2"]', 'a["direct"]', 'a["r3","b2"]', 'a["end"]']);
    assert.deepEqual(other.frames, ['o', 'a["b1"]', 'a["b2"]', 'a["end"]']);
    for (const client of all) await client.close();
  });

  it('one tick of broadcasts to overlapping rooms: each session its messages, in call order, in one frame', async () => {
    const { base, route } = await start();
    const all = await clients(base, 4);
    const [a, b, c, d] = all as [FrameClient, FrameClient, FrameClient, FrameClient];
    const [sa, sb, sc] = Member.sessions as [Member, Member, Member];
    void sa.join('x');
    void sb.join('x');
    void sb.join('y');
    void sc.join('y');
    const { manager } = route;
    manager.to('x').broadcast('m1');
    manager.to('y').broadcast('m2');
    manager.to('x').broadcast('m3');
    manager.broadcast('m4');
    manager.to(['x', 'y']).except(sb).broadcast('m5');
    await settle(route, all);
    assert.deepEqual(a.frames, ['o', 'a["m1","m3","m4","m5"]', 'a["end"]']);
    assert.deepEqual(b.frames, ['o', 'a["m1","m2","m3","m4"]', 'a["end"]']);
    assert.deepEqual(c.frames, ['o', 'a["m2","m4","m5"]', 'a["end"]']);
    assert.deepEqual(d.frames, ['o', 'a["m4"]', 'a["end"]']);
    for (const client of all) await client.close();
  });

  it('queues room broadcasts for a polling member between polls', async () => {
    const { base, route } = await start();
    Member.onOpenRooms = ['red'];
    const url = `${base}/000/${randomUUID()}`;
    assert.equal((await post(`${url}/xhr`)).body, 'o\n');
    route.manager.to('red').broadcast('one');
    route.manager.to('blue').broadcast('not for you');
    await new Promise((resolve) => setImmediate(resolve));
    route.manager.to('red').broadcast('two');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await post(`${url}/xhr`)).body, 'a["one","two"]\n');
    Member.sessions[0]!.expire();
  });

  it('subscribes to a room topic of the store while the room has members here, once', async () => {
    const events: string[] = [];
    class WatchedStore extends SharedMemoryStore {
      override subscribe(topic: string, listener: (payload: string) => void): Unsubscribe {
        const stop = super.subscribe(topic, listener);
        if (!topic.startsWith('room:')) return stop;
        events.push(`subscribe ${topic}`);
        return () => {
          events.push(`unsubscribe ${topic}`);
          return stop();
        };
      }
    }
    const { base } = await start({ name: 'r:1', store: new WatchedStore() });
    const all = await clients(base, 2);
    const [sa, sb] = Member.sessions as [Member, Member];
    await sa.join('red');
    await sb.join('red');
    assert.deepEqual(events, ['subscribe room:r%3A1:red'], 'the second member needs no subscription');
    sa.leave('red');
    assert.equal(events.length, 1);
    await all[1]!.close();
    await until(() => events.length === 2, 'the last member to leave');
    assert.deepEqual(events, ['subscribe room:r%3A1:red', 'unsubscribe room:r%3A1:red']);
    await all[0]!.close();
  });

  it('join() resolves once the store subscription holds; a room left meanwhile is unsubscribed once it does; a failed one is retried', async () => {
    const events: string[] = [];
    const pending: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
    const memory = new SharedMemoryStore();
    // A networked store's answer takes a while: room subscriptions wait until the test lets them go.
    const slowSubscribe = (topic: string, listener: (payload: string) => void): Unsubscribe | Promise<Unsubscribe> => {
      if (!topic.startsWith('room:')) return memory.subscribe(topic, listener);
      events.push(`subscribe ${topic}`);
      return new Promise<Unsubscribe>((resolve, reject) => {
        pending.push({
          resolve: () => {
            const stop = memory.subscribe(topic, listener);
            resolve(() => {
              events.push(`unsubscribe ${topic}`);
              return stop();
            });
          },
          reject,
        });
      });
    };
    const store = new Proxy(memory, {
      get: (target, property) => {
        if (property === 'subscribe') return slowSubscribe;
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const errors: string[] = [];
    const { base } = await start({ name: 'slow', store, onError: (_error, context) => errors.push(context) });
    const all = await clients(base, 2);
    const [sa, sb] = Member.sessions as [Member, Member];

    let joined = false;
    const joining = sa.join('red').then(() => {
      joined = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(joined, false, 'not before the subscription holds');
    const second = sb.join('red');
    assert.equal(pending.length, 1, 'one subscription per room and process');
    pending.shift()!.resolve();
    await joining;
    await second;
    assert.deepEqual(events, ['subscribe room:slow:red']);

    // Left before the subscription held: it is stopped as soon as it does.
    const blue = sa.join('blue');
    sa.leave('blue');
    pending.shift()!.resolve();
    await blue;
    await until(() => events.length === 3, 'the unsubscription');
    assert.deepEqual(events.slice(1), ['subscribe room:slow:blue', 'unsubscribe room:slow:blue']);

    // A failed subscription: join() still resolves, onError hears of it, the next join tries again.
    const green = sa.join('green');
    pending.shift()!.reject(new Error('store down'));
    await green;
    assert.deepEqual(errors, ['store subscribe to room green']);
    assert.equal(sa.rooms.has('green'), true, 'still a member here');
    const again = sb.join('green');
    assert.equal(events.at(-1), 'subscribe room:slow:green');
    pending.shift()!.resolve();
    await again;
    for (const client of all) await client.close();
    await until(() => events.filter((event) => event.startsWith('unsubscribe')).length === 3, 'every room to be left');
  });

  it('delivers room broadcasts published by another process, once per message however many rooms it names', async () => {
    const errors: string[] = [];
    const store = new SharedMemoryStore();
    const { base, route } = await start({ name: 'x', store, onError: (error, context) => errors.push(`${context}: ${(error as Error).message}`) });
    const all = await clients(base, 2);
    const [a, b] = all as [FrameClient, FrameClient];
    const [sa, sb] = Member.sessions as [Member, Member];
    await sa.join('red');
    await sa.join('blue');
    await sb.join('blue');
    // What another process publishes: `<its node id>\n{"s":sequence,"r":rooms,"m":encoded messages}`, once per room.
    const envelope = JSON.stringify({ s: 1, r: ['red', 'blue'], m: ['"both"'] });
    store.publish('room:x:red', `other\n${envelope}`);
    store.publish('room:x:blue', `other\n${envelope}`);
    store.publish('room:x:blue', `other\n${JSON.stringify({ s: 2, r: ['blue'], xs: [sb.id], m: ['"blue but b"'] })}`);
    store.publish('room:x:blue', 'other\n{"s":"three","m":[]}');
    store.publish('broadcast:x', `other\n${JSON.stringify({ s: 3, xr: ['red'], m: ['"all but red"'] })}`);
    await settle(route, all);
    assert.deepEqual(a.frames, ['o', 'a["both","blue but b"]', 'a["end"]']);
    assert.deepEqual(b.frames, ['o', 'a["both","all but red"]', 'a["end"]']);
    assert.deepEqual(errors, ['broadcast received on a room topic: koa-sockjs: malformed broadcast payload']);
    for (const client of all) await client.close();
  });

  it('rejects room names that are not non-empty strings with a SockjsArgumentError (a TypeError)', async () => {
    const { base, route } = await start();
    const [client] = await clients(base, 1);
    const session = Member.sessions[0]!;
    const { manager } = route;
    assert.throws(() => session.join(''), { name: 'SockjsArgumentError', code: 'SOCKJS_ERR_INVALID_ARGUMENT', message: 'koa-sockjs: room must be a non-empty string, got an empty string' });
    assert.throws(() => session.join(7 as unknown as string), (error) => error instanceof SockjsArgumentError && error instanceof TypeError && /got number/.test(error.message));
    assert.throws(() => session.leave(undefined as unknown as string), TypeError);
    assert.throws(() => manager.to(''), /to\(rooms\): a room must be a non-empty string/);
    assert.throws(() => manager.in(['ok', 3 as unknown as string]), TypeError);
    assert.throws(() => manager.to(null as unknown as string), /takes a room name or an array/);
    assert.throws(() => manager.except(5 as unknown as string), /except\(\) takes sessions and room names, got number/);
    assert.throws(() => manager.to('red').broadcast(10n), { name: 'MessageEncodingError' });
    await client!.close();
  });

  it('a session that is not open joins nothing', async () => {
    const { base, route } = await start();
    const [client] = await clients(base, 1);
    const session = Member.sessions[0]!;
    session.close();
    await client!.closed;
    await session.join('red');
    assert.equal(route.manager.in('red').size, 0);
    assert.deepEqual([...session.rooms], []);
  });
});

/** How a session of one transport is opened, and how its client goes away without a close. */
interface TransportCase {
  name: string;
  open(base: string): Promise<{ goAway(timers: FakeTimers): Promise<void> }>;
}

const STREAMING = { 'xhr-streaming': ['POST', 'xhr_streaming'], eventsource: ['GET', 'eventsource'], htmlfile: ['GET', 'htmlfile?c=cb'] } as const;

const TRANSPORTS: TransportCase[] = [
  {
    name: 'websocket',
    async open(base) {
      const client = new FrameClient(`${base}/0/0/websocket`);
      await client.waitFor(1);
      return { goAway: async () => void (await client.close()) };
    },
  },
  {
    name: 'raw websocket',
    async open(base) {
      const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/websocket`);
      ws.on('error', () => {});
      const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
      await new Promise<void>((resolve) => ws.on('open', () => resolve()));
      return {
        goAway: async () => {
          ws.close();
          await closed;
        },
      };
    },
  },
  ...(['xhr-polling', 'jsonp-polling'] as const).map(
    (name): TransportCase => ({
      name,
      async open(base) {
        const url = `${base}/000/${randomUUID()}`;
        const reply = name === 'xhr-polling' ? await post(`${url}/xhr`) : await request(`${url}/jsonp?c=cb`);
        assert.equal(reply.status, 200);
        // A polling client that stops polling: the session times out after disconnectDelay.
        return { goAway: async (timers) => timers.advance(5000) };
      },
    }),
  ),
  ...(Object.keys(STREAMING) as (keyof typeof STREAMING)[]).map(
    (name): TransportCase => ({
      name,
      async open(base) {
        const [method, path] = STREAMING[name];
        const stream = open(`${base}/000/${randomUUID()}/${path}`, { method });
        await stream.response;
        // A streaming client that vanishes: the session is interrupted.
        return { goAway: async () => stream.abort() };
      },
    }),
  ),
];

describe('room membership through every ending, on every transport', () => {
  const endings = {
    'session.close()': async (session: Member) => session.close(),
    'session.expire()': async (session: Member) => session.expire(),
    'eviction by the store': async (_session: Member, base: string) => {
      // The store holds one session: a second one evicts the first.
      await post(`${base}/000/${randomUUID()}/xhr`);
    },
    'the client going away': async (_session: Member, _base: string, goAway: () => Promise<void>) => goAway(),
  } as const;

  for (const transport of TRANSPORTS) {
    for (const [ending, end] of Object.entries(endings)) {
      it(`${transport.name}: leaves every room on ${ending}`, async () => {
        const timers = new FakeTimers();
        const { base, route } = await start({ timers, store: new MemoryStore({ maxSessions: 1, now: () => timers.now() }) });
        Member.onOpenRooms = ['red', 'blue'];
        const { goAway } = await transport.open(base);
        await until(() => Member.sessions.length === 1, 'onOpen');
        const session = Member.sessions[0]!;
        Member.onOpenRooms = [];
        const { manager } = route;
        assert.deepEqual([...session.rooms], ['red', 'blue']);
        assert.equal(manager.in('red').size, 1);
        assert.deepEqual(manager.in(['red', 'blue']).sessions(), [session]);
        await end(session, base, () => goAway(timers));
        await until(() => manager.in(['red', 'blue']).size === 0, 'the session to leave its rooms');
        // It has left them, and still names them (for a goodbye from its hooks).
        assert.deepEqual([...session.rooms], ['red', 'blue']);
        assert.equal(session.leave('red'), false);
        // Nothing left to reach: broadcasting to the rooms is harmless.
        manager.to(['red', 'blue']).broadcast('anyone?');
        for (const other of Member.sessions.slice(1)) other.expire();
      });
    }
  }
});
