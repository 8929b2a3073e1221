/**
 * SessionManager: one per route, and the route's public API: finds sessions, broadcasts to them,
 * closes them, starts and shuts the route down. Subclass it, or pass an instance, with the
 * `manager` option. What the transports call is in connections.ts (through connector.ts), the
 * sessions this process runs in route-sessions.ts, and what concerns other processes sharing
 * the store in cluster/.
 */
import type { MeterProvider } from '@opentelemetry/api';
import { DEFAULTS } from '../defaults.js';
import { SockjsOptionError } from '../errors.js';
import { logger } from '../log.js';
import { RouteMetrics, type SockjsStats } from '../metrics/route-metrics.js';
import { CloseCode, CloseReason } from '../protocol/frames.js';
import { StoreAdapter } from '../store/adapter.js';
import { MemoryStore, hasEvictionNotices } from '../store/memory.js';
import type { SessionStore, Unsubscribe } from '../store/store.js';
import { systemTimers, type Timers } from '../timers.js';
import { isPromiseLike } from '../util/awaitable.js';
import { rejectUnknownKeys } from '../util/option-keys.js';
import { describeValue } from '../util/describe-value.js';
import { MAX_DELAY_HINT, MAX_DELAY_MS } from '../util/max-delay.js';
import type { ChannelSettings, SessionChannel } from './channel.js';
import { ClusterCoordinator } from './cluster/coordinator.js';
import { HeartbeatQueue } from './heartbeat-queue.js';
import { Connections } from './connections.js';
import { attachConnector } from './connector.js';
import { withDetails, type ErrorSink, type SockjsErrorDetails } from './error-report.js';
import { RoomHub, roomList, type Recipients } from './rooms.js';
import { RouteSessions } from './route-sessions.js';
import { Session, isSessionClass, type SessionInit } from './session.js';
import { SessionState } from '../store/session-state.js';
import { UnreadResponses } from './unread-responses.js';

const log = logger('manager');

/** A Session class the manager can instantiate. */
export type SessionClass<S extends Session = Session> = new (init: SessionInit) => S;

/**
 * The options of `new SessionManager()` (and the same-named options of `sockjs()`, which
 * passes them on): all optional, validated by the constructor.
 */
