/**
 * What `npm run bench` measures: the server variants and the scenarios, with
 * their parameters (full run and `--quick`), their metrics and the targets of
 * issue 4 (ratios of koa-sockjs to sockjs-node in the same run).
 */
import type { LoadParams, Protocol } from '../loadgen/common.js';
import type { LoadScenario } from '../loadgen/main.js';

export interface Variant {
  id: string;
  label: string;
  script: string;
  args: string[];
  protocol: Protocol;
}

export function variants(redisUrl: string): Record<string, Variant> {
  return {
    'koa-sockjs': { id: 'koa-sockjs', label: 'koa-sockjs', script: 'bench/servers/koa-sockjs.ts', args: ['--store', 'memory'], protocol: 'sockjs' },
    // The Redis store's hook: the same server with `--store redis` (`npm run bench -- --redis`).
    'koa-sockjs-redis': {
      id: 'koa-sockjs-redis',
      label: 'koa-sockjs (Redis store)',
      script: 'bench/servers/koa-sockjs.ts',
      args: ['--store', 'redis', '--redis-url', redisUrl],
      protocol: 'sockjs',
    },
    // Websocket upgrades from the server's 'upgrade' event (`upgradeHandler(app)`), not the request path.
    'koa-sockjs-upgrade': {
      id: 'koa-sockjs-upgrade',
      label: 'koa-sockjs + upgradeHandler',
      script: 'bench/servers/koa-sockjs.ts',
      args: ['--store', 'memory', '--upgrade-listener'],
      protocol: 'sockjs',
    },
    'sockjs-node': { id: 'sockjs-node', label: 'sockjs-node 0.3.24', script: 'bench/servers/sockjs-node.ts', args: [], protocol: 'sockjs' },
    ws: { id: 'ws', label: 'raw ws', script: 'bench/servers/ws.ts', args: [], protocol: 'raw' },
    'bare-http': { id: 'bare-http', label: 'bare http handler', script: 'bench/servers/bare-http.ts', args: [], protocol: 'raw' },
    'bare-koa': { id: 'bare-koa', label: 'bare Koa app', script: 'bench/servers/bare-koa.ts', args: [], protocol: 'raw' },
  };
}

export interface MetricDef {
  key: string;
  label: string;
  better: 'higher' | 'lower';
  /** Digits after the point in tables. */
  digits: number;
}

export interface Target {
  metric: string;
  /** koa-sockjs / sockjs-node must be >= (higher is better) or <= (lower is better) this. */
  ratio: number;
  /**
   * What the profile showed stands in the way, printed with the results when the target is not
   * met. Written by hand from docs/bench/PROFILE.md: update both together.
   */
  blocker?: string;
}

/** Which servers a scenario runs against: websocket ones get raw ws as the floor. */
export type VariantGroup = 'websocket' | 'sockjs' | 'http';

export interface ScenarioDef {
  id: string;
  title: string;
  load: LoadScenario;
  group: VariantGroup;
  /** The variant ratios are taken against. */
  baseline: string;
  params: Partial<LoadParams>;
  quick: Partial<LoadParams>;
  /** Human-readable parameters, printed with the results. */
  describe(p: Partial<LoadParams>): string;
  metrics: MetricDef[];
  target?: Target;
  /** Variants this scenario runs by default besides koa-sockjs, sockjs-node and ws. */
  extraVariants?: string[];
}

const MSGS: MetricDef = { key: 'msgsPerSec', label: 'messages/s', better: 'higher', digits: 0 };
const P50: MetricDef = { key: 'p50Ms', label: 'p50 RTT ms', better: 'lower', digits: 2 };
const P99: MetricDef = { key: 'p99Ms', label: 'p99 RTT ms', better: 'lower', digits: 2 };

function wsEcho(inflight: number, target?: Target): ScenarioDef {
  return {
    id: `ws-echo-${inflight}`,
    title: `websocket echo, ${inflight} in flight`,
    load: 'ws-echo',
    group: 'websocket',
    baseline: 'sockjs-node',
    params: { sessions: 100, inflight, durationSec: 10, warmupSec: 2, concurrency: 100 },
    quick: { sessions: 100, inflight, durationSec: 2, warmupSec: 1, concurrency: 100 },
    describe: (p) =>
      `${p.sessions} sessions, ${p.inflight} message(s) in flight each, 64-byte messages, ${p.durationSec} s measured after ${p.warmupSec} s warm-up`,
    metrics: [MSGS, P50, P99],
    ...(target ? { target } : {}),
  };
}

