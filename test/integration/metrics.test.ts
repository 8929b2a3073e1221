/**
 * Metrics: a scripted scenario on real sockets, read through an in-memory OpenTelemetry metric
 * reader (the SDK's MetricReader, collected on demand) and through manager.stats(), with exact
 * values. Time runs on a fake clock, so session durations are exact too.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import Koa from 'koa';
import { WebSocket } from 'ws';
import { MemoryStore, Session, sockjs, type SockjsManagedOptions } from '../../src/index.js';
import { FakeTimers } from '../helpers/fake-timers.js';
import { post, until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { Hixie76Client } from '../helpers/hixie76-client.js';
import { FrameClient } from '../helpers/ws-client.js';

/** The SDK's reader, collected when the test asks (no export interval, nothing in the background). */
class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}

  async metrics(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await this.collect();
    assert.deepEqual(errors, []);
    const byName = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics) {
      assert.equal(scope.scope.name, 'koa-sockjs');
      for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
    }
    return byName;
  }
}

/** Data points as `attr=value,...` -> value, attributes sorted: easy to compare whole. */
function points(metric: MetricData | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const point of (metric?.dataPoints ?? []) as DataPoint<unknown>[]) {
    const key = Object.entries(point.attributes)
      .filter(([name]) => name !== 'sockjs.route')
      .map(([name, value]) => `${name}=${String(value)}`)
      .sort()
      .join(',');
    out[key] = typeof point.value === 'number' ? point.value : (point.value as Histogram).count;
  }
  return out;
}

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

/** A memory store whose update() rejects, as a networked store's may (the contract allows a promise). */
function failingUpdates(store: MemoryStore): MemoryStore {
  Object.defineProperty(store, 'update', {
    writable: false,
    value: () => Promise.reject(Object.assign(new Error('update refused'), { code: 'E_TEST_UPDATE' })),
  });
  return store;
}

const servers: Listening[] = [];
const providers: MeterProvider[] = [];
after(async () => {
  for (const server of servers) await server.close();
  for (const provider of providers) await provider.shutdown();
});

async function start(options: SockjsManagedOptions<Session>): Promise<{ base: string; middleware: ReturnType<typeof sockjs>; reader: TestReader }> {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  providers.push(meterProvider);
  const app = new Koa();
  const middleware = sockjs({ name: 'm', prefix: '/m', session: Echo, meterProvider, ...options });
  app.use(middleware);
  const server = await listen(app);
  servers.push(server);
  return { base: `${server.url}/m`, middleware, reader };
}