export interface SessionManagerOptions<S extends Session = Session> {
  /** Route name, as used by `ctx.sockjs(name)`. @default '' */
  name?: string | undefined;
  /** The Session class to instantiate. @default Session */
  session?: SessionClass<S> | undefined;
  /**
   * Where session records and queues live: any {@link SessionStore} (docs/stores.md). A store
   * with a `nodeId` is shared by several processes and must implement all of
   * `SharedSessionStore`.
   * @default new MemoryStore()
   */
  store?: SessionStore | undefined;
  /** Milliseconds between heartbeat frames on a receiving connection; 0 turns heartbeats off. @default 25_000 */
  heartbeatDelay?: number | undefined;
  /** Milliseconds a session lives with no receiving connection. @default 5_000 */
  disconnectDelay?: number | undefined;
  /**
   * Websocket connections get a protocol ping (RFC 6455, 5.5.2) with every heartbeat; a peer
   * that has not answered with a pong within this many milliseconds is dropped, and its session
   * ends as interrupted (1002). A dead peer or a half-open TCP connection is noticed within
   * `heartbeatDelay + pingTimeout` (twice `heartbeatDelay` with the default). 0 sends no pings,
   * and so does `heartbeatDelay: 0`. No ping is sent or awaited while the session has stopped
   * reading the connection because its `onMessage` is behind (`incomingHighWaterMark`): the
   * pong would wait unread behind the messages.
   * @default heartbeatDelay
   */
  pingTimeout?: number | undefined;
  /**
   * Bytes a session may hold unsent across all its responses (the attached one's backlog, an
   * answered poll the client has not read, what waits in the store for the next poll);
   * past that, or on a new poll while the previous answer is unread, the session is closed
   * with 1013, so one stalled reader cannot exhaust memory (issue 9).
   * @default 16_777_216 (16 MiB)
   */
  maxBufferedBytes?: number | undefined;
  /**
   * Milliseconds an ended session's URL keeps answering with its close frame (its tombstone in
   * the store) before it counts as unknown again. A client that comes back later (after a long
   * network outage, a sleeping laptop) gets a new session, and sockjs-client answers that
   * unexpected `o` by closing with 1006 "Server lost session" (issue 9). Long enough for any poll
   * still under way; bounded so tombstones cannot pile up (MemoryStore also caps their number).
   * @default 120_000 (2 minutes)
   */
  closedSessionTtl?: number | undefined;
  /**
   * Bytes of received messages that may wait for an async `onMessage` before the session stops
   * reading (issue 9): its websocket is paused, so TCP flow control slows the sender (nothing
   * is lost or reordered), and an HTTP send's answer waits, which holds back sockjs-client's
   * next send. Reading resumes once half of it is left.
   * @default 1_048_576 (1 MiB)
   */
  incomingHighWaterMark?: number | undefined;
  /**
   * Bytes of received messages that may wait for an async `onMessage`, the paused and the held
   * back included: a client that keeps sending in parallel past it is closed with
   * `c[1008,"Too many messages waiting"]` and its messages refused (issue 9). At least
   * `incomingHighWaterMark`. A send while nothing waits is always taken, whatever its size
   * (`maxMessageSize` bounds that).
   * @default 8_388_608 (8 MiB), or `incomingHighWaterMark` when that is larger
   */
  maxIncomingBacklog?: number | undefined;
  /**
   * Milliseconds between renewals of a busy session's store record by its traffic: at most one
   * store `touch` per interval (not one per frame), so the record's time to live and, in
   * MemoryStore's LRU, its recency follow real use to within this. Capped at half the record's
   * time to live (`disconnectDelay` + 2 × `heartbeatDelay`). Heartbeats renew it regardless.
   * @default 5_000
   */
  touchInterval?: number | undefined;
  /** Clock for timers; for tests. @default system timers, unref()'d */
  timers?: Timers | undefined;
  /**
   * Called when a hook throws or a store operation fails; the session and the process go on.
   * `error` is an Error carrying `error.sockjs` (route, session id, context); a thrown
   * non-Error arrives wrapped, as its `cause`.
   * @default `app.emit('error', error)` on the Koa app the route serves (Koa's one error path:
   *   the app's 'error' listeners, or Koa's default handler); stderr before any request came
   */
  onError?: ((error: unknown, context: string) => void) | undefined;
  /**
   * Where the route's OpenTelemetry instruments come from (README, "Metrics").
   * @default the global MeterProvider when the manager is created: a no-op unless the
   *   application registered an SDK before creating its routes
   */
  meterProvider?: MeterProvider | undefined;
}

/** How `close()` shuts a route down (README, "Shutdown"). */
export interface CloseOptions {
  /**
   * Milliseconds to let receivers take what is queued before the rest is closed. Meanwhile the
   * route refuses new sessions (503, and refused websocket upgrades) and serves the existing
   * ones as usual; it stops waiting as soon as every session's `bufferedBytes` is 0.
   * @default 0 (close at once)
   */
  timeout?: number | undefined;
  /**
   * With a store shared by several processes: leave the sessions still open here (those of
   * the HTTP transports) to the other processes instead of closing them. Their records and
   * queued messages stay in the store, their connections end without a frame, and the next
   * request of each client, wherever it lands, adopts the session; no hook runs here. Websocket
   * sessions, which live and die with their connection, are closed with 1001 either way.
   * @default true with a shared store (one with a `nodeId`, such as RedisStore); false
   *   otherwise (no other process to hand over to)
   */
  handOver?: boolean | undefined;
}

