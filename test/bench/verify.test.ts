/**
 * The benchmark's correctness check (issue 4): the koa-sockjs bench server,
 * driven by the load generator in `--verify` mode on a tiny load, must deliver
 * every message with the right content in the right order, in every scenario.
 * A deliberately broken echo server proves that `--verify` notices.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { Balancer } from '../../bench/lib/balancer.js';
import { runLoadgen, ServerProcess } from '../../bench/lib/processes.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/** Tiny loads: each run takes well under a second of traffic. */
const TINY: Record<string, string[]> = {
  'ws-echo': ['--sessions', '3', '--inflight', '4', '--duration', '0.3', '--warmup', '0.1', '--concurrency', '3'],
  broadcast: ['--sessions', '5', '--messages', '10', '--bursts', '2', '--concurrency', '5'],
  'idle-memory': ['--sessions', '20', '--concurrency', '10'],
  'xhr-polling': ['--sessions', '3', '--duration', '0.3', '--warmup', '0.1'],
  // A 4 KiB response limit on the server makes the stream reconnect many times.
  'xhr-streaming': ['--window', '200', '--batch', '50', '--duration', '0.5', '--warmup', '0.1'],
  'conn-setup': ['--concurrency', '3', '--duration', '0.3', '--warmup', '0.1'],
  'paced-broadcast': ['--sessions', '5', '--duration', '0.3', '--warmup', '0.1', '--concurrency', '5'],
  'idle-receivers xhr_streaming': ['--transport', 'xhr_streaming', '--sessions', '5', '--concurrency', '5'],
  'idle-receivers eventsource': ['--transport', 'eventsource', '--sessions', '5', '--concurrency', '5'],
  // 22 messages over 4 rooms: the bursts start at different rooms.
  rooms: ['--sessions', '20', '--rooms', '4', '--messages', '22', '--bursts', '2', '--concurrency', '10'],
  'rooms paced': ['--paced', '1', '--sessions', '20', '--rooms', '4', '--messages', '10', '--bursts', '2', '--concurrency', '10'],
};

describe('bench load generator --verify against the koa-sockjs bench server', () => {
  let server: ServerProcess;
  before(async () => {
    // The bench server runs the built package (dist/): `npm test` builds before the tests; run
    // `npm run build` first when running this file alone after changing src/.
    server = await ServerProcess.start({ script: 'bench/servers/koa-sockjs.ts', args: ['--response-limit', '4096'], cpu: null });
  });
  after(() => server.stop());

  for (const [name, args] of Object.entries(TINY)) {
    const scenario = name.split(' ')[0]!;
    it(`${name}: every message arrives, in order, with its content`, async () => {
      const { result } = await runLoadgen(server, ['--scenario', scenario, '--port', String(server.port), '--verify', ...args], null, 60_000);
      assert.deepEqual(result.errors, []);
      assert.equal(result.ok, true);
      for (const [name, value] of Object.entries(result.metrics)) {
        assert.ok(Number.isFinite(value), `${scenario}: metric ${name} is ${value}`);
      }
    });
  }
});

describe('bench load generator --verify against Socket.IO 4', () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({ script: 'bench/servers/socketio.ts', args: [], cpu: null });
  });
  after(() => server.stop());

  for (const scenario of ['ws-echo', 'paced-broadcast', 'conn-setup'] as const) {
    it(`${scenario}: every message arrives, in order, with its content`, async () => {
      const args = ['--scenario', scenario, '--protocol', 'socketio', '--port', String(server.port), '--verify', ...TINY[scenario]!];
      const { result } = await runLoadgen(server, args, null, 60_000);
      assert.deepEqual(result.errors, []);
      assert.equal(result.ok, true);
    });
  }
});

