/**
 * SessionManager: one per route. Creates sessions, finds them, broadcasts to them, closes them,
 * and runs the store side of every receiving connection. Subclass it, or pass an instance, with
 * the `manager` option.
 */
import { randomUUID } from 'node:crypto';
import type { MeterProvider } from '@opentelemetry/api';
import { DEFAULTS } from '../defaults.js';
import { SockjsOptionError } from '../errors.js';
import { logger } from '../log.js';
import { meteredStore } from '../metrics/metered-store.js';
import { RouteMetrics, type SockjsStats } from '../metrics/route-metrics.js';
import { CloseCode, CloseReason, OPEN_FRAME, closeFrame, messageFrame } from '../protocol/frames.js';
import { MemoryStore } from '../store/memory.js';
import type { SessionRecord, SessionStore, Unsubscribe } from '../store/store.js';
import { systemTimers, type Timers } from '../timers.js';
import type { Receiver } from './receiver.js';
import { catchRejection, isPromiseLike, whenReady } from '../util/awaitable.js';
import { keyLabel } from '../util/key-label.js';
import { rejectUnknownKeys } from '../util/option-keys.js';
import { SessionChannel, type ChannelSettings } from './channel.js';
import { attachConnector, type Admission, type WebsocketSession } from './connector.js';
import { withDetails, type ErrorSink, type SockjsErrorDetails } from './error-report.js';
import { logLife } from './life-log.js';
import { RemoteReceiver, type RemoteReceiverSettings } from './cluster/remote-receiver.js';
import { UnreadResponses } from './unread-responses.js';
import type { RequestInfo } from './request-info.js';
import { RoomHub, roomList, type Recipients } from './rooms.js';
import { Session, internals, isSessionClass, kAttachOutlet, kOpen, kResume, type SessionInit } from './session.js';
import { SessionState } from '../store/session-state.js';
import { checkedOutgoing } from './stored-messages.js';

const log = logger('manager');

/** A Session class the manager can instantiate. */
export type SessionClass<S extends Session = Session> = new (init: SessionInit) => S;

/**
 * The options of `new SessionManager()` (and the same-named options of `sockjs()`, which
 * passes them on): all optional, validated by the constructor.
 */
export interface SessionManagerOptions<S extends Session = Session> {
  /** Route name, as used by `ctx.sockjs(name)`. @default '' */
  name?: string;
  /** The Session class to instantiate. @default Session */
  session?: SessionClass<S>;
  /** Where session records and queues live. @default new MemoryStore() */
  store?: SessionStore;
  /** Milliseconds between heartbeat frames on a receiving connection; 0 turns heartbeats off. @default 25_000 */
  heartbeatDelay?: number;
  /** Milliseconds a session lives with no receiving connection. @default 5_000 */
  disconnectDelay?: number;
  /**
   * Websocket connections get a protocol ping (RFC 6455, 5.5.2) with every heartbeat; a peer
   * that has not answered with a pong within this many milliseconds is dropped, and its session
   * ends as interrupted (1002). With the default, a dead peer or a half-open TCP connection is
   * noticed within twice `heartbeatDelay`. 0 sends no pings.
   * @default heartbeatDelay
   */
  pingTimeout?: number;
  /**
   * Bytes a session may hold unsent across all its responses (the attached one's backlog, an
   * answered poll the client has not read, what waits in the store for the next poll);
   * past that, or on a new poll while the previous answer is unread, the session is closed
   * with 1013, so one stalled reader cannot exhaust memory (issue 9).
   * @default 16_777_216 (16 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * Milliseconds an ended session's URL keeps answering with its close frame (its tombstone in
   * the store) before it counts as unknown again. A client that comes back later (after a long
   * network outage, a sleeping laptop) gets a new session, and sockjs-client answers that
   * unexpected `o` by closing with 1006 "Server lost session" (issue 9). Long enough for any poll
   * still under way; bounded so tombstones cannot pile up (MemoryStore also caps their number).
   * @default 120_000 (2 minutes)
   */
  closedSessionTtl?: number;
  /**
   * Bytes of received messages that may wait for an async `onMessage` before the session stops
   * reading (issue 9): its websocket is paused, so TCP flow control slows the sender (nothing
   * is lost or reordered), and an HTTP send's answer waits, which holds back sockjs-client's
   * next send. Reading resumes once half of it is left.
   * @default 1_048_576 (1 MiB)
   */
  incomingHighWaterMark?: number;
  /**
   * Bytes of received messages that may wait for an async `onMessage`, the paused and the held
   * back included: a client that keeps sending in parallel past it is closed with
   * `c[1008,"Too many messages waiting"]` and its messages refused (issue 9). At least
   * `incomingHighWaterMark`. A send while nothing waits is always taken, whatever its size
   * (`maxMessageSize` bounds that).
   * @default 8_388_608 (8 MiB), or `incomingHighWaterMark` when that is larger
   */
  maxIncomingBacklog?: number;
  /**
   * Milliseconds between renewals of a busy session's store record by its traffic: at most one
   * store `touch` per interval (not one per frame), so the record's time to live and, in
   * MemoryStore's LRU, its recency follow real use to within this. Capped at half the record's
   * time to live (`disconnectDelay` + 2 × `heartbeatDelay`). Heartbeats renew it regardless.
   * @default 5_000
   */
  touchInterval?: number;
  /** Clock for timers; for tests. @default system timers, unref()'d */
  timers?: Timers;
  /**
   * Called when a hook throws or a store operation fails; the session and the process go on.
   * `error` is an Error carrying `error.sockjs` (route, session id, context); a thrown
   * non-Error arrives wrapped, as its `cause`.
   * @default `app.emit('error', error)` on the Koa app the route serves (Koa's one error path:
   *   the app's 'error' listeners, or Koa's default handler); stderr before any request came
   */
  onError?: (error: unknown, context: string) => void;
  /**
   * Where the route's OpenTelemetry instruments come from (README, "Metrics").
   * @default the global MeterProvider when the manager is created: a no-op unless the
   *   application registered an SDK before creating its routes
   */
  meterProvider?: MeterProvider;
}