function broadcast(sessions: number, quickSessions: number, target?: Target): ScenarioDef {
  return {
    id: `broadcast-${sessions}`,
    title: `broadcast fan-out, ${sessions.toLocaleString('en-US')} sessions`,
    load: 'broadcast',
    group: 'websocket',
    baseline: 'sockjs-node',
    params: { sessions, messages: 50, bursts: 3, concurrency: 200 },
    quick: { sessions: quickSessions, messages: 50, bursts: 2, concurrency: 200 },
    describe: (p) =>
      `${p.sessions} websocket sessions, one sender sends ${p.messages} 64-byte messages at once; time until every session has every message (median of ${p.bursts} bursts)`,
    metrics: [
      { key: 'deliveriesPerSec', label: 'deliveries/s', better: 'higher', digits: 0 },
      { key: 'completionMs', label: 'all delivered ms', better: 'lower', digits: 1 },
    ],
    ...(target ? { target } : {}),
  };
}

export const SCENARIOS: ScenarioDef[] = [
  wsEcho(1),
  wsEcho(16, { metric: 'msgsPerSec', ratio: 1.3 }),
  broadcast(1000, 1000),
  broadcast(5000, 2000, {
    metric: 'deliveriesPerSec',
    ratio: 2,
    blocker:
      'the write syscall per session per message: before 67e9201 it was about 60 % of the server\'s time, ' +
      'because each broadcast was written at once instead of leaving with the other messages of its tick as one frame; ' +
      'check that broadcasts of one tick still leave as one frame per session',
  }),
  {
    id: 'idle-memory',
    title: 'idle memory per websocket session',
    load: 'idle-memory',
    group: 'websocket',
    extraVariants: ['koa-sockjs-upgrade'],
    baseline: 'sockjs-node',
    params: { sessions: 5000, concurrency: 200 },
    quick: { sessions: 2000, concurrency: 200 },
    describe: (p) => `server RSS growth (after GC) from 0 to ${p.sessions} open idle websocket sessions, divided by ${p.sessions}`,
    metrics: [
      { key: 'rssPerSessionBytes', label: 'RSS bytes/session', better: 'lower', digits: 0 },
      { key: 'heapPerSessionBytes', label: 'heap bytes/session', better: 'lower', digits: 0 },
    ],
    target: {
      metric: 'rssPerSessionBytes',
      ratio: 0.6,
      blocker:
        'what an open websocket keeps besides ws itself: its Session, SessionChannel, heartbeat timer and store ' +
        'record; since 25838d5 upgrades come through the server\'s \'upgrade\' event, so no HTTP parser, ' +
        'request, response or Koa context stays alive with the websocket (the request path kept them all)',
    },
  },
  {
    id: 'xhr-polling',
    title: 'xhr-polling echo',
    load: 'xhr-polling',
    group: 'sockjs',
    baseline: 'sockjs-node',
    params: { sessions: 50, durationSec: 8, warmupSec: 2 },
    quick: { sessions: 50, durationSec: 2, warmupSec: 1 },
    describe: (p) =>
      `${p.sessions} sessions, each a long-poll connection (POST xhr) and a send connection (POST xhr_send), one 64-byte message in flight per session, ${p.durationSec} s measured after ${p.warmupSec} s warm-up`,
    metrics: [MSGS, P50, P99],
    target: {
      metric: 'msgsPerSec',
      ratio: 1.2,
      blocker:
        'Koa itself: an echo is two requests, and two requests through a bare Koa app already use most of the ' +
        'CPU the target allows (see "Koa\'s own cost" below); koa-sockjs\'s own work per message is below sockjs-node\'s',
    },
  },
  {
    id: 'xhr-streaming',
    title: 'xhr-streaming receive',
    load: 'xhr-streaming',
    group: 'sockjs',
    baseline: 'sockjs-node',
    params: { window: 1000, batch: 100, durationSec: 8, warmupSec: 2 },
    quick: { window: 1000, batch: 100, durationSec: 2, warmupSec: 1 },
    describe: (p) =>
      `one session reads 64-byte messages over xhr_streaming (128 KiB response limit, reconnecting), asking for ${p.batch} at a time over xhr_send with up to ${p.window} requested ahead, ${p.durationSec} s measured after ${p.warmupSec} s warm-up`,
    metrics: [MSGS],
    target: { metric: 'msgsPerSec', ratio: 1.2 },
  },
  {
    id: 'conn-setup',
    title: 'websocket connection setup',
    load: 'conn-setup',
    group: 'websocket',
    extraVariants: ['koa-sockjs-upgrade'],
    baseline: 'sockjs-node',
    params: { concurrency: 50, durationSec: 5, warmupSec: 1 },
    quick: { concurrency: 50, durationSec: 2, warmupSec: 1 },
    describe: (p) =>
      `${p.concurrency} loops each open a websocket session (connect, upgrade, SockJS \`o\`), close it and open the next, ${p.durationSec} s measured after ${p.warmupSec} s warm-up`,
    metrics: [
      { key: 'sessionsPerSec', label: 'sessions/s', better: 'higher', digits: 0 },
      { key: 'p50Ms', label: 'p50 setup ms', better: 'lower', digits: 2 },
      { key: 'p99Ms', label: 'p99 setup ms', better: 'lower', digits: 2 },
    ],
    target: {
      metric: 'sessionsPerSec',
      ratio: 1.5,
      blocker:
        'the websocket handshake itself: raw ws (the floor under any ws-based server) is only about 1.05x ' +
        'sockjs-node here, whose faye-websocket handshake is cheaper; the profile shows koa-sockjs\'s own code ' +
        '(session, transports, store, middleware) and Koa at under 10 % of the server\'s time, the rest in Node\'s ' +
        'sockets, HTTP parser and ws',
    },
  },
  {
    id: 'koa-cost',
    title: "Koa's own cost per HTTP request",
    load: 'http-requests',
    group: 'http',
    baseline: 'bare-http',
    params: { concurrency: 50, durationSec: 5, warmupSec: 1 },
    quick: { concurrency: 50, durationSec: 2, warmupSec: 1 },
    describe: (p) => `${p.concurrency} keep-alive connections sending GET / back to back, ${p.durationSec} s measured after ${p.warmupSec} s warm-up`,
    metrics: [
      { key: 'requestsPerSec', label: 'requests/s', better: 'higher', digits: 0 },
      { key: 'p50Ms', label: 'p50 ms', better: 'lower', digits: 2 },
      { key: 'p99Ms', label: 'p99 ms', better: 'lower', digits: 2 },
    ],
  },
];

