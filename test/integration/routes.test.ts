/** Several routes in one app, custom managers and stores, ctx.sockjs() and ctx.state. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import Koa from 'koa';
import {
  MemoryStore,
  Session,
  SessionManager,
  SockjsOptionError,
  UnknownRouteError,
  sockjs,
  type Mailbox,
  type SessionRecord,
} from '../../src/index.js';
import { post, request } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { FrameClient } from '../helpers/ws-client.js';

const servers: Listening[] = [];
after(async () => {
  for (const server of servers) await server.close();
});
async function serve(app: Koa): Promise<string> {
  const server = await listen(app);
  servers.push(server);
  return server.url;
}

class Upper extends Session {
  override onMessage(message: unknown): void {
    this.send(String(message).toUpperCase());
  }
}
class Lower extends Session {
  override onMessage(message: unknown): void {
    this.send(String(message).toLowerCase());
  }
}

/** A user-written store: MemoryStore underneath, every call recorded. */
class RecordingStore extends MemoryStore {
  readonly calls: string[] = [];
  override create(key: string, record: SessionRecord, ttlMs: number) {
    this.calls.push('create');
    return super.create(key, record, ttlMs);
  }
  override push(key: string, mailbox: Mailbox, messages: readonly string[]) {
    this.calls.push(`push ${mailbox} ${messages.join(',')}`);
    return super.push(key, mailbox, messages);
  }
  override take(key: string, mailbox: Mailbox) {
    const taken = super.take(key, mailbox);
    if (taken.length) this.calls.push(`take ${mailbox} ${taken.join(',')}`);
    return taken;
  }
  override claimReceiver(key: string, token: string, ttlMs: number) {
    this.calls.push('claim');
    return super.claimReceiver(key, token, ttlMs);
  }
  override claimAndTake(key: string, token: string, ttlMs: number) {
    const taken = super.claimAndTake(key, token, ttlMs);
    this.calls.push(`claimAndTake outgoing ${taken?.join(',')}`);
    return taken;
  }
}

