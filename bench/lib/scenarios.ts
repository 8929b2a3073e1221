/**
 * What `npm run bench` measures: the server variants and the scenarios, with
 * their parameters (full run and `--quick`), their metrics and the targets of
 * issues 4 and 17 (ratios of koa-sockjs to sockjs-node or raw ws in the same run,
 * or absolute limits).
 */
import type { LoadParams, Protocol } from '../loadgen/common.js';
import type { LoadScenario } from '../loadgen/main.js';

export interface Variant {
  id: string;
  label: string;
  script: string;
  args: string[];
  protocol: Protocol;
  /** Server processes to start (default 1); more than one run behind the bench's round-robin balancer. */
  processes?: number;
  /**
   * Put the bench's round-robin TCP balancer in front, even of one process (so 1 and 2 pay the
   * same hop); `sticky`: a session's connections all reach one process (bench/lib/balancer.ts).
   */
  balancer?: boolean | 'sticky';
  /** Uses the bench's redis-server; its CPU over the window counts as server CPU. */
  redis?: boolean;
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
      redis: true,
    },
    // Scaling out (issue 17): one or two processes sharing sessions through Redis, behind the
    // bench's round-robin balancer (bench/lib/balancer.ts), so any request may reach either process.
    'redis-1-process': {
      id: 'redis-1-process',
      label: 'koa-sockjs on Redis, 1 process',
      script: 'bench/servers/koa-sockjs.ts',
      args: ['--store', 'redis', '--redis-url', redisUrl, '--redis-prefix', 'bench-scale:'],
      protocol: 'sockjs',
      processes: 1,
      balancer: true,
      redis: true,
    },
    'redis-2-processes': {
      id: 'redis-2-processes',
      label: 'koa-sockjs on Redis, 2 processes, sticky',
      script: 'bench/servers/koa-sockjs.ts',
      args: ['--store', 'redis', '--redis-url', redisUrl, '--redis-prefix', 'bench-scale:'],
      protocol: 'sockjs',
      processes: 2,
      balancer: 'sticky',
      redis: true,
    },
    'redis-2-processes-any': {
      id: 'redis-2-processes-any',
      label: 'koa-sockjs on Redis, 2 processes, not sticky',
      script: 'bench/servers/koa-sockjs.ts',
      args: ['--store', 'redis', '--redis-url', redisUrl, '--redis-prefix', 'bench-scale:'],
      protocol: 'sockjs',
      processes: 2,
      balancer: true,
      redis: true,
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
    'socket.io': { id: 'socket.io', label: 'Socket.IO 4 (websocket)', script: 'bench/servers/socketio.ts', args: [], protocol: 'socketio' },
    // Rooms on two processes sharing Redis (koa-sockjs's RedisStore, Socket.IO's Redis adapter); the
    // load generator spreads the sessions over both itself, so every room has members in each.
    'koa-sockjs-redis-2': {
      id: 'koa-sockjs-redis-2',
      label: 'koa-sockjs, Redis store, 2 processes',
      script: 'bench/servers/koa-sockjs.ts',
      args: ['--store', 'redis', '--redis-url', redisUrl, '--redis-prefix', 'bench-rooms:'],
      protocol: 'sockjs',
      processes: 2,
      redis: true,
    },
    'socket.io-redis-2': {
      id: 'socket.io-redis-2',
      label: 'Socket.IO 4, Redis adapter, 2 processes',
      script: 'bench/servers/socketio.ts',
      args: ['--store', 'redis', '--redis-url', redisUrl, '--redis-prefix', 'bench-rooms-sio:'],
      protocol: 'socketio',
      processes: 2,
      redis: true,
    },
    // The scale-out rig's own ceiling (issue 17): a server that does almost nothing, one or two
    // processes behind the same balancer, so what two processes can buy on this machine shows.
    'bare-http-1-process': {
      id: 'bare-http-1-process',
      label: 'bare http handler, 1 process',
      script: 'bench/servers/bare-http.ts',
      args: [],
      protocol: 'raw',
      processes: 1,
      balancer: true,
    },
    'bare-http-2-processes': {
      id: 'bare-http-2-processes',
      label: 'bare http handler, 2 processes',
      script: 'bench/servers/bare-http.ts',
      args: [],
      protocol: 'raw',
      processes: 2,
      balancer: true,
    },
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
  /** A metric key of the scenario, or `serverUsPerOp` (server CPU time per operation; lower is better). */
  metric: string;
  /**
   * `subject / against` must be >= (higher is better) or <= (lower is better) this; with
   * `absolute`, the subject's own value must be.
   */
  ratio: number;
  /** The variant held to the target (default koa-sockjs). */
  subject?: string;
  /** The variant it is compared with (default the scenario's baseline). */
  against?: string;
  /** Compare the subject's value itself with `ratio` (a limit in the metric's unit), not a ratio. */
  absolute?: boolean;
  /** Which issue set the target (shown with it). */
  issue?: number;
  /**
   * What the profile showed stands in the way, printed with the results when the target is not
   * met. Written by hand from docs/bench/PROFILE.md: update both together.
   */
  blocker?: string;
}