describe('bench rooms --verify: Socket.IO 4, and two processes sharing Redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(() => redis?.stop());

  const setups = {
    'Socket.IO 4': () => ({ script: 'bench/servers/socketio.ts', args: [] as string[], protocol: 'socketio', processes: 1 }),
    'koa-sockjs, 2 processes on Redis': () => ({
      script: 'bench/servers/koa-sockjs.ts',
      args: ['--store', 'redis', '--redis-url', redis.url, '--redis-prefix', 'verify-rooms:'],
      protocol: 'sockjs',
      processes: 2,
    }),
    'Socket.IO 4, 2 processes on Redis': () => ({
      script: 'bench/servers/socketio.ts',
      args: ['--store', 'redis', '--redis-url', redis.url, '--redis-prefix', 'verify-rooms-sio:'],
      protocol: 'socketio',
      processes: 2,
    }),
  };
  for (const [name, setup] of Object.entries(setups)) {
    for (const [split, paced] of [['0', '0'], ['1', '0'], ['0', '1']] as const) {
      const mode = split === '1' ? ', each room on one process' : paced === '1' ? ', paced' : '';
      it(`${name}${mode}: every member gets its room's messages, in order`, async () => {
        const { script, args, protocol, processes } = setup();
        const servers: ServerProcess[] = [];
        try {
          for (let i = 0; i < processes; i++) servers.push(await ServerProcess.start({ script, args, cpu: null }));
          const ports = servers.map((s) => s.port).join(',');
          const loadArgs = ['--scenario', 'rooms', '--protocol', protocol, '--port', String(servers[0]!.port), '--ports', ports, '--split', split, '--paced', paced, '--verify', ...TINY.rooms!];
          const target = { pid: servers[0]!.pid, pids: servers.map((s) => s.pid), mem: async () => null };
          const { result } = await runLoadgen(target, loadArgs, null, 60_000);
          assert.deepEqual(result.errors, []);
          assert.equal(result.ok, true);
          assert.equal((result.details as { processes: number }).processes, processes);
        } finally {
          await Promise.all(servers.map((s) => s.stop()));
        }
      });
    }
  }
});

describe('bench scale-out: xhr-polling --verify through the round-robin balancer to two koa-sockjs processes on Redis', () => {
  let redis: RedisServer;
  const servers: ServerProcess[] = [];
  let balancer: Balancer;
  let sticky: Balancer;
  before(async () => {
    redis = await startRedisServer();
    const args = ['--store', 'redis', '--redis-url', redis.url, '--redis-prefix', 'verify-scale:'];
    for (let i = 0; i < 2; i++) servers.push(await ServerProcess.start({ script: 'bench/servers/koa-sockjs.ts', args, cpu: null }));
    balancer = await Balancer.start(servers.map((s) => s.port));
    sticky = await Balancer.start(
      servers.map((s) => s.port),
      { sticky: true },
    );
  });
  after(async () => {
    await balancer?.stop();
    await sticky?.stop();
    await Promise.all(servers.map((s) => s.stop()));
    await redis?.stop();
  });

  it('every echo arrives in order although a session\'s requests reach both processes', async () => {
    const target = { pid: null, pids: servers.map((s) => s.pid), mem: async () => null };
    const args = ['--scenario', 'xhr-polling', '--port', String(balancer.port), '--verify', ...TINY['xhr-polling']!, '--sessions', '4'];
    const { result, serverCpuMs } = await runLoadgen(target, args, null, 60_000);
    assert.deepEqual(result.errors, []);
    assert.equal(result.ok, true);
    assert.ok((result.ops ?? 0) > 0);
    // Both processes' CPU is summed (on Linux, where /proc exists).
    if (process.platform === 'linux') assert.ok(serverCpuMs !== null && serverCpuMs >= 0);
  });

  it('every echo arrives in order through the sticky balancer (each session on one process)', async () => {
    const target = { pid: null, pids: servers.map((s) => s.pid), mem: async () => null };
    const args = ['--scenario', 'xhr-polling', '--port', String(sticky.port), '--verify', ...TINY['xhr-polling']!, '--sessions', '4'];
    const { result } = await runLoadgen(target, args, null, 60_000);
    assert.deepEqual(result.errors, []);
    assert.equal(result.ok, true);
  });
});

describe('bench load generator --verify notices a wrong echo', () => {
  let http: Server;
  let port: number;
  before(async () => {
    // A raw websocket echo that corrupts every 5th message.
    http = createServer();
    const wss = new WebSocketServer({ server: http });
    let n = 0;
    wss.on('connection', (ws) => {
      ws.on('message', (data: Buffer) => {
        const text = data.toString();
        ws.send(++n % 5 === 0 ? text.replace('x', 'y') : text);
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
  });
  after(async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });

  it('reports the corrupted messages and fails the run', async () => {
    const { result } = await runLoadgen(
      { pid: null, mem: async () => null },
      ['--scenario', 'ws-echo', '--protocol', 'raw', '--port', String(port), '--verify', ...TINY['ws-echo']!],
      null,
      60_000,
    );
    assert.equal(result.ok, false);
    assert.match(result.errors.join('\n'), /expected "e\d{5}:/);
  });
});