describe('metrics', () => {
  it('counts a scripted scenario exactly, through OpenTelemetry and stats()', async () => {
    const timers = new FakeTimers();
    const errors: unknown[] = [];
    const { base, middleware, reader } = await start({
      timers,
      store: failingUpdates(new MemoryStore({ now: () => timers.now() })),
      maxMessageSize: 64,
      onError: (error, context) => errors.push(`${context}: ${String(error)}`),
    });
    const manager = middleware.manager;

    // A websocket session: two messages in, echoed in one frame.
    const ws = new FrameClient(`${base}/000/aaa/websocket`);
    await ws.waitFor(1);
    ws.send('hi', 'there'); // ["hi","there"]: 14 bytes
    await ws.waitFor(2);
    assert.equal(ws.frames[1], 'a["hi","there"]');

    // A polling session: opened, a message sent (5 bytes) and queued, then taken by a poll.
    assert.equal((await post(`${base}/000/bbb/xhr`)).body, 'o\n');
    assert.equal((await post(`${base}/000/bbb/xhr_send`, '["x"]')).status, 204);
    assert.equal((await post(`${base}/000/bbb/xhr`)).body, 'a["x"]\n');
    // A body over maxMessageSize is refused.
    assert.equal((await post(`${base}/000/bbb/xhr_send`, JSON.stringify(['y'.repeat(100)]))).status, 413);

    const midway = await reader.metrics();
    assert.deepEqual(points(midway.get('sockjs.server.active_sessions')), {
      'sockjs.transport=websocket': 1,
      'sockjs.transport=xhr-polling': 1,
    });
    assert.equal(midway.get('sockjs.server.active_sessions')?.descriptor.unit, '{session}');

    // The websocket client leaves after 2 s: the session ends as interrupted (1002).
    timers.advance(2000);
    await ws.close();
    await until(() => manager.size === 1, 'the websocket session to end');
    // The polling session is closed by the server 2 s later (inside disconnectDelay of its last
    // poll), and forgotten disconnectDelay after that.
    timers.advance(2000);
    manager.activeSessions()[0]!.close();
    timers.advance(5000);
    assert.equal(manager.size, 0);

    const metrics = await reader.metrics();
    assert.deepEqual(points(metrics.get('sockjs.server.active_sessions')), {
      'sockjs.transport=websocket': 0,
      'sockjs.transport=xhr-polling': 0,
    });
    assert.deepEqual(points(metrics.get('sockjs.server.sessions.created')), {
      'sockjs.transport=websocket': 1,
      'sockjs.transport=xhr-polling': 1,
    });
    assert.deepEqual(points(metrics.get('sockjs.server.sessions.closed')), {
      'sockjs.close.code=1002,sockjs.transport=websocket': 1,
      'sockjs.close.code=3000,sockjs.transport=xhr-polling': 1,
    });
    const durations = metrics.get('sockjs.server.session.duration')!;
    assert.equal(durations.descriptor.unit, 's');
    const sums = Object.fromEntries(
      (durations.dataPoints as DataPoint<Histogram>[]).map((point) => [point.attributes['sockjs.transport'], point.value.sum]),
    );
    assert.deepEqual(sums, { websocket: 2, 'xhr-polling': 9 });
    assert.deepEqual(points(metrics.get('sockjs.server.messages')), {
      'network.io.direction=receive,sockjs.transport=websocket': 2,
      'network.io.direction=transmit,sockjs.transport=websocket': 2,
      'network.io.direction=receive,sockjs.transport=xhr-polling': 1,
      'network.io.direction=transmit,sockjs.transport=xhr-polling': 1,
    });
    assert.equal(metrics.get('sockjs.server.io')?.descriptor.unit, 'By');
    assert.deepEqual(points(metrics.get('sockjs.server.io')), {
      'network.io.direction=receive,sockjs.transport=websocket': 14,
      'network.io.direction=transmit,sockjs.transport=websocket': 15,
      'network.io.direction=receive,sockjs.transport=xhr-polling': 5,
      'network.io.direction=transmit,sockjs.transport=xhr-polling': 6,
    });
    // The websocket's connection, and the second poll (the first only carried the open frame).
    assert.deepEqual(points(metrics.get('sockjs.server.receivers.attached')), {
      'sockjs.transport=websocket': 1,
      'sockjs.transport=xhr-polling': 1,
    });
    assert.deepEqual(points(metrics.get('sockjs.server.refusals')), { 'sockjs.refusal.reason=size': 1 });
    const store = points(metrics.get('sockjs.store.operation.duration'));
    // The websocket session and the first poll's: a later poll of a session held in this
    // process only claims the receiver (no create-as-get of its record).
    assert.equal(store['sockjs.store.operation=create'], 2);
    // The polling session's close is recorded with update(), which this store refuses; a
    // websocket session's is not (its record goes at once, and no request can address it).
    assert.equal(store['error.type=E_TEST_UPDATE,sockjs.store.operation=update'], 1);
    assert.equal(errors.length, 1, String(errors));

    const stats = manager.stats();
    const operations = Object.values(store).reduce((sum, count) => sum + count, 0);
    assert.deepEqual(stats, {
      route: 'm',
      sessions: { open: 0, openByTransport: {}, created: 2, closed: 2, closedByCode: { 1002: 1, 3000: 1 }, handedOver: 0, adopted: 0 },
      messages: { received: 3, sent: 3 },
      bytes: { received: 19, sent: 21 },
      receiversAttached: 2,
      store: { operations, failures: 1, evictions: 0 },
      refusals: { origin: 0, authorization: 0, limit: 0, size: 1, draining: 0 },
    });
  });

  it('counts a message over maxMessageSize as one `size` refusal on every transport', async () => {
    const { base, middleware } = await start({ maxMessageSize: 64, perMessageDeflate: { threshold: 0 } });
    const refusals = (): number => middleware.manager.stats().refusals.size;
    const big = JSON.stringify(['y'.repeat(100)]);
    let expected = 0;
    const refused = async (what: string, attempt: () => Promise<unknown>): Promise<void> => {
      await attempt();
      expected++;
      await until(() => refusals() === expected, `${what}: ${expected} size refusals (have ${refusals()})`);
    };

    // The HTTP sends: xhr_send and jsonp_send (form-encoded and plain), answered 413.
    assert.equal((await post(`${base}/000/poll/xhr`)).body, 'o\n');
    await refused('xhr_send', async () => assert.equal((await post(`${base}/000/poll/xhr_send`, big)).status, 413));
    await refused('jsonp_send, form', async () =>
      assert.equal((await post(`${base}/000/poll/jsonp_send`, `d=${encodeURIComponent(big)}`, { 'Content-Type': 'application/x-www-form-urlencoded' })).status, 413),
    );
    await refused('jsonp_send, plain', async () => assert.equal((await post(`${base}/000/poll/jsonp_send`, big, { 'Content-Type': 'text/plain' })).status, 413));
    // RFC 6455 websockets, SockJS-framed and raw, compressed or not: ws closes them with 1009.
    for (const [what, url, deflate] of [
      ['websocket', `${base}/000/ws/websocket`, false],
      ['websocket, permessage-deflate (small on the wire, too big inflated)', `${base}/000/wsz/websocket`, true],
      ['raw websocket', `${base}/websocket`, false],
    ] as const) {
      await refused(what, async () => {
        const ws = new WebSocket(url.replace(/^http/, 'ws'), { perMessageDeflate: deflate });
        ws.on('error', () => {});
        await new Promise((resolve) => ws.once('open', resolve));
        ws.send(big);
        const code = await new Promise<number>((resolve) => ws.once('close', (closeCode) => resolve(closeCode)));
        assert.equal(code, 1009, what);
      });
    }
    // hixie-76 has no close code: the connection is dropped, and counted the same.
    await refused('hixie-76', async () => {
      const client = await Hixie76Client.open(`${base}/000/hixie/websocket`);
      assert.equal(await client.recv(), 'o');
      client.send(big);
      assert.equal(await client.recv(), undefined, 'the connection is dropped');
    });
    assert.equal(refusals(), 7);
    const all = middleware.manager.stats().refusals;
    assert.deepEqual(all, { origin: 0, authorization: 0, limit: 0, size: 7, draining: 0 });
    await middleware.close();
  });

  it('counts evictions, and a session the store evicted as closed with its code', async () => {
    const timers = new FakeTimers();
    const { base, middleware, reader } = await start({ timers, store: new MemoryStore({ maxSessions: 1, now: () => timers.now() }) });
    assert.equal((await post(`${base}/000/one/xhr`)).body, 'o\n');
    assert.equal((await post(`${base}/000/two/xhr`)).body, 'o\n');
    const metrics = await reader.metrics();
    assert.deepEqual(points(metrics.get('sockjs.store.evictions')), { '': 1 });
    assert.deepEqual(points(metrics.get('sockjs.server.sessions.closed')), { 'sockjs.close.code=3001,sockjs.transport=xhr-polling': 1 });
    assert.deepEqual(middleware.manager.stats().sessions, {
      open: 1,
      openByTransport: { 'xhr-polling': 1 },
      created: 2,
      closed: 1,
      closedByCode: { 3001: 1 },
      handedOver: 0,
      adopted: 0,
    });
    await middleware.close();
  });

  it('records nothing anywhere without an SDK, and stats() still counts', async () => {
    const app = new Koa();
    const middleware = sockjs({ prefix: '/plain', session: Echo });
    app.use(middleware);
    const server = await listen(app);
    servers.push(server);
    const ws = new FrameClient(`${server.url}/plain/000/aaa/websocket`);
    await ws.waitFor(1);
    ws.send('x');
    await ws.waitFor(2);
    assert.deepEqual(middleware.manager.stats().messages, { received: 1, sent: 1 });
    await ws.close();
    await middleware.close();
  });
});