const CLOSE_OPTION_KEYS = { timeout: true, handOver: true } as const satisfies Record<keyof CloseOptions, true>;

/**
 * The keys of {@link SessionManagerOptions}: the constructor refuses any other, and `sockjs()`
 * passes these on. The compiler keeps the list complete.
 */
export const MANAGER_OPTION_KEYS = {
  name: true,
  session: true,
  store: true,
  heartbeatDelay: true,
  disconnectDelay: true,
  pingTimeout: true,
  maxBufferedBytes: true,
  closedSessionTtl: true,
  incomingHighWaterMark: true,
  maxIncomingBacklog: true,
  touchInterval: true,
  timers: true,
  onError: true,
  meterProvider: true,
} as const satisfies Record<keyof SessionManagerOptions, true>;

/**
 * On SessionManager.prototype: marks it and its subclasses from any copy of koa-sockjs that
 * speaks the same connection protocol (`@2`, see connector.ts).
 */
const kManagerBrand = Symbol.for('koa-sockjs@2.SessionManager');

function checkDelay(option: string, value: number, zeroAllowed: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed) || value > MAX_DELAY_MS) {
    const what = zeroAllowed ? 'a number of milliseconds, 0 or more' : 'a positive number of milliseconds';
    throw new SockjsOptionError(option, `must be ${what} and ${MAX_DELAY_HINT}, got ${describeValue(value)}`);
  }
  return value;
}

function checkBytes(option: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new SockjsOptionError(option, `must be a positive integer of bytes, got ${describeValue(value)}`);
  return value;
}

/**
 * The sessions of one SockJS route: creates them (one instance of the route's Session class
 * per connection), runs their timers (heartbeats every `heartbeatDelay` ms, removal after
 * `disconnectDelay` ms without a receiving connection), keeps them in the route's store, and
 * reaches them all: `broadcast()`, rooms, `activeSessions()`.
 *
 * Every route has one: `ctx.sockjs(name)` from any middleware, or the middleware's `manager`.
 * Subclass it and pass the class (`manager: MyManager`) or an instance
 * (`manager: new MyManager({ name, session, store })`) to `sockjs()`.
 *
 * @throws {@link SockjsOptionError} from the constructor for a wrong or unknown option, naming
 *   it (a `store` that does not implement the store contract, or a delay past 2 147 483 647 ms,
 *   the longest of Node's timers, included). A subclass with options of its own takes them out before it calls `super(options)`:
 *   `constructor({ greeting, ...options }) { super(options); ... }`.
 */
export class SessionManager<S extends Session = Session> {
  /** The route's name (`ctx.sockjs(name)`). */
  readonly name: string;
  /** Where the route's session records and queues live: the store given (or the default one). */
  readonly store: SessionStore;
  /** The class instantiated for every new session. */
  readonly sessionClass: SessionClass<S>;
  /** Milliseconds between heartbeat frames on a receiving connection; 0 when off. */
  readonly heartbeatDelay: number;
  /** Milliseconds a session lives without a receiving connection. */
  readonly disconnectDelay: number;
  /** Milliseconds a websocket peer has to answer a ping; 0 when no pings are sent. */
  readonly pingTimeout: number;
  /** Bytes a connection may hold unread by a slow client before the session is closed (1013). */
  readonly maxBufferedBytes: number;
  /** Milliseconds an ended session's URL keeps answering with its close frame. */
  readonly closedSessionTtl: number;
  /** Bytes of received messages waiting for `onMessage` past which the session stops reading. */
  readonly incomingHighWaterMark: number;
  /** Bytes of received messages waiting for `onMessage` past which the session is closed (1008). */
  readonly maxIncomingBacklog: number;
  /** Milliseconds between renewals of a busy session's store record by its traffic (at most one per interval). */
  readonly touchInterval: number;
  /** The clock of the route's timers. */
  readonly timers: Timers;
  /** The route's instruments (the transports count refusals through the connector); see `stats()`. */
  readonly #metrics: RouteMetrics;
  /**
   * The store as the route uses it: the full set of operations over whatever store was given,
   * timed, never throwing (store/adapter.ts).
   */
  readonly #storage: StoreAdapter;

