/**
 * The soak: a bounded churn of sessions on every transport against real koa-sockjs processes on
 * loopback, checking that every message arrives exactly once and in order, and that the server
 * settles back: no sessions left, every onOpen matched by an onRemove, memory and handles where
 * they were. `npm run soak -- --help` (./cli.ts) runs it; test/soak/soak.test.ts runs a short one.
 *
 * Each session, on a transport picked in turn, sends a numbered run of messages (echoed by the
 * server) and then ends one of four ways: a clean close, an abrupt drop (raw clients), a close by
 * the server (it asks for one), or, for clients that can stop reading, as a slow reader: it asks
 * for a flood, stops reading for a while, reads on, and checks the flood too. With `redis`, two
 * server processes share a RedisStore behind a round-robin proxy (every request may land on
 * either), and Redis is restarted in the middle of the run: sessions caught by the restart may
 * end early (what they received must still be in order, without duplicates), later ones must not.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { RoundRobinProxy } from '../helpers/redis-cluster.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { framedWebsocket, hixie76, httpSession, rawWebsocket, sockjsClient, type Closed, type SoakClient } from './clients.js';
import type { SoakStats } from './soak-server.js';

export interface SoakOptions {
  /** Milliseconds of traffic (then the run waits for the server to settle). */
  durationMs: number;
  /** New sessions per second. */
  rate: number;
  /** Two processes on a RedisStore, and a Redis restart in the middle. */
  redis?: boolean;
  /** Messages each session sends. @default 10 */
  messagesPerSession?: number;
  /**
   * The server's `disconnectDelay` (ms). The short default makes the run settle fast; on a
   * loaded machine the clients' own process may take longer than that to send a session's next
   * poll (see `clientLoopDelay`), and the server then rightly times the session out.
   * @default 1000
   */
  disconnectDelayMs?: number;
  /** Progress lines; silent by default. */
  log?: (line: string) => void;
}

export interface Snapshot {
  label: string;
  rss: number;
  heapUsed: number;
  handles: number;
  sessions: number;
  opened: number;
  removed: number;
  errors: number;
}

export interface SoakReport {
  ok: boolean;
  problems: string[];
  snapshots: Snapshot[];
  sessions: number;
  messages: number;
  byTransport: Record<string, number>;
  byEnding: Record<string, number>;
  interruptedByRestart: number;
  elapsedMs: number;
  /**
   * Event-loop delay of the clients' process (all the clients and, with Redis, the proxy run in
   * it) during the churn, in ms: when its p99 or max nears `disconnectDelay`, a session's next
   * poll can reach the server too late, and an early expiry is the harness's, not the server's.
   */
  clientLoopDelay: { p50: number; p99: number; max: number };
}

const SERVER = fileURLToPath(new URL('./soak-server.ts', import.meta.url));
const HEARTBEAT_DELAY = 5_000;
const DEFAULT_DISCONNECT_DELAY = 1_000;
/** A session that takes longer than this is a failure of its own (a hang). */
const SESSION_TIMEOUT_MS = 30_000;
/** Heap after settling may exceed the baseline by this much (lazy initialisation, JIT caches). */
const HEAP_SLACK = 16 * 1024 * 1024;
const RSS_SLACK = 96 * 1024 * 1024;
const HANDLE_SLACK = 4;

type Ending = 'clean' | 'abrupt' | 'server-close' | 'slow-reader';

interface Transport {
  readonly name: string;
  open(base: string, sessionUrl: string): SoakClient;
}

const TRANSPORTS: readonly Transport[] = [
  { name: 'websocket (sockjs-client)', open: (base) => sockjsClient(base, 'websocket') },
  { name: 'xhr-streaming (sockjs-client)', open: (base) => sockjsClient(base, 'xhr-streaming') },
  { name: 'xhr-polling (sockjs-client)', open: (base) => sockjsClient(base, 'xhr-polling') },
  { name: 'eventsource (sockjs-client)', open: (base) => sockjsClient(base, 'eventsource') },
  { name: 'htmlfile', open: (_base, url) => httpSession(url, 'htmlfile') },
  { name: 'jsonp-polling', open: (_base, url) => httpSession(url, 'jsonp-polling') },
  { name: 'websocket (ws)', open: (_base, url) => framedWebsocket(url) },
  { name: 'raw websocket', open: (base) => rawWebsocket(base) },
  { name: 'hixie-76', open: (_base, url) => hixie76(url) },
];