/** What runs when --variants is not given (plus each scenario's `extraVariants`). */
export const DEFAULT_VARIANTS = ['koa-sockjs', 'sockjs-node', 'ws'];

/**
 * The variants a scenario runs, in interleaving order: those selected with --variants, or
 * the defaults and the scenario's own extras.
 */
export function variantsFor(def: ScenarioDef, selected: readonly string[] | null, add: readonly string[] = []): string[] {
  if (def.group === 'http') return ['bare-http', 'bare-koa'];
  const pool =
    def.group === 'sockjs'
      ? ['koa-sockjs', 'koa-sockjs-upgrade', 'koa-sockjs-redis', 'sockjs-node']
      : ['koa-sockjs', 'koa-sockjs-upgrade', 'koa-sockjs-redis', 'sockjs-node', 'ws'];
  const wanted = [...(selected ?? [...DEFAULT_VARIANTS, ...(def.extraVariants ?? [])]), ...add];
  return pool.filter((id) => wanted.includes(id));
}

/** `--scenario ws-echo` selects ws-echo-1 and ws-echo-16; exact ids select one. */
export function selectScenarios(filter: readonly string[] | null): ScenarioDef[] {
  if (filter === null) return SCENARIOS;
  const chosen = SCENARIOS.filter((s) => filter.some((f) => s.id === f || s.id.startsWith(`${f}-`) || s.load === f));
  const unknown = filter.filter((f) => !SCENARIOS.some((s) => s.id === f || s.id.startsWith(`${f}-`) || s.load === f));
  if (unknown.length > 0) {
    throw new TypeError(`--scenario: unknown ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  }
  return chosen;
}