describe('routes', () => {
  it('serves two routes with their own Session classes and managers', async () => {
    const app = new Koa();
    const upper = sockjs({ name: 'upper', prefix: '/upper', session: Upper });
    const lower = sockjs({ name: 'lower', prefix: '/lower', session: Lower });
    app.use(upper).use(lower);
    const base = await serve(app);
    const a = new FrameClient(`${base}/upper/0/0/websocket`);
    const b = new FrameClient(`${base}/lower/0/0/websocket`);
    await Promise.all([a.waitFor(1), b.waitFor(1)]);
    a.send('Mixed');
    b.send('Mixed');
    assert.equal((await a.waitFor(2))[1], 'a["MIXED"]');
    assert.equal((await b.waitFor(2))[1], 'a["mixed"]');
    assert.equal(upper.manager.size, 1);
    assert.equal(lower.manager.size, 1);
    assert.notEqual(upper.manager, lower.manager);
    await Promise.all([a.close(), b.close()]);
  });

  it('uses the default name and prefix', async () => {
    const app = new Koa();
    const route = sockjs();
    app.use(route);
    app.use((ctx) => {
      ctx.body = ctx.sockjs() === route.manager ? 'same manager' : 'other';
    });
    const base = await serve(app);
    assert.equal((await request(`${base}/__sockjs__`)).body, 'Welcome to SockJS!\n');
    assert.equal((await request(`${base}/elsewhere`)).body, 'same manager');
    assert.equal(route.manager.name, '');
  });

  it('reaches every route from any middleware, by name, and on ctx.state', async () => {
    const app = new Koa();
    const seen: string[] = [];
    // This middleware runs before the routes are reached, and still finds them.
    app.use(async (ctx, next) => {
      if (ctx.path === '/early') {
        seen.push(ctx.sockjs('b').name);
        ctx.body = 'ok';
        return;
      }
      await next();
    });
    const a = sockjs({ name: 'a', prefix: '/a' });
    const b = sockjs({ name: 'b', prefix: '/b' });
    app.use(a).use(b);
    app.use((ctx) => {
      const managers = ctx.state.sockjs ?? {};
      seen.push(Object.keys(managers).sort().join(','));
      assert.equal(managers.a, a.manager);
      try {
        ctx.sockjs('nope');
      } catch (error) {
        assert.ok(error instanceof UnknownRouteError);
        seen.push((error as Error).message);
      }
      ctx.body = 'ok';
    });
    const base = await serve(app);
    await request(`${base}/early`);
    await request(`${base}/late`);
    assert.deepEqual(seen, ['b', 'a,b', 'koa-sockjs: no SockJS route named "nope" (mounted: "a", "b")']);
  });

  it('fails loudly when two routes share a name or a prefix', async () => {
    for (const [first, second, option] of [
      [{ name: 'x', prefix: '/x1' }, { name: 'x', prefix: '/x2' }, 'name'],
      [{ name: 'y1', prefix: '/y' }, { name: 'y2', prefix: '/y' }, 'prefix'],
    ] as const) {
      const app = new Koa();
      const errors: Error[] = [];
      app.silent = true;
      app.on('error', (error: Error) => errors.push(error));
      app.use(sockjs(first)).use(sockjs(second));
      const base = await serve(app);
      const reply = await request(`${base}/anything`);
      assert.equal(reply.status, 500);
      assert.ok(errors[0] instanceof SockjsOptionError);
      assert.equal((errors[0] as SockjsOptionError).option, option);
    }
  });

  it('accepts a custom SessionManager class and instance', async () => {
    class CountingManager extends SessionManager {
      broadcasts = 0;
      override broadcast(value: unknown): void {
        this.broadcasts++;
        super.broadcast(value);
      }
    }
    const byClass = sockjs({ name: 'c', prefix: '/c', manager: CountingManager, session: Upper });
    assert.ok(byClass.manager instanceof CountingManager);
    assert.equal(byClass.manager.name, 'c');
    assert.equal(byClass.manager.sessionClass, Upper);

    const instance = new CountingManager({ name: 'i', session: Lower, heartbeatDelay: 1000 });
    const byInstance = sockjs({ name: 'i', prefix: '/i', manager: instance });
    assert.equal(byInstance.manager, instance);
    const app = new Koa();
    app.use(byClass).use(byInstance);
    const base = await serve(app);
    const client = new FrameClient(`${base}/i/0/0/websocket`);
    await client.waitFor(1);
    instance.broadcast('to all');
    assert.equal((await client.waitFor(2))[1], 'a["to all"]');
    assert.equal(instance.broadcasts, 1);
    await client.close();

    // The type refuses manager options beside an instance; JavaScript gets the error at startup.
    // @ts-expect-error session belongs to the instance's constructor
    assert.throws(() => sockjs({ name: 'i', prefix: '/i2', manager: instance, session: Upper }), (error: unknown) => {
      assert.ok(error instanceof SockjsOptionError);
      assert.equal(error.option, 'session');
      return true;
    });
    assert.throws(() => sockjs({ name: 'other', manager: instance }), /option "name"/);
  });

  it('goes through a custom store for sessions and queues', async () => {
    const store = new RecordingStore();
    const app = new Koa();
    app.use(sockjs({ prefix: '/rec', session: Upper, store }));
    const base = await serve(app);
    const url = `${base}/rec/000/${randomUUID()}`;
    assert.equal((await post(`${url}/xhr`)).body, 'o\n');
    assert.equal((await post(`${url}/xhr_send`, '["abc"]')).status, 204);
    assert.equal((await post(`${url}/xhr`)).body, 'a["ABC"]\n');
    // The next poll claims its receiver and takes the queued answer in one store call.
    assert.deepEqual(store.calls, ['create', 'push outgoing "ABC"', 'claimAndTake outgoing "ABC"']);
  });
});

describe('options', () => {
  it('throw at startup, naming the option', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ prefix: 'no-slash' }, 'prefix'],
      [{ prefix: '/trailing/' }, 'prefix'],
      [{ heartbeatDelay: -1 }, 'heartbeatDelay'],
      [{ disconnectDelay: 0 }, 'disconnectDelay'],
      [{ maxMessageSize: 0 }, 'maxMessageSize'],
      [{ maxBufferedBytes: -5 }, 'maxBufferedBytes'],
      [{ responseLimit: 1.5 }, 'responseLimit'],
      [{ websocket: 'yes' }, 'websocket'],
      [{ cors: 1 }, 'cors'],
      [{ transports: { 'carrier-pigeon': false } }, 'transports.carrier-pigeon'],
      [{ jsessionid: 'on' }, 'jsessionid'],
      [{ sockjsUrl: 'x" onload="evil' }, 'sockjsUrl'],
      [{ session: class NotASession {} }, 'session'],
      [{ manager: {} }, 'manager'],
      [{ name: 5 }, 'name'],
    ];
    for (const [options, option] of cases) {
      assert.throws(
        () => sockjs(options as never),
        (error: unknown) => error instanceof SockjsOptionError && error.option === option,
        `${JSON.stringify(options)} should name ${option}`,
      );
    }
  });

  it('keep falsy values: heartbeatDelay 0 and websocket false', async () => {
    const route = sockjs({ heartbeatDelay: 0, websocket: false });
    assert.equal(route.manager.heartbeatDelay, 0);
    assert.equal(route.route.websocket, false);
    const app = new Koa();
    app.use(route);
    const base = await serve(app);
    const info = JSON.parse((await request(`${base}/__sockjs__/info`)).body) as { websocket: boolean };
    assert.equal(info.websocket, false);
    assert.equal((await request(`${base}/__sockjs__/0/0/websocket`, { headers: { Upgrade: 'websocket', Connection: 'Upgrade' } })).status, 404);
  });
});