class ServerProcess {
  port = 0;
  readonly #child: ChildProcess;
  readonly #exited: Promise<unknown>;

  constructor(env: Record<string, string>, disconnectDelay: number) {
    this.#child = fork(SERVER, [], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      env: { ...process.env, SOAK_HEARTBEAT_DELAY: String(HEARTBEAT_DELAY), SOAK_DISCONNECT_DELAY: String(disconnectDelay), ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#exited = once(this.#child, 'exit');
  }

  async ready(): Promise<this> {
    const [message] = (await once(this.#child, 'message')) as [{ type: string; port: number }];
    if (message.type !== 'ready') throw new Error(`soak server: expected ready, got ${message.type}`);
    this.port = message.port;
    return this;
  }

  async stats(): Promise<SoakStats> {
    const answer = new Promise<SoakStats>((resolve) => {
      const listener = (message: { type: string }): void => {
        if (message.type !== 'stats') return;
        this.#child.off('message', listener);
        resolve(message as SoakStats);
      };
      this.#child.on('message', listener);
    });
    this.#child.send({ type: 'stats' });
    return answer;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    this.#child.send({ type: 'stop' });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Nanoseconds (perf_hooks histograms) as milliseconds. */
function ms(nanoseconds: number): string {
  return `${Math.round(nanoseconds / 1e6)} ms`;
}

export function formatSnapshot(s: Snapshot): string {
  return `${s.label.padEnd(6)} rss ${mib(s.rss).padStart(10)}  heap ${mib(s.heapUsed).padStart(10)}  handles ${String(s.handles).padStart(4)}  sessions ${String(s.sessions).padStart(5)}  onOpen ${String(s.opened).padStart(6)}  onRemove ${String(s.removed).padStart(6)}  errors ${s.errors}`;
}

/** One session's life. Resolves with what went wrong, if anything. */
async function runSession(
  index: number,
  transport: Transport,
  ending: Ending,
  base: string,
  messageCount: number,
  interrupted: () => boolean,
): Promise<{ problem?: string; interrupted?: boolean; messages: number }> {
  const sessionUrl = `${base}/${String(index % 1000).padStart(3, '0')}/soak${index}x${Math.random().toString(36).slice(2, 8)}`;
  const client = transport.open(base, sessionUrl);
  const echoes: string[] = [];
  const flood: string[] = [];
  let onChange: (() => void) | undefined;
  client.onMessage = (message) => {
    if (message.startsWith('f')) flood.push(message);
    else echoes.push(message);
    onChange?.();
  };
  const expected = Array.from({ length: messageCount }, (_, i) => `s${index}:${i}`);
  const floodCount = 40;
  const floodSize = 2048;
  const state: { closed?: Closed } = {};
  // A function, so that the check after an await is not narrowed away by the one before it.
  const closedNow = (): Closed | undefined => state.closed;
  void client.closed.then((closed) => {
    state.closed = closed;
    onChange?.();
  });
  const until = (condition: () => boolean): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out')), SESSION_TIMEOUT_MS);
      const check = (): void => {
        if (condition() || state.closed) {
          clearTimeout(timer);
          onChange = undefined;
          resolve();
        }
      };
      onChange = check;
      check();
    });
  const fail = (problem: string): { problem?: string; interrupted?: boolean; messages: number } => {
    client.abort?.() ?? client.close();
    // The order check holds even for a session cut short: what arrived is a prefix, once each.
    const prefix = expected.slice(0, echoes.length);
    const inOrder = echoes.every((echo, i) => echo === prefix[i]);
    if (interrupted() && inOrder) return { interrupted: true, messages: echoes.length };
    return { problem: `${transport.name} #${index} (${ending}): ${problem}; received ${JSON.stringify(echoes.slice(0, 20))}`, messages: echoes.length };
  };

  try {
    await Promise.race([client.opened, new Promise((_, reject) => setTimeout(() => reject(new Error('never opened')), SESSION_TIMEOUT_MS))]);
  } catch (error) {
    return fail((error as Error).message);
  }
  for (const message of expected) {
    client.send(message);
    // Some sessions send in bursts, some one at a time.
    if (index % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 1 + (index % 7)));
  }
  try {
    await until(() => echoes.length >= expected.length);
  } catch (error) {
    return fail((error as Error).message);
  }
  if (state.closed) return fail(`closed early: ${state.closed.code} ${state.closed.reason}`);
  if (echoes.length !== expected.length || echoes.some((echo, i) => echo !== expected[i])) return fail('echoes lost, duplicated or out of order');

  if (ending === 'slow-reader') {
    client.pause!();
    client.send(`flood:${floodCount}:${floodSize}`);
    // Long enough for the flood to back up in the server's buffers behind a client that reads nothing.
    await new Promise((resolve) => setTimeout(resolve, 200));
    client.resume!();
    try {
      await until(() => flood.length >= floodCount);
    } catch (error) {
      return fail(`flood: ${(error as Error).message}, ${flood.length} of ${floodCount}`);
    }
    const closed = closedNow();
    if (closed) return fail(`slow reader closed: ${closed.code} ${closed.reason}`);
    if (flood.some((message, i) => !message.startsWith(`f${i}:`) || message.length !== `f${i}:`.length + floodSize)) return fail('flood out of order or damaged');
    client.close();
  } else if (ending === 'server-close') {
    client.send('close');
    const closed = await Promise.race([client.closed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), SESSION_TIMEOUT_MS))]);
    if (!closed) return fail('the server did not close');
    if (closed.code !== 3000 || closed.reason !== 'Go away!') return fail(`server close came as ${closed.code} ${closed.reason}`);
  } else if (ending === 'abrupt') {
    client.abort!();
  } else {
    client.close();
  }
  if (echoes.length !== expected.length) return fail('echoes after the end');
  return { messages: echoes.length };
}