/** Which servers a scenario runs against: websocket ones get raw ws as the floor. */
export type VariantGroup = 'websocket' | 'sockjs' | 'http' | 'scale' | 'rooms';

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
  /** The only variants this scenario runs (whatever --variants says). */
  onlyVariants?: string[];
  /** false: never pin processes to cores in this scenario (more processes than cores to pin to). */
  pin?: boolean;
  /** Rounds of a full run when --rounds is not given (default 3): fewer keep `npm run bench` under 20 minutes. */
  rounds?: number;
  /** Not part of a run without --scenario (still selectable by name). */
  optional?: boolean;
  /**
   * Why koa-sockjs's numbers in this scenario come from coalescing (several messages of one tick
   * leaving as one frame and one write), if they do. Shown on the results page, so the rows
   * coalescing cannot flatter stay apart from those it can.
   */
  coalescing?: string;
}

const CPU: MetricDef = { key: 'serverUsPerOp', label: 'server µs/op', better: 'lower', digits: 1 };

/** The metric definition of a target's metric: the scenario's own, or server CPU per operation. */
export function targetMetric(def: { metrics: MetricDef[] }, key: string): MetricDef {
  return key === CPU.key ? CPU : def.metrics.find((m) => m.key === key)!;
}

const MSGS: MetricDef = { key: 'msgsPerSec', label: 'messages/s', better: 'higher', digits: 0 };
const P50: MetricDef = { key: 'p50Ms', label: 'p50 RTT ms', better: 'lower', digits: 2 };
const P99: MetricDef = { key: 'p99Ms', label: 'p99 RTT ms', better: 'lower', digits: 2 };

function wsEcho(inflight: number, extra: Partial<ScenarioDef> = {}): ScenarioDef {
  return {
    id: `ws-echo-${inflight}`,
    title: `websocket echo, ${inflight} in flight`,
    load: 'ws-echo',
    group: 'websocket',
    baseline: 'sockjs-node',
    params: { sessions: 100, inflight, durationSec: inflight === 1 ? 5 : 4, warmupSec: 1, concurrency: 100 },
    quick: { sessions: 100, inflight, durationSec: 2, warmupSec: 1, concurrency: 100 },
    describe: (p) =>
      `${p.sessions} sessions, ${p.inflight} message(s) in flight each, 64-byte messages, ${p.durationSec} s measured after ${p.warmupSec} s warm-up`,
    metrics: [MSGS, P50, P99],
    ...extra,
  };
}

function broadcast(sessions: number, quickSessions: number, extra: Partial<ScenarioDef> = {}): ScenarioDef {
  return {
    id: `broadcast-${sessions}`,
    title: `broadcast burst, ${sessions.toLocaleString('en-US')} sessions`,
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
    coalescing:
      `the ${50} messages of a burst reach the server in one read, so koa-sockjs sends them to each session as one \`a[...]\` frame ` +
      'and one write: one syscall per session per burst where sockjs-node, Socket.IO and raw ws make one per session per message',
    rounds: 2,
    ...extra,
  };
}