/** How `close()` shuts a route down (README, "Shutdown"). */
export interface CloseOptions {
  /**
   * Milliseconds to let receivers take what is queued before the rest is closed. Meanwhile the
   * route refuses new sessions (503, and refused websocket upgrades) and serves the existing
   * ones as usual; it stops waiting as soon as every session's `bufferedBytes` is 0.
   * @default 0 (close at once)
   */
  timeout?: number;
  /**
   * With a store shared by several processes: leave the sessions still open here (those of
   * the HTTP transports) to the other processes instead of closing them. Their records and
   * queued messages stay in the store, their connections end without a frame, and the next
   * request of each client, wherever it lands, adopts the session; no hook runs here. Websocket
   * sessions, which live and die with their connection, are closed with 1001 either way.
   * @default true, unless the store is a MemoryStore (nothing to hand over to)
   */
  handOver?: boolean;
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

/** Websocket sessions get store keys no client URL can produce (a path segment has no '/'). */
const WEBSOCKET_KEY_PREFIX = 'ws/';

/**
 * The close frame of a receiving request the store could not serve (a networked store that is
 * unreachable): the client learns why its session ended instead of waiting. A 3xxx code (like
 * HTTP's 503), because sockjs-client hands only 1000 and 3000-4999 to the application while a
 * session is opening; other codes make it try the next transport and report 2000.
 */
const STORE_UNAVAILABLE = { code: 3503, reason: 'Session store unavailable' } as const;

/** Request details of a session adopted without a request of its own (after its owner died). */
const NO_REQUEST: RequestInfo = { remoteAddress: '', headers: {}, url: '' };

/** Node topic messages: `<kind>\n<store key>`. */
const INTERRUPTED = 'interrupted';
const CLOSED = 'closed';
/** A receiving connection elsewhere took one of our sessions' queued messages (for drain()). */
const TAKEN = 'taken';
/**
 * To the process whose answered response holds a session's receiver claim: a new receiving
 * request for the session found the claim held (see UnreadResponses).
 */
const POLLED = 'polled';
/** To a session's owner: its client asked again without reading an answer held elsewhere (1013). */
const STALLED = 'stalled';

/**
 * Pauses before retrying a receiver claim held by another live process (see `#claim`): about
 * three quarters of a second in all, then the request gets c[2010].
 */
const CLAIM_RETRY_DELAYS = [10, 40, 100, 200, 400] as const;

/** The process (`store.nodeId`) in a receiver claim token `<nodeId>/<uuid>`. */
function nodeOfToken(token: string | undefined): string | undefined {
  const slash = token?.lastIndexOf('/') ?? -1;
  return slash > 0 ? token!.slice(0, slash) : undefined;
}

function checkDelay(option: string, value: number, zeroAllowed: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
    const what = zeroAllowed ? 'a number of milliseconds, 0 or more' : 'a positive number of milliseconds';
    throw new SockjsOptionError(option, `must be ${what}, got ${String(value)}`);
  }
  return value;
}