function endingFor(index: number, client: { abort?: unknown; pause?: unknown }): Ending {
  const pick = (['clean', 'abrupt', 'server-close', 'slow-reader'] as const)[Math.floor(index / TRANSPORTS.length) % 4]!;
  if (pick === 'abrupt' && !client.abort) return 'clean';
  if (pick === 'slow-reader' && !client.pause) return 'server-close';
  return pick;
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const messageCount = options.messagesPerSession ?? 10;
  const disconnectDelay = options.disconnectDelayMs ?? DEFAULT_DISCONNECT_DELAY;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  const problems: string[] = [];
  const snapshots: Snapshot[] = [];
  const byTransport: Record<string, number> = {};
  const byEnding: Record<string, number> = {};
  let sessions = 0;
  let messages = 0;
  let interruptedByRestart = 0;

  let redis: RedisServer | undefined;
  let proxy: RoundRobinProxy | undefined;
  const servers: ServerProcess[] = [];
  let restart: { from: number; to: number } | undefined;
  try {
    if (options.redis) {
      redis = await startRedisServer();
      const env = { SOAK_REDIS_URL: redis.url, SOAK_KEY_PREFIX: `soak:${process.pid}:` };
      servers.push(...(await Promise.all([new ServerProcess(env, disconnectDelay).ready(), new ServerProcess(env, disconnectDelay).ready()])));
      proxy = await new RoundRobinProxy(servers.map((server) => server.port)).listen();
    } else {
      servers.push(await new ServerProcess({}, disconnectDelay).ready());
    }
    const base = `${proxy ? proxy.url : `http://127.0.0.1:${servers[0]!.port}`}/soak`;

    const snapshot = async (label: string): Promise<Snapshot> => {
      const all = await Promise.all(servers.map((server) => server.stats()));
      const sum = (key: keyof SoakStats): number => all.reduce((total, stats) => total + (stats[key] as number), 0);
      const taken: Snapshot = {
        label,
        rss: sum('rss'),
        heapUsed: sum('heapUsed'),
        handles: sum('handles'),
        sessions: sum('sessions'),
        opened: sum('opened'),
        removed: sum('removed'),
        errors: sum('errors'),
      };
      snapshots.push(taken);
      log(formatSnapshot(taken));
      return taken;
    };
    const settle = async (): Promise<void> => {
      const deadline = Date.now() + disconnectDelay * 4 + HEARTBEAT_DELAY * 2 + 15_000;
      for (;;) {
        const all = await Promise.all(servers.map((server) => server.stats()));
        if (all.every((stats) => stats.sessions === 0 && stats.opened === stats.removed)) return;
        if (Date.now() > deadline) return;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };

    const run = async (index: number): Promise<void> => {
      const transport = TRANSPORTS[index % TRANSPORTS.length]!;
      // What the client can do decides the ending.
      const capabilities = CAPABILITIES.get(transport.name)!;
      const ending = endingFor(index, capabilities);
      byTransport[transport.name] = (byTransport[transport.name] ?? 0) + 1;
      byEnding[ending] = (byEnding[ending] ?? 0) + 1;
      const inRestart = (): boolean => restart !== undefined && Date.now() >= restart.from - SESSION_TIMEOUT_MS && Date.now() <= restart.to + 5_000;
      const result = await runSession(index, transport, ending, base, messageCount, inRestart);
      sessions++;
      messages += result.messages;
      if (result.interrupted) interruptedByRestart++;
      if (result.problem) {
        problems.push(result.problem);
        log(`problem: ${result.problem}`);
      }
    };

    // Warm up (lazy initialisation, JIT), settle, and take the baseline.
    const warmup = Array.from({ length: TRANSPORTS.length * 4 }, (_, i) => run(1_000_000 + i));
    await Promise.all(warmup);
    await settle();
    const baseline = await snapshot('start');
    problems.length = 0;
    loopDelay.enable();

    // The churn: `rate` new sessions a second for `durationMs`.
    const running = new Set<Promise<void>>();
    const interval = 1000 / options.rate;
    const end = Date.now() + options.durationMs;
    let middleTaken = false;
    let index = 0;
    let nextAt = Date.now();
    while (Date.now() < end) {
      const session = run(index++).finally(() => running.delete(session));
      running.add(session);
      if (!middleTaken && Date.now() >= end - options.durationMs / 2) {
        middleTaken = true;
        if (redis) {
          log('restarting Redis');
          restart = { from: Date.now(), to: Number.POSITIVE_INFINITY };
          await redis.restart();
          restart.to = Date.now();
          log(`Redis back after ${restart.to - restart.from} ms`);
        }
        await snapshot('middle');
      }
      nextAt += interval;
      const wait = nextAt - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    await Promise.all(running);
    loopDelay.disable();
    log(`clients' event-loop delay during the churn: p50 ${ms(loopDelay.percentile(50))}, p99 ${ms(loopDelay.percentile(99))}, max ${ms(loopDelay.max)}`);
    await settle();
    const last = await snapshot('end');

    if (last.sessions !== 0) problems.push(`${last.sessions} session(s) still held after settling`);
    if (last.opened !== last.removed) problems.push(`hooks out of balance: onOpen ${last.opened}, onRemove ${last.removed}`);
    if (last.heapUsed > baseline.heapUsed + HEAP_SLACK) problems.push(`heap grew from ${mib(baseline.heapUsed)} to ${mib(last.heapUsed)}`);
    if (last.rss > baseline.rss + RSS_SLACK) problems.push(`RSS grew from ${mib(baseline.rss)} to ${mib(last.rss)}`);
    if (last.handles > baseline.handles + HANDLE_SLACK) problems.push(`handles grew from ${baseline.handles} to ${last.handles}`);
    // Without a Redis restart nothing may go wrong on the server either.
    if (!redis && last.errors > baseline.errors) problems.push(`${last.errors - baseline.errors} error(s) reported by the server`);
  } finally {
    await proxy?.close();
    await Promise.all(servers.map((server) => server.stop()));
    await redis?.stop();
  }
  return {
    ok: problems.length === 0,
    problems,
    snapshots,
    sessions,
    messages,
    byTransport,
    byEnding,
    interruptedByRestart,
    elapsedMs: Date.now() - started,
    clientLoopDelay: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
  };
}

/** Which clients can drop their connection and stop reading (decides the session's ending). */
const CAPABILITIES = new Map<string, { abort?: unknown; pause?: unknown }>([
  ['websocket (sockjs-client)', {}],
  ['xhr-streaming (sockjs-client)', {}],
  ['xhr-polling (sockjs-client)', {}],
  ['eventsource (sockjs-client)', {}],
  ['htmlfile', { abort: true, pause: true }],
  ['jsonp-polling', { abort: true, pause: true }],
  ['websocket (ws)', { abort: true, pause: true }],
  ['raw websocket', { abort: true, pause: true }],
  ['hixie-76', { abort: true, pause: true }],
]);