function pacedBroadcast(sessions: number, quickSessions: number, extraVariants: string[]): ScenarioDef {
  return {
    id: `paced-broadcast-${sessions}`,
    title: `paced broadcast, ${sessions.toLocaleString('en-US')} sessions`,
    load: 'paced-broadcast',
    group: 'websocket',
    baseline: 'sockjs-node',
    extraVariants,
    params: { sessions, durationSec: 4, warmupSec: 1, concurrency: 200 },
    quick: { sessions: quickSessions, durationSec: 2, warmupSec: 0.5, concurrency: 200 },
    describe: (p) =>
      `${p.sessions} websocket sessions; one sender sends a 64-byte message, the next only once every session has the previous ` +
      `(nothing can coalesce), ${p.durationSec} s measured after ${p.warmupSec} s warm-up; fan-out latency = sender's write until the last session has it`,
    metrics: [
      { key: 'deliveriesPerSec', label: 'deliveries/s', better: 'higher', digits: 0 },
      { key: 'p50Ms', label: 'p50 fan-out ms', better: 'lower', digits: 2 },
      { key: 'p99Ms', label: 'p99 fan-out ms', better: 'lower', digits: 2 },
    ],
    target: {
      metric: 'serverUsPerOp',
      against: 'ws',
      ratio: 1,
      issue: 17,
      blocker:
        'one write syscall per recipient per message, as in raw ws; the websocket frame is built once and written whole to ' +
        'each socket, about 0.1 µs of JavaScript per delivery against raw ws\'s 0.3 in memory, so what is left is the ' +
        'load on the machine (PROFILE.md, round four)',
    },
  };
}

function idleReceivers(transport: 'xhr_streaming' | 'eventsource', title: string): ScenarioDef {
  return {
    id: `idle-${transport.replace('_', '-')}`,
    title: `idle memory per ${title} receiver`,
    load: 'idle-receivers',
    group: 'sockjs',
    baseline: 'sockjs-node',
    params: { sessions: 2000, concurrency: 100, transport },
    quick: { sessions: 500, concurrency: 100, transport },
    describe: (p) =>
      `server RSS growth (after GC, less the growth of V8's young generation) from 0 to ${p.sessions} sessions each held open by an idle ${transport} response, divided by ${p.sessions}`,
    metrics: [
      { key: 'rssPerSessionBytes', label: 'RSS bytes/session', better: 'lower', digits: 0 },
      { key: 'rssWithYoungGenPerSessionBytes', label: 'RSS incl. young gen.', better: 'lower', digits: 0 },
      { key: 'heapPerSessionBytes', label: 'heap bytes/session', better: 'lower', digits: 0 },
    ],
    target: {
      metric: 'rssPerSessionBytes',
      absolute: true,
      ratio: 10 * 1024,
      issue: 17,
      blocker:
        'an open streaming response costs 6.5-8 KB RSS in bare Node http and 11-11.5 KB in Koa with ctx.respond = false (its ' +
        'context, request and response, on-finished listeners), above the target before SockJS adds its session (about 3 KB ' +
        'of heap); responses go through Koa so that upstream middleware headers land (PROFILE.md, round four, idle receivers)',
    },
  };
}

/**
 * Rooms (issue 16): 5 000 sessions in 50 rooms, each message to one room, against Socket.IO 4's
 * rooms, on one process and on two sharing Redis. `split`: all members of a room on one process;
 * `paced`: one message at a time (nothing coalesces).
 */
function rooms(id: string, variants: string[], baseline: string, mode: { split?: boolean; paced?: boolean } = {}): ScenarioDef {
  const split = mode.split === true ? 1 : 0;
  const paced = mode.paced === true ? 1 : 0;
  return {
    id,
    title: `rooms${paced ? ', paced' : ''}${split ? ', each room on one process' : ''}: 5 000 sessions in 50 rooms`,
    load: 'rooms',
    group: 'rooms',
    onlyVariants: variants,
    baseline,
    rounds: 2,
    // Run by name (`--scenario rooms`, into a folder of their own): the full run stays under 20 minutes.
    optional: true,
    params: { sessions: 5000, rooms: 50, messages: paced ? 200 : 500, bursts: 3, concurrency: 200, split, paced },
    quick: { sessions: 2000, rooms: 50, messages: paced ? 100 : 200, bursts: 2, concurrency: 200, split, paced },
    describe: (p) =>
      `${p.sessions} websocket sessions, each in one of ${p.rooms} rooms; a sender sends ${p.messages} 64-byte messages, each to one room (round robin), ` +
      (paced
        ? 'one at a time, the next once every member of its room has the last (nothing can coalesce); time for all of them'
        : 'at once; time until every member has every message of its room') +
      ` (median of ${p.bursts} bursts). ` +
      (split
        ? 'Two processes sharing Redis, the members of a room all on one process (room r on process r % 2), the sender on the first: a process that receives the traffic of rooms it has no members of pays for it here. '
        : 'The two-process variants share Redis, and every room has members on both. ') +
      'Server CPU counts the server processes and, for the Redis variants, redis-server',
    metrics: [
      { key: 'deliveriesPerSec', label: 'deliveries/s', better: 'higher', digits: 0 },
      { key: 'completionMs', label: paced ? 'burst ms' : 'all delivered ms', better: 'lower', digits: 1 },
    ],
    ...(paced
      ? {}
      : {
          coalescing:
            'a burst reaches the server in one read, so koa-sockjs sends each member the messages of its room as one `a[...]` frame and one write ' +
            '(one frame built per room, the same bytes to every member); Socket.IO writes each message to each member. The paced rooms row has no coalescing',
        }),
  };
}