  /** The sessions this process runs for the route (route-sessions.ts). */
  readonly #local: RouteSessions<S>;
  /** Sessions, claims and receiving connections across the processes sharing the store. */
  readonly #cluster: ClusterCoordinator<S>;
  /** Answered responses of this process their clients have not read yet (they keep the claim). */
  readonly #unread = new UnreadResponses();
  readonly #onError: (error: unknown, context: string) => void;
  /** Rooms, and the broadcasts to everyone and to rooms. */
  readonly #rooms: RoomHub;
  /** Where errors go by default (see `#serveApp`). */
  #app: ErrorSink | undefined;
  #subscriptions: Unsubscribe[] = [];
  #started = false;
  /** The shutdown under way, once close() was called. */
  #closing: Promise<void> | undefined;

  constructor(options: SessionManagerOptions<S> = {}) {
    if (typeof options !== 'object' || options === null) throw new SockjsOptionError('options', 'of new SessionManager() must be an object');
    rejectUnknownKeys(options, MANAGER_OPTION_KEYS, 'new SessionManager()', { sockjsNode: true });
    this.name = options.name ?? DEFAULTS.name;
    if (typeof this.name !== 'string') throw new SockjsOptionError('name', `must be a string, got ${typeof this.name}`);
    this.sessionClass = options.session ?? (Session as SessionClass<S>);
    if (!isSessionClass(this.sessionClass)) {
      throw new SockjsOptionError('session', 'must be Session or a class extending it');
    }
    this.heartbeatDelay = checkDelay('heartbeatDelay', options.heartbeatDelay ?? DEFAULTS.heartbeatDelay, true);
    this.disconnectDelay = checkDelay('disconnectDelay', options.disconnectDelay ?? DEFAULTS.disconnectDelay, false);
    this.pingTimeout = checkDelay('pingTimeout', options.pingTimeout ?? this.heartbeatDelay, true);
    this.maxBufferedBytes = checkBytes('maxBufferedBytes', options.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes);
    this.closedSessionTtl = checkDelay('closedSessionTtl', options.closedSessionTtl ?? DEFAULTS.closedSessionTtl, false);
    this.incomingHighWaterMark = checkBytes('incomingHighWaterMark', options.incomingHighWaterMark ?? DEFAULTS.incomingHighWaterMark);
    this.maxIncomingBacklog = checkBytes('maxIncomingBacklog', options.maxIncomingBacklog ?? Math.max(DEFAULTS.maxIncomingBacklog, this.incomingHighWaterMark));
    if (this.maxIncomingBacklog < this.incomingHighWaterMark) {
      throw new SockjsOptionError('maxIncomingBacklog', `must be at least incomingHighWaterMark (${this.incomingHighWaterMark}), got ${this.maxIncomingBacklog}`);
    }
    this.touchInterval = checkDelay('touchInterval', options.touchInterval ?? DEFAULTS.touchInterval, false);
    this.timers = options.timers ?? systemTimers;
    this.#metrics = new RouteMetrics(this.name, options.meterProvider);
    // The default store shares the manager's clock: disconnect checks compare its timestamps.
    this.store = options.store ?? new MemoryStore({ now: () => this.timers.now() });
    // reportError() hands every handler an Error carrying `sockjs` details.
    this.#onError = options.onError ?? ((error) => this.#emitOnApp(error as Error));
    // Checks the store implements the contract (a SockjsOptionError now, not a crash later), and
    // times every operation (latency and failures: README, "Metrics").
    this.#storage = new StoreAdapter(this.store, {
      meter: this.#metrics,
      localCount: () => this.size,
      reportError: (error, context) => this.reportError(error, context),
    });
    const channels = new Map<string, SessionChannel>();
    this.#rooms = new RoomHub({ store: this.#storage, name: this.name, channels, timers: this.timers, reportError: (error, context) => this.reportError(error, context) });
    // A record outlives its session's own timers, so the store only reaps what a dead process
    // left behind; every sign of life renews it (see SessionChannel).
    const recordTtl = this.disconnectDelay + this.heartbeatDelay * 2;
    const keepAliveDelay = this.heartbeatDelay > 0 ? this.heartbeatDelay : recordTtl / 2;
    const channelSettings: ChannelSettings = {
      store: this.#storage,
      timers: this.timers,
      heartbeatDelay: this.heartbeatDelay,
      pingTimeout: this.pingTimeout,
      disconnectDelay: this.disconnectDelay,
      maxBufferedBytes: this.maxBufferedBytes,
      recordTtl,
      keepAliveDelay,
      heartbeats: new HeartbeatQueue(this.timers, keepAliveDelay),
      activityRenewDelay: Math.min(this.touchInterval, recordTtl / 2),
      tombstoneTtl: this.closedSessionTtl,
      incomingHighWater: this.incomingHighWaterMark,
      incomingLimit: this.maxIncomingBacklog,
      reportError: (error, context, sessionId) => this.reportError(error, context, sessionId),
      flushBroadcast: this.#rooms.flush,
      rooms: this.#rooms,
      metrics: this.#metrics,
      notifyRemoteReceiver: (key) => this.#cluster.notifyRemoteReceiver(key),
      unread: this.#unread,
    };
    const local = new RouteSessions<S>(this, this.sessionClass, channels, channelSettings, this.#metrics);
    this.#local = local;
    this.#cluster = new ClusterCoordinator(local);
    // Eviction notices are MemoryStore's own API, not the contract's: a store that has them
    // (or a wrapper passing them on) tells which live sessions it dropped, to close them properly.
    if (hasEvictionNotices(this.store)) this.store.onEvict((key, record) => local.evicted(key, record));
    // The connection protocol, for the middleware and the transports only (connector.ts).
    const connections = new Connections(local, this.#cluster);
    attachConnector<S>(this, {
      store: this.#storage,
      metrics: this.#metrics,
      get draining() {
        return local.draining;
      },
      reportError: (error, context) => this.reportError(error, context),
      serveApp: (app) => this.#serveApp(app),
      start: () => this.#start(),
      connect: (key, receiver, request, admission) => connections.connect(key, receiver, request, admission),
      incoming: (key, messages, bytes) => connections.incoming(key, messages, bytes),
      openWebsocket: (receiver, request, admission) => connections.openWebsocket(receiver, request, admission),
    });
  }

  /** How many sessions this process owns now (in any state); see `count()` for the store's. */
  get size(): number {
    return this.#local.sessions.size;
  }

  /**
   * The session with this server id (`session.id`), if this process owns it.
   * @returns The session, or `undefined` for an unknown id or a session of another process.
   */
  get(id: string): S | undefined {
    return this.#local.sessions.get(id);
  }

  /** Open sessions owned by this process (with a shared store, see `count()` for all). */
  activeSessions(): S[] {
    const active: S[] = [];
    for (const session of this.#local.sessions.values()) if (session.state === SessionState.OPEN) active.push(session);
    return active;
  }

  /**
   * A snapshot of this route's activity in this process (sessions, messages, bytes, store
   * operations, refusals): the numbers of the OpenTelemetry metrics, for apps without an SDK.
   */
  stats(): SockjsStats {
    return this.#metrics.snapshot();
  }

  /**
   * How many session records the store holds: with a shared store (Redis), across every
   * process. Asynchronous, because a networked store is asked. A store without `count()` is
   * not asked: the answer is then the sessions this process runs (`size`).
   * @returns A promise of the count; it rejects with the store's error (a `RedisStoreError`
   *   when Redis is unreachable).
   */
  async count(): Promise<number> {
    return this.#storage.count();
  }

  /**
   * Sends a value to every open session, on every process sharing the store. The frame is
   * encoded once and its bytes reused for every recipient; broadcasts of one tick leave
   * together. Returns nothing: there is nothing to await (a failure to reach other processes
   * goes to `onError`).
   * @param value - Any JSON-serialisable value, as for `session.send()`.
   * @throws {@link MessageEncodingError} for a value JSON cannot carry.
   */
  broadcast(value: unknown): void {
    this.#rooms.broadcast(undefined, value);
  }

  /**
   * The members of a room (or of several: each session counted once), to broadcast to them on
   * every process sharing the store, or to list this process's. Sessions join with
   * `session.join(room)`. Throws {@link SockjsArgumentError} (a TypeError) unless given a
   * non-empty room name or an array of them.
   */
  to(rooms: string | readonly string[]): Recipients<S> {
    return this.#rooms.recipients<S>(roomList(rooms, 'to(rooms)'));
  }

  /** Same as `to()`: `manager.in(room).size`, `manager.in(room).sessions()`. */
  in(rooms: string | readonly string[]): Recipients<S> {
    return this.#rooms.recipients<S>(roomList(rooms, 'in(rooms)'));
  }

  /**
   * Every session of the route but some sessions (a Session) and the members of some rooms (a
   * room name): `manager.except(this).broadcast(value)` reaches everyone but the sender.
   */
  except(excluded: Session | string | Iterable<Session | string>): Recipients<S> {
    return this.#rooms.recipients<S>(undefined).except(excluded);
  }

  /**
   * Expires every local session now: hooks fire, connected clients get
   * `c[3001,"Session expired"]`, nothing is kept.
   */
  clear(): void {
    for (const session of [...this.#local.sessions.values()]) session.expire();
  }

  /**
   * Shuts the route down (README, "Shutdown"): refuses new sessions at once, waits up to
   * `options.timeout` ms until receivers took what is queued, then closes every local session
   * with `c[1001,"Server is shutting down"]` (or hands it over, see {@link CloseOptions}),
   * stops every timer and subscription, and closes the store. A second call joins the first.
   * @returns A promise that resolves once the store is closed.
   * @throws {@link SockjsOptionError} (as a rejection) for a timeout that is not 0 to
   *   2 147 483 647 ms (the longest delay of Node's timers), or an unknown option.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    let settings: { timeout: number; handOver: boolean };
    try {
      if (typeof options !== 'object' || options === null) throw new SockjsOptionError('close options', 'must be an object { timeout, handOver }');
      rejectUnknownKeys(options, CLOSE_OPTION_KEYS, 'close()');
      settings = {
        timeout: checkDelay('timeout', options.timeout ?? 0, true),
        handOver: options.handOver ?? this.#storage.shared,
      };
    } catch (error) {
      // A mistake in the call: the route is not closing, and may be closed properly next.
      return Promise.reject(error);
    }
    this.#closing = this.#shutDown(settings.timeout, settings.handOver);
    return this.#closing;
  }

  /** True once `close()` was called: new sessions are refused. */
  get draining(): boolean {
    return this.#local.draining;
  }

  async #shutDown(timeout: number, handOver: boolean): Promise<void> {
    this.#local.draining = true;
    const deadline = this.timers.now() + timeout;
    if (timeout > 0) await this.#drained(timeout);
    // Closed between two polls: the client learns of it from its next poll.
    const framesDue: string[] = [];
    for (const channel of [...this.#local.channels.values()]) {
      if (handOver && channel.persistent && channel.session.state === SessionState.OPEN) {
        channel.handOver();
        continue;
      }
      if (channel.session.state < SessionState.CLOSING) {
        // This tick's messages first (onClose broadcasts of the sessions closed above): they
        // may answer the poll waiting now, and then the close frame waits for the next one.
        channel.flush();
        if (channel.persistent && !channel.receiving) framesDue.push(channel.key);
        channel.session.close(CloseCode.GOING_AWAY, CloseReason.GOING_AWAY);
      }
      channel.remove();
    }
    // What is left of the timeout lets those polls come (sockjs-client polls again at once).
    const left = deadline - this.timers.now();
    if (framesDue.length && left > 0) await this.#local.closeFramesTaken(framesDue, left);
    this.#cluster.endRemoteReceivers();
    // Claims kept by answers not read yet: the sessions go on elsewhere (or end) without them.
    this.#unread.releaseAll();
    this.#rooms.close();
    const subscriptions = this.#subscriptions;
    this.#subscriptions = [];
    for (const unsubscribe of subscriptions) await unsubscribe();
    await this.#storage.close();
  }

  /** Resolves once no local session has anything buffered (or none is left), or after `timeout` ms. */
  #drained(timeout: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.timers.setTimeout(resolve, timeout);
      void Promise.all([...this.#local.sessions.values()].map((session) => session.drain(0))).then(() => {
        this.timers.clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Reports a failed hook or store operation; never throws. The error gets `error.sockjs`
   * ({@link SockjsErrorDetails}: route, session id, context) and goes to `onError`, by default
   * to `app.emit('error')` of the Koa app this route serves (see error-report.ts).
   */
  reportError(error: unknown, context: string, sessionId?: string): void {
    const details: SockjsErrorDetails = sessionId === undefined ? { route: this.name, context } : { route: this.name, sessionId, context };
    const reported = withDetails(error, details);
    log('%s: %O', context, reported);
    try {
      this.#onError(reported, context);
    } catch (handlerError) {
      log('onError threw: %O', handlerError);
    }
  }

  /** The default onError: Koa's error path, so the app's error reporting sees it. */
  #emitOnApp(error: Error): void {
    const app = this.#app;
    // Before any request reached the route (or an app without Koa's listener), stderr.
    if (app === undefined || app.listenerCount('error') === 0) {
      console.error(`koa-sockjs [${this.name}]:`, error);
      return;
    }
    app.emit('error', error);
  }

  /** The Koa app serving the route: the first one a request came from. */
  #serveApp(app: ErrorSink): void {
    this.#app ??= app;
  }

  /** Subscribes to cluster topics once; called on the first request. */
  #start(): void | Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const pending: Promise<void>[] = [];
    const subscribe = (topic: string, listener: (payload: string) => void): void => {
      const result = this.#storage.subscribe(topic, listener);
      if (isPromiseLike(result)) pending.push(result.then((stop) => void this.#subscriptions.push(stop)));
      else this.#subscriptions.push(result);
    };
    const broadcastTopic = this.#rooms.broadcastTopic;
    subscribe(broadcastTopic, (payload) => this.#rooms.received(payload, broadcastTopic));
    const cluster = this.#cluster;
    subscribe(cluster.nodeTopic, (payload) => cluster.received(payload));
    if (pending.length) {
      return Promise.all(pending).then(
        () => undefined,
        async (error: unknown) => {
          // An unreachable store: subscribe again on the next request rather than never.
          const subscribed = this.#subscriptions;
          this.#subscriptions = [];
          this.#started = false;
          for (const unsubscribe of subscribed) await unsubscribe();
          throw error;
        },
      );
    }
  }
}

Object.defineProperty(SessionManager.prototype, kManagerBrand, { value: true });

/** True for a SessionManager (or subclass) instance from this or any other copy of koa-sockjs. */
export function isSessionManager(value: unknown): value is SessionManager {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kManagerBrand] === true;
}

/** True for SessionManager and classes extending it, from this or any other copy of koa-sockjs. */
export function isSessionManagerClass(value: unknown): boolean {
  return typeof value === 'function' && (value.prototype as Record<symbol, unknown> | undefined)?.[kManagerBrand] === true;
}