function checkBytes(option: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new SockjsOptionError(option, `must be a positive integer of bytes, got ${String(value)}`);
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
 *   it. A subclass with options of its own takes them out before it calls `super(options)`:
 *   `constructor({ greeting, ...options }) { super(options); ... }`.
 */
export class SessionManager<S extends Session = Session> {
  /** The route's name (`ctx.sockjs(name)`). */
  readonly name: string;
  /** Where the route's session records and queues live. */
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

  /** Local channels by store key. */
  readonly #channels = new Map<string, SessionChannel>();
  /** Local sessions by server id. */
  readonly #sessions = new Map<string, S>();
  readonly #channelSettings: ChannelSettings;
  /** Receiving connections served here for sessions owned by other processes, by store key. */
  readonly #remoteReceivers = new Map<string, RemoteReceiver>();
  /** Answered responses of this process their clients have not read yet (they keep the claim). */
  readonly #unread = new UnreadResponses();
  readonly #onError: (error: unknown, context: string) => void;
  /** One function for every channel to leave by (not a closure per session). */
  readonly #forgetChannel = (channel: SessionChannel): void => this.#forget(channel);
  /** Rooms, and the broadcasts to everyone and to rooms. */
  readonly #rooms: RoomHub;
  /** Where errors go by default (see `#serveApp`). */
  #app: ErrorSink | undefined;
  #subscriptions: Unsubscribe[] = [];
  #started = false;
  #closed = false;
  /** The shutdown under way, once close() was called. */
  #closing: Promise<void> | undefined;
  #draining = false;

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
    // Every store operation is timed (latency and failures: README, "Metrics").
    this.store = meteredStore(options.store ?? new MemoryStore({ now: () => this.timers.now() }), this.#metrics);
    // reportError() hands every handler an Error carrying `sockjs` details.
    this.#onError = options.onError ?? ((error) => this.#emitOnApp(error as Error));
    this.#rooms = new RoomHub({ store: this.store, name: this.name, channels: this.#channels, timers: this.timers, reportError: (error, context) => this.reportError(error, context) });
    // A record outlives its session's own timers, so the store only reaps what a dead process
    // left behind; every sign of life renews it (see SessionChannel).
    const recordTtl = this.disconnectDelay + this.heartbeatDelay * 2;
    this.#channelSettings = {
      store: this.store,
      timers: this.timers,
      heartbeatDelay: this.heartbeatDelay,
      pingTimeout: this.pingTimeout,
      disconnectDelay: this.disconnectDelay,
      maxBufferedBytes: this.maxBufferedBytes,
      recordTtl,
      keepAliveDelay: this.heartbeatDelay > 0 ? this.heartbeatDelay : recordTtl / 2,
      activityRenewDelay: Math.min(this.touchInterval, recordTtl / 2),
      tombstoneTtl: this.closedSessionTtl,
      incomingHighWater: this.incomingHighWaterMark,
      incomingLimit: this.maxIncomingBacklog,
      reportError: (error, context, sessionId) => this.reportError(error, context, sessionId),
      flushBroadcast: this.#rooms.flush,
      rooms: this.#rooms,
      metrics: this.#metrics,
      notifyRemoteReceiver: (key) => this.#notifyRemoteReceiver(key),
      unread: this.#unread,
    };
    this.store.onEvict((key, record) => this.#evicted(key, record));
    // The connection protocol, for the middleware and the transports only (connector.ts).
    const manager = this;
    attachConnector<S>(this, {
      store: this.store,
      metrics: this.#metrics,
      get draining() {
        return manager.#draining;
      },
      reportError: (error, context) => this.reportError(error, context),
      serveApp: (app) => this.#serveApp(app),
      start: () => this.#start(),
      connect: (key, receiver, request, admission) => this.#connectReceiver(key, receiver, request, admission),
      incoming: (key, messages, bytes) => this.#incoming(key, messages, bytes),
      openWebsocket: (receiver, request, admission) => this.#openWebsocket(receiver, request, admission),
    });
  }

  /** How many sessions this process owns now (in any state); see `count()` for the store's. */
  get size(): number {
    return this.#sessions.size;
  }

  /**
   * The session with this server id (`session.id`), if this process owns it.
   * @returns The session, or `undefined` for an unknown id or a session of another process.
   */
  get(id: string): S | undefined {
    return this.#sessions.get(id);
  }

  /** Open sessions owned by this process (with a shared store, see `count()` for all). */
  activeSessions(): S[] {
    const active: S[] = [];
    for (const session of this.#sessions.values()) if (session.state === SessionState.OPEN) active.push(session);
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
   * process. Asynchronous, because a networked store is asked.
   * @returns A promise of the count; it rejects with the store's error (a `RedisStoreError`
   *   when Redis is unreachable).
   */
  async count(): Promise<number> {
    return this.store.count();
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
    for (const session of [...this.#sessions.values()]) session.expire();
  }

  /**
   * Shuts the route down (README, "Shutdown"): refuses new sessions at once, waits up to
   * `options.timeout` ms until receivers took what is queued, then closes every local session
   * with `c[1001,"Server is shutting down"]` (or hands it over, see {@link CloseOptions}),
   * stops every timer and subscription, and closes the store. A second call joins the first.
   * @returns A promise that resolves once the store is closed.
   * @throws {@link SockjsOptionError} (as a rejection) for a timeout that is not 0 or more ms,
   *   or an unknown option.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    let settings: { timeout: number; handOver: boolean };
    try {
      if (typeof options !== 'object' || options === null) throw new SockjsOptionError('close options', 'must be an object { timeout, handOver }');
      rejectUnknownKeys(options, CLOSE_OPTION_KEYS, 'close()');
      settings = {
        timeout: checkDelay('timeout', options.timeout ?? 0, true),
        handOver: options.handOver ?? !(this.store instanceof MemoryStore),
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
    return this.#draining;
  }

  async #shutDown(timeout: number, handOver: boolean): Promise<void> {
    this.#draining = true;
    if (timeout > 0) await this.#drained(timeout);
    this.#closed = true;
    for (const channel of [...this.#channels.values()]) {
      if (handOver && channel.persistent && channel.session.state === SessionState.OPEN) {
        channel.handOver();
        continue;
      }
      if (channel.session.state < SessionState.CLOSING) channel.session.close(CloseCode.GOING_AWAY, CloseReason.GOING_AWAY);
      channel.remove();
    }
    // Connections served for sessions of other processes end without a frame: their clients
    // come back, and another process serves them.
    for (const remote of [...this.#remoteReceivers.values()]) remote.end();
    // Claims kept by answers not read yet: the sessions go on elsewhere (or end) without them.
    this.#unread.releaseAll();
    this.#rooms.close();
    const subscriptions = this.#subscriptions;
    this.#subscriptions = [];
    for (const unsubscribe of subscriptions) await unsubscribe();
    await this.store.close();
  }

  /** Resolves once no local session has anything buffered (or none is left), or after `timeout` ms. */
  #drained(timeout: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.timers.setTimeout(resolve, timeout);
      void Promise.all([...this.#sessions.values()].map((session) => session.drain(0))).then(() => {
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
      const result = this.store.subscribe(topic, listener);
      if (isPromiseLike(result)) pending.push(result.then((stop) => void this.#subscriptions.push(stop)));
      else this.#subscriptions.push(result);
    };
    const broadcastTopic = this.#rooms.broadcastTopic;
    subscribe(broadcastTopic, (payload) => this.#rooms.received(payload, broadcastTopic));
    subscribe(this.#nodeTopic(this.store.nodeId), (payload) => {
      const newline = payload.indexOf('\n');
      const kind = payload.slice(0, newline);
      const key = payload.slice(newline + 1);
      // Another process held the receiving connection of one of our sessions and lost it.
      if (kind === INTERRUPTED) this.#channels.get(key)?.interrupted();
      // We hold the receiving connection of a session that closed elsewhere.
      else if (kind === CLOSED) this.#remoteReceivers.get(key)?.checkClosed();
      else if (kind === TAKEN) this.#channels.get(key)?.outgoingTaken();
      // A receiving request elsewhere found the claim an unread answer of ours holds.
      else if (kind === POLLED) void this.#unread.polled(key);
      // A client of one of our sessions asked again without reading an answer held elsewhere.
      else if (kind === STALLED) this.#channels.get(key)?.stalled();
    });
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

  // ---- the connection protocol (SessionConnector, connector.ts) ----

  /**
   * A receiving connection for the session under `key` (xhr, xhr_streaming, eventsource, ...):
   * opens a new session, attaches to a live one, or serves the close frame of a closed one.
   */
  async #connectReceiver(key: string, receiver: Receiver, request: RequestInfo, admission?: Admission): Promise<void> {
    // With a networked store the client may go away while the store is asked, before anything
    // listens for that: remember it, and report it to whatever took the connection.
    let abortedEarly = false;
    receiver.onAbort = () => {
      abortedEarly = true;
    };
    try {
      await this.#connect(key, receiver, request, admission);
    } catch (error) {
      // The store failed (say, Redis is unreachable): end the request with a reason, never hang.
      this.reportError(error, `receiving request (${receiver.transport}) for session ${keyLabel(key)}`);
      receiver.end(closeFrame(STORE_UNAVAILABLE.code, STORE_UNAVAILABLE.reason));
      return;
    }
    if (abortedEarly) receiver.onAbort?.();
  }

  async #connect(key: string, receiver: Receiver, request: RequestInfo, admission: Admission | undefined): Promise<void> {
    const store = this.store;
    // An answer of this process the client has not read holds the claim: read by now, or the
    // reader is stalled (the session closes with 1013, the claim is free, and this request gets
    // the close frame below). See UnreadResponses.
    const looked = this.#unread.polled(key);
    if (looked) await looked;
    const live = this.#channels.get(key);
    if (live && live.session.state === SessionState.OPEN && admission?.record === undefined && admission?.identity === undefined) {
      // An open session of this process (the next poll of a polling session): its state is here,
      // so the store is not asked for its record (one Redis round trip less per poll); the claim
      // is the only store call.
      live.session.hits++;
      const token = this.#newToken();
      live.receiverArriving();
      try {
        const claimed = this.#claim(key, token);
        if (isPromiseLike(claimed) ? await claimed : claimed) live.attach(receiver, token);
        else receiver.end(closeFrame(CloseCode.ANOTHER_CONNECTION, CloseReason.ANOTHER_CONNECTION));
      } finally {
        live.arrivalOver();
      }
      return;
    }
    let record: SessionRecord;
    let isNew = false;
    if (admission?.record) {
      // The route looked the session up and let the request reach it, not create one: if it is
      // gone meanwhile, the claim below fails rather than create an unauthorized session.
      record = admission.record;
    } else {
      const fresh: SessionRecord = {
        id: randomUUID(),
        owner: store.nodeId,
        state: SessionState.OPEN,
        seenAt: this.timers.now(),
        transport: receiver.transport,
        ...(admission?.identity !== undefined ? { identity: admission.identity } : {}),
      };
      const created = store.create(key, fresh, this.#channelSettings.recordTtl);
      ({ record, created: isNew } = isPromiseLike(created) ? await created : created);
      // Created by a concurrent request of another identity between the lookup and now.
      if (!isNew && admission && record.identity !== admission.identity) {
        receiver.end(closeFrame(CloseCode.ANOTHER_CONNECTION, CloseReason.ANOTHER_CONNECTION));
        return;
      }
    }
    if (isNew) {
      const channel = this.#createChannel(key, record.id, receiver.transport, request, true, admission?.data);
      const more = receiver.send(OPEN_FRAME);
      this.#metrics.sessionCreated(channel.meter);
      internals(channel.session)[kOpen]();
      if (!more) channel.idle();
      else if (channel.session.state === SessionState.OPEN) {
        try {
          await this.#claimAndAttach(key, receiver, channel);
        } catch (error) {
          // The session stays, waiting for the next request; its disconnect timer must run.
          channel.idle();
          throw error;
        }
      } else {
        // onOpen closed the session at once: a streaming receiver, still open after the open
        // frame, gets the close frame too (protocol suite: HandlingClose.test_close_frame).
        const found = store.get(key);
        const current = isPromiseLike(found) ? await found : found;
        if (current) this.#serveClosed(key, current, receiver);
        else receiver.end();
      }
      return;
    }
    const local = this.#channels.get(key);
    if (local) local.session.hits++;
    if (record.state >= SessionState.CLOSING) return this.#serveClosed(key, record, receiver);
    const token = this.#newToken();
    const claimed = this.#claim(key, token);
    if (!(isPromiseLike(claimed) ? await claimed : claimed)) {
      receiver.end(closeFrame(CloseCode.ANOTHER_CONNECTION, CloseReason.ANOTHER_CONNECTION));
      return;
    }
    const channel = local ?? (await this.#adoptIfOrphaned(key, record, receiver.transport, request));
    if (channel) channel.attach(receiver, token);
    else this.#serveRemotely(key, receiver, token);
  }

  /**
   * Messages sent by the client (xhr_send, jsonp_send). False, and nothing reaches a hook, when
   * there is no such session or it is no longer open: the transport answers 404 either way, so
   * the client learns its messages were not taken (sockjs-protocol issue 73; docs/transports.md).
   */
  async #incoming(key: string, messages: readonly unknown[], bytes = 0): Promise<boolean> {
    const local = this.#channels.get(key);
    if (local) {
      if (local.session.state !== SessionState.OPEN) {
        log('refused %d message(s) for closed session %s', messages.length, local.session.id);
        return false;
      }
      // Too much already waits for onMessage: this send's answer waits too (sockjs-client sends
      // one request at a time, so that holds the client back), or the session closes (1008).
      const room = local.incomingRoom(bytes);
      if (room === false) return false;
      if (room) await room;
      if (local.session.state !== SessionState.OPEN) return false;
      local.session.hits++;
      this.#metrics.received(local.meter, messages.length, bytes);
      // After what the client sent earlier through other processes (the store's incoming
      // mailbox); answered once they are in line, so the client's next send cannot overtake.
      const inLine = local.receive(messages, bytes);
      if (inLine) await inLine;
      return true;
    }
    const found = this.store.get(key);
    const record = isPromiseLike(found) ? await found : found;
    if (!record) return false;
    if (record.state !== SessionState.OPEN) {
      log('refused %d message(s) for closed session %s', messages.length, record.id);
      return false;
    }
    this.#metrics.received(this.#metrics.transport(record.transport), messages.length, bytes);
    const adopted = await this.#adoptIfOrphaned(key, record, record.transport, NO_REQUEST);
    if (adopted) {
      const inLine = adopted.receive(messages, bytes);
      if (inLine) await inLine;
      return true;
    }
    await this.store.push(
      key,
      'incoming',
      messages.map((message) => JSON.stringify(message)),
    );
    return true;
  }

  /** A new websocket session: it lives exactly as long as its connection. */
  #openWebsocket(receiver: Receiver, request: RequestInfo, admission?: Admission): WebsocketSession<S> {
    const id = randomUUID();
    const key = WEBSOCKET_KEY_PREFIX + id;
    // The record holds the receiver claim from birth: a live connection, which a full store
    // evicts only after sessions without one.
    const record: SessionRecord = {
      id,
      owner: this.store.nodeId,
      state: SessionState.OPEN,
      seenAt: this.timers.now(),
      transport: receiver.transport,
      receiver: id,
      ...(admission?.identity !== undefined ? { identity: admission.identity } : {}),
    };
    this.#storeCall(this.store.create(key, record, this.#channelSettings.recordTtl), 'create');
    const channel = this.#createChannel(key, id, receiver.transport, request, false, admission?.data);
    channel.attach(receiver, id);
    receiver.send(OPEN_FRAME);
    const { meter } = channel;
    this.#metrics.sessionCreated(meter);
    internals(channel.session)[kOpen]();
    const session = channel.session as S;
    const metrics = this.#metrics;
    return {
      session,
      receive: (messages, bytes) => {
        metrics.received(meter, messages.length, bytes);
        channel.receiveDirect(messages, bytes);
      },
    };
  }

  // ---- internals ----

  #nodeTopic(nodeId: string): string {
    return `node:${nodeId}`;
  }

  get #remoteSettings(): RemoteReceiverSettings {
    return {
      ...this.#channelSettings,
      notifyInterrupted: (key) => this.#notifyOwner(key),
      notifyTaken: (key) => this.#notifyOwner(key, TAKEN),
      notifyStalled: (key) => this.#notifyOwner(key, STALLED),
      adoptIfOrphaned: async (key, transport) => {
        const local = this.#channels.get(key);
        if (local) return local;
        const record = await this.store.get(key);
        if (!record || record.state !== SessionState.OPEN) return undefined;
        return this.#adoptIfOrphaned(key, record, transport, NO_REQUEST);
      },
      onDone: (remote) => {
        if (this.#remoteReceivers.get(remote.key) === remote) this.#remoteReceivers.delete(remote.key);
      },
    };
  }

  #serveRemotely(key: string, receiver: Receiver, token: string): void {
    const remote = new RemoteReceiver(key, receiver, token, this.#remoteSettings);
    this.#metrics.receiverAttached(this.#metrics.transport(receiver.transport));
    this.#remoteReceivers.set(key, remote);
    remote.start();
  }

  /** Claim tokens name their process, so a claim left by a dead process can be recognised. */
  #newToken(): string {
    return `${this.store.nodeId}/${randomUUID()}`;
  }

  /**
   * Claims the receiving connection. With a synchronous (in-process) store a refusal is final.
   * With a shared store, a claim held by another process may be one it is releasing right now:
   * its release and our claim travel on different connections, and under load Redis may run our
   * claim first (the client's next poll can overtake the release). So the claim is retried for
   * a moment before the client is told "another connection still open"; and a claim held by a
   * process that died (say, while it held a poll) is released and taken.
   */
  #claim(key: string, token: string): boolean | Promise<boolean> {
    const claimed = this.store.claimReceiver(key, token, this.#channelSettings.recordTtl);
    if (!isPromiseLike(claimed)) return claimed;
    return claimed.then((ok) => ok || this.#reclaim(key, token));
  }

  async #reclaim(key: string, token: string): Promise<boolean> {
    const ttl = this.#channelSettings.recordTtl;
    let told: string | undefined;
    for (const delay of CLAIM_RETRY_DELAYS) {
      const holder = (await this.store.get(key))?.receiver;
      if (holder === undefined) return this.store.claimReceiver(key, token, ttl);
      const holderNode = nodeOfToken(holder);
      // Our own connection carries our releases in order before this claim: the holder is real.
      if (holderNode === undefined || holderNode === this.store.nodeId) return false;
      if (!(await this.store.isAlive(holderNode))) {
        log('releasing the receiver claim that dead process %s holds on %s', holderNode, keyLabel(key));
        await this.store.releaseReceiver(key, holder);
        return this.store.claimReceiver(key, token, ttl);
      }
      // The holder may be an answer its client has not read: it looks, and lets go (read, or
      // the client is stalled); see UnreadResponses. Once per holder.
      if (holder !== told) {
        told = holder;
        this.#storeCall(this.store.publish(this.#nodeTopic(holderNode), `${POLLED}\n${key}`), 'publish polled');
      }
      await new Promise<void>((resolve) => this.timers.setTimeout(resolve, delay));
      if (await this.store.claimReceiver(key, token, ttl)) return true;
    }
    return false;
  }

  /**
   * The receiving connection of a session was interrupted here (or, `TAKEN`, took its queued
   * messages): tell its owner, wherever.
   */
  #notifyOwner(key: string, kind: typeof INTERRUPTED | typeof TAKEN | typeof STALLED = INTERRUPTED): void {
    const local = this.#channels.get(key);
    if (local) {
      if (kind === INTERRUPTED) local.interrupted();
      else if (kind === STALLED) local.stalled();
      else local.outgoingTaken();
      return;
    }
    whenReady(
      this.store.get(key),
      (record) => {
        if (record) this.#storeCall(this.store.publish(this.#nodeTopic(record.owner), `${kind}\n${key}`), `publish ${kind}`);
      },
      (error) => this.reportError(error, `store get for session ${keyLabel(key)}`),
    );
  }

  /** A session closed (or went) while its receiving connection, if any, is in another process. */
  #notifyRemoteReceiver(key: string): void {
    whenReady(
      this.store.get(key),
      (record) => {
        const holderNode = nodeOfToken(record?.receiver);
        if (holderNode === undefined) return;
        if (holderNode === this.store.nodeId) this.#remoteReceivers.get(key)?.checkClosed();
        else this.#storeCall(this.store.publish(this.#nodeTopic(holderNode), `${CLOSED}\n${key}`), 'publish close');
      },
      (error) => this.reportError(error, `store get for session ${keyLabel(key)}`),
    );
  }

  #createChannel(key: string, id: string, transport: string, request: RequestInfo, persistent: boolean, data?: Readonly<Record<string, unknown>>): SessionChannel {
    const session = new this.sessionClass({ id, manager: this as unknown as SessionManager, transport, request, ...(data ? { data } : {}) });
    logLife(session, 'created', transport);
    const meter = this.#metrics.transport(transport);
    const channel = new SessionChannel(key, session, persistent, this.#channelSettings, this.#forgetChannel, meter);
    this.#metrics.sessionHeld(meter);
    internals(session)[kAttachOutlet](channel);
    this.#channels.set(key, channel);
    this.#sessions.set(id, session);
    if (persistent) channel.watchIncoming();
    return channel;
  }

  async #claimAndAttach(key: string, receiver: Receiver, channel: SessionChannel): Promise<void> {
    const token = this.#newToken();
    const claimed = this.#claim(key, token);
    if (isPromiseLike(claimed) ? await claimed : claimed) channel.attach(receiver, token);
    else receiver.end(closeFrame(CloseCode.ANOTHER_CONNECTION, CloseReason.ANOTHER_CONNECTION));
  }

  /**
   * A session whose owning process died is adopted by this one, so the client goes on without
   * reconnecting. onOpen is not run again: it ran on the first owner.
   */
  async #adoptIfOrphaned(key: string, record: SessionRecord, transport: string, request: RequestInfo): Promise<SessionChannel | undefined> {
    // A process shutting down takes on no sessions: the client is served, and another adopts it.
    if (this.#draining) return undefined;
    if (record.owner !== this.store.nodeId && (await this.store.isAlive(record.owner))) return undefined;
    if (record.owner !== this.store.nodeId && !(await this.store.adopt(key, record.owner, this.store.nodeId))) return undefined;
    log('adopting session %s (owner %s is gone)', record.id, record.owner);
    const channel = this.#createChannel(key, record.id, transport, request, true);
    this.#metrics.sessionAdopted(channel.meter);
    // No onOpen: the session was opened by its first owner.
    internals(channel.session)[kResume]();
    channel.pullIncoming();
    return channel;
  }

  #serveClosed(key: string, record: SessionRecord, receiver: Receiver): void {
    const frame = closeFrame(record.closeCode ?? CloseCode.GO_AWAY, record.closeReason ?? CloseReason.GO_AWAY);
    whenReady(
      this.store.take(key, 'outgoing'),
      (taken) => {
        const pending = checkedOutgoing(taken, (error, context) => this.reportError(error, context), `store take for closed session ${record.id}`);
        // Messages sent before the close still reach the client, then the close frame.
        if (pending.length && !receiver.send(messageFrame(pending))) return;
        receiver.end(frame);
      },
      (error) => {
        this.reportError(error, `store take for closed session ${record.id}`);
        receiver.end(frame);
      },
    );
  }

  #forget(channel: SessionChannel): void {
    if (this.#channels.get(channel.key) === channel) this.#channels.delete(channel.key);
    this.#sessions.delete(channel.session.id);
    const seconds = (this.timers.now() - channel.heldSince) / 1000;
    // A session handed over at shutdown did not end: it goes on in another process.
    if (channel.handedOver) this.#metrics.sessionHandedOver(channel.meter, seconds);
    else this.#metrics.sessionEnded(channel.meter, channel.closeCode, seconds);
  }

  #evicted(key: string, record: SessionRecord): void {
    const channel = this.#channels.get(key);
    if (channel && channel.session.id === record.id) {
      log('session %s evicted by the store', record.id);
      this.#metrics.evicted();
      channel.evicted();
    }
  }

  #storeCall(result: unknown, what: string): void {
    catchRejection(result, (error) => this.reportError(error, `store ${what}`));
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