/**
 * Every scenario, in the order of the results page: first those whose numbers coalescing cannot
 * flatter (one message in flight, paced broadcast, connection setup, polling, memory, Redis),
 * then those where several messages of one tick leave as one frame.
 */
export const SCENARIOS: ScenarioDef[] = [
  wsEcho(1, {
    extraVariants: ['socket.io'],
    target: {
      metric: 'serverUsPerOp',
      against: 'ws',
      ratio: 1.15,
      issue: 17,
      blocker:
        'one read and one write syscall per echo, as raw ws; measured in memory, koa-sockjs\'s JavaScript adds about 1.5 µs ' +
        'per echo over raw ws: decoding and encoding the JSON and the escape test (0.6 µs), the batch and its microtask, ' +
        'hooks and metrics (about 0.6 µs); its p99 follows its scavenges, fewer than raw ws\'s but longer, in a young ' +
        'generation grown to 8 MB at start-up (PROFILE.md, round four)',
    },
  }),
  pacedBroadcast(1000, 500, ['socket.io', 'koa-sockjs-redis']),
  pacedBroadcast(5000, 1000, ['socket.io']),
  {
    id: 'conn-setup',
    title: 'websocket connection setup',
    load: 'conn-setup',
    group: 'websocket',
    extraVariants: ['socket.io'],
    baseline: 'sockjs-node',
    params: { concurrency: 50, durationSec: 4, warmupSec: 1 },
    quick: { concurrency: 50, durationSec: 2, warmupSec: 1 },
    describe: (p) =>
      `${p.concurrency} loops each open a websocket session (connect, upgrade, SockJS \`o\` / Socket.IO CONNECT), close it and open the next, ${p.durationSec} s measured after ${p.warmupSec} s warm-up`,
    metrics: [
      { key: 'sessionsPerSec', label: 'sessions/s', better: 'higher', digits: 0 },
      { key: 'p50Ms', label: 'p50 setup ms', better: 'lower', digits: 2 },
      { key: 'p99Ms', label: 'p99 setup ms', better: 'lower', digits: 2 },
    ],
    target: {
      metric: 'serverUsPerOp',
      against: 'ws',
      ratio: 1.2,
      issue: 17,
      blocker:
        'the same syscalls as raw ws but getpeername (for session.remoteAddress) since the 101 and the open frame share a write; ' +
        "the rest is JavaScript and Node work raw ws does not do: koa-sockjs's own code about 13 % of the setup profile " +
        '(routing, origin check, Session and SessionChannel, the store record, the close path, metrics), Koa about 3 %, ' +
        'and a ServerResponse, listeners and microtasks of the request path (PROFILE.md, round four, connection setup)',
    },
  },
  {
    id: 'xhr-polling',
    title: 'xhr-polling echo',
    load: 'xhr-polling',
    group: 'sockjs',
    baseline: 'sockjs-node',
    extraVariants: ['koa-sockjs-redis'],
    params: { sessions: 50, durationSec: 5, warmupSec: 1 },
    quick: { sessions: 50, durationSec: 2, warmupSec: 1 },
    describe: (p) =>
      `${p.sessions} sessions, each a long-poll connection (POST xhr) and a send connection (POST xhr_send), one 64-byte message in flight per session, ${p.durationSec} s measured after ${p.warmupSec} s warm-up`,
    metrics: [MSGS, P50, P99],
    target: {
      metric: 'msgsPerSec',
      ratio: 1.1,
      issue: 17,
      blocker:
        'an echo is two requests through Koa, with the same syscalls as sockjs-node (4.4 against 4.3 per echo); the gap is ' +
        'JavaScript: about 50 µs per echo in koa-sockjs\'s own code against sockjs-node\'s 32 µs, and Koa, whose two requests ' +
        'alone cost 62 % of what 1.1× allows (see "Koa\'s own cost" below), nothing single and large in the profile. Tried: ' +
        'long polls outside Koa 3\'s stream.pipeline (766b4ae, ~22 % less CPU), no record read-back (2f1c29b), Vary set ' +
        'straight (57e5000). The ratio moves between about 0.5× and 0.9× from run to run on this VM (PROFILE.md, round four)',
    },
  },
  {
    id: 'idle-memory',
    title: 'idle memory per websocket session',
    load: 'idle-memory',
    group: 'websocket',
    extraVariants: ['socket.io'],
    baseline: 'sockjs-node',
    params: { sessions: 5000, concurrency: 200 },
    quick: { sessions: 2000, concurrency: 200 },
    describe: (p) =>
      `server RSS growth (after GC, less the growth of V8's young generation, as for the idle receivers below) from 0 to ${p.sessions} ` +
      `open idle websocket sessions, divided by ${p.sessions}; "RSS incl. young gen." is the growth with it`,
    metrics: [
      { key: 'rssPerSessionBytes', label: 'RSS bytes/session', better: 'lower', digits: 0 },
      { key: 'rssWithYoungGenPerSessionBytes', label: 'RSS incl. young gen.', better: 'lower', digits: 0 },
      { key: 'heapPerSessionBytes', label: 'heap bytes/session', better: 'lower', digits: 0 },
    ],
    target: {
      metric: 'rssPerSessionBytes',
      ratio: 0.5,
      issue: 17,
      blocker:
        'what an open websocket keeps besides ws itself (about 1.1 KB of heap): its Session and SessionChannel, the store record, ' +
        'session.headers and the peer address, the receiver, inlet and heartbeat slot (PROFILE.md, round four, idle memory); ' +
        'with the young generation counted (RSS incl. young gen.) every server carries about 4 KB more per session',
    },
  },
  idleReceivers('xhr_streaming', 'xhr-streaming'),
  idleReceivers('eventsource', 'eventsource'),
  {
    id: 'redis-scale',
    title: 'xhr-polling on Redis: two processes vs one',
    load: 'xhr-polling',
    group: 'scale',
    onlyVariants: ['redis-1-process', 'redis-2-processes', 'redis-2-processes-any'],
    baseline: 'redis-1-process',
    pin: false,
    params: { sessions: 100, durationSec: 5, warmupSec: 1 },
    quick: { sessions: 50, durationSec: 2, warmupSec: 1 },
    describe: (p) =>
      `the xhr-polling echo (${p.sessions} sessions) through the bench's round-robin TCP balancer to one or two koa-sockjs processes ` +
      `sharing sessions through one redis-server: sticky (a session's connections all reach the process its first one reached, as when ` +
      `a balancer hashes the session id) or not (a session's poll and send may reach different processes, and its messages cross ` +
      `through Redis); processes not pinned; ` +
      `server CPU counts the koa-sockjs processes and redis-server; ${p.durationSec} s measured after ${p.warmupSec} s warm-up`,
    metrics: [MSGS, P50, P99],
    target: {
      metric: 'msgsPerSec',
      subject: 'redis-2-processes',
      ratio: 1.6,
      issue: 17,
      blocker:
        'the machine: on 2 cores the second process shares them with the first, redis-server, the balancer and the load ' +
        'generator, which cost ~150 µs of CPU per echo besides the server\'s 280-390 µs, so two processes can reach at most ' +
        '2 × 280 / 433 = 1.29× one process here (bare http servers behind the same balancer: 1.33×, bare Koa 1.18×); ' +
        '1.6× needs the server to be 80 % of an echo\'s CPU. Three Redis round trips per echo since claimAndTake (claim with ' +
        'the outgoing mailbox, the send\'s take of the incoming one, release; four before), one after the other for a ' +
        'session (PROFILE.md, round four)',
    },
  },
  {
    id: 'scale-ceiling',
    title: 'the scale-out rig: two processes vs one of a bare http server',
    load: 'http-requests',
    group: 'scale',
    onlyVariants: ['bare-http-1-process', 'bare-http-2-processes'],
    baseline: 'bare-http-1-process',
    pin: false,
    rounds: 2,
    params: { concurrency: 100, durationSec: 3, warmupSec: 1 },
    quick: { concurrency: 100, durationSec: 2, warmupSec: 1 },
    describe: (p) =>
      `${p.concurrency} keep-alive connections sending GET / back to back through the round-robin balancer of redis-scale to one or two ` +
      `bare http processes (not pinned), ${p.durationSec} s measured after ${p.warmupSec} s warm-up: what a second process can add on ` +
      `this machine when the server costs almost nothing and the balancer and the load generator share the cores (PROFILE.md, round four)`,
    metrics: [
      { key: 'requestsPerSec', label: 'requests/s', better: 'higher', digits: 0 },
      { key: 'p50Ms', label: 'p50 ms', better: 'lower', digits: 2 },
      { key: 'p99Ms', label: 'p99 ms', better: 'lower', digits: 2 },
    ],
  },
  wsEcho(16, {
    rounds: 2,
    target: { metric: 'msgsPerSec', ratio: 1.3, issue: 4 },
    coalescing:
      'the 16 echoes a session gets back in one tick leave as one `a[...]` frame and one write; sockjs-node and raw ws write each message',
  }),
  // The 1 000-session burst says nothing the 5 000 one and the paced rows do not: by name only.
  broadcast(1000, 1000, { optional: true }),
  broadcast(5000, 2000, { target: {
    metric: 'deliveriesPerSec',
    ratio: 2,
    issue: 4,
    blocker:
      'the write syscall per session per message: before 67e9201 it was about 60 % of the server\'s time, ' +
      'because each broadcast was written at once instead of leaving with the other messages of its tick as one frame; ' +
      'check that broadcasts of one tick still leave as one frame per session',
  } }),
  {
    id: 'xhr-streaming',
    title: 'xhr-streaming receive',
    load: 'xhr-streaming',
    group: 'sockjs',
    baseline: 'sockjs-node',
    params: { window: 1000, batch: 100, durationSec: 4, warmupSec: 1 },
    quick: { window: 1000, batch: 100, durationSec: 2, warmupSec: 1 },
    describe: (p) =>
      `one session reads 64-byte messages over xhr_streaming (128 KiB response limit, reconnecting), asking for ${p.batch} at a time over xhr_send with up to ${p.window} requested ahead, ${p.durationSec} s measured after ${p.warmupSec} s warm-up`,
    metrics: [MSGS],
    target: { metric: 'msgsPerSec', ratio: 1.2, issue: 4 },
    rounds: 2,
    coalescing: 'the 100 messages of one flood command leave as one `a[...]` line; sockjs-node writes a line per message',
  },
  rooms('rooms-5000', ['koa-sockjs', 'socket.io', 'koa-sockjs-redis-2', 'socket.io-redis-2'], 'socket.io'),
  rooms('rooms-5000-paced', ['koa-sockjs', 'socket.io', 'koa-sockjs-redis-2', 'socket.io-redis-2'], 'socket.io', { paced: true }),
  rooms('rooms-5000-split', ['koa-sockjs-redis-2', 'socket.io-redis-2'], 'socket.io-redis-2', { split: true }),
  {
    id: 'koa-cost',
    title: "Koa's own cost per HTTP request",
    load: 'http-requests',
    group: 'http',
    baseline: 'bare-http',
    params: { concurrency: 50, durationSec: 3, warmupSec: 1 },
    quick: { concurrency: 50, durationSec: 2, warmupSec: 1 },
    rounds: 2,
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
  if (def.onlyVariants !== undefined) return [...def.onlyVariants];
  const pool =
    def.group === 'sockjs'
      ? ['koa-sockjs', 'koa-sockjs-upgrade', 'koa-sockjs-redis', 'sockjs-node']
      : ['koa-sockjs', 'koa-sockjs-upgrade', 'koa-sockjs-redis', 'sockjs-node', 'ws', 'socket.io'];
  const wanted = [...(selected ?? [...DEFAULT_VARIANTS, ...(def.extraVariants ?? [])]), ...add];
  return pool.filter((id) => wanted.includes(id));
}

/** `--scenario ws-echo` selects ws-echo-1 and ws-echo-16; exact ids select one. */
export function selectScenarios(filter: readonly string[] | null): ScenarioDef[] {
  if (filter === null) return SCENARIOS.filter((s) => s.optional !== true);
  const chosen = SCENARIOS.filter((s) => filter.some((f) => s.id === f || s.id.startsWith(`${f}-`) || s.load === f));
  const unknown = filter.filter((f) => !SCENARIOS.some((s) => s.id === f || s.id.startsWith(`${f}-`) || s.load === f));
  if (unknown.length > 0) {
    throw new TypeError(`--scenario: unknown ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  }
  return chosen;
}
