/**
 * The names, units and attribute keys of koa-sockjs's metrics, in one place (README, "Metrics",
 * lists them for operators).
 *
 * Where the OpenTelemetry semantic conventions have a fitting name or attribute it is used
 * (`network.io.direction`, `error.type`, UCUM units `s` and `By`, `{session}`-style annotation
 * units); the rest are in the `sockjs.` namespace and follow the conventions' shapes: the
 * SignalR server metrics (`signalr.server.active_connections`, an UpDownCounter) for open
 * sessions, the database client's `db.client.operation.duration` (a histogram in seconds with
 * `error.type` on failures) for store operations.
 */

/** Instrumentation scope: the meter every instrument is made by. */
export const METER_NAME = 'koa-sockjs';

export const METRIC = {
  /** UpDownCounter, `{session}`: sessions this process holds now. */
  activeSessions: 'sockjs.server.active_sessions',
  /** Counter, `{session}`: sessions opened (onOpen ran); adopted sessions are not counted again. */
  sessionsCreated: 'sockjs.server.sessions.created',
  /** Counter, `{session}`: sessions ended here, by `sockjs.close.code`. */
  sessionsClosed: 'sockjs.server.sessions.closed',
  /**
   * Counter, `{session}`: sessions this process left open to the others sharing its store when
   * its route closed (`close({ handOver })`); not ended, so not in `sessions.closed`.
   */
  sessionsHandedOver: 'sockjs.server.sessions.handed_over',
  /**
   * Counter, `{session}`: sessions this process took over from another (one that shut down or
   * died); opened elsewhere, so not in `sessions.created`. Per process, open sessions are
   * created + adopted - closed - handed_over.
   */
  sessionsAdopted: 'sockjs.server.sessions.adopted',
  /** Histogram, `s`: how long sessions lived in this process. */
  sessionDuration: 'sockjs.server.session.duration',
  /** Counter, `{message}`: SockJS messages, by `network.io.direction` (receive, transmit). */
  messages: 'sockjs.server.messages',
  /** Counter, `By`: bytes of SockJS frames and request bodies, by `network.io.direction`. */
  io: 'sockjs.server.io',
  /** Counter, `{receiver}`: receiving connections attached to a session. */
  receiversAttached: 'sockjs.server.receivers.attached',
  /** Counter, `{refusal}`: requests and connections refused, by `sockjs.refusal.reason`. */
  refusals: 'sockjs.server.refusals',
  /** Histogram, `s`: session store operations, by `sockjs.store.operation`, `error.type` on failure. */
  storeDuration: 'sockjs.store.operation.duration',
  /** Counter, `{session}`: records the store dropped by itself (capacity eviction). */
  evictions: 'sockjs.store.evictions',
} as const;

export const ATTR = {
  /** The route's `name` option. */
  route: 'sockjs.route',
  /** The transport that opened the session (`websocket`, `xhr-streaming`, ...). */
  transport: 'sockjs.transport',
  /** The close code the session ended with; absent when it timed out with no connection. */
  closeCode: 'sockjs.close.code',
  /** Semantic conventions: `receive` (from clients) or `transmit` (to clients). */
  direction: 'network.io.direction',
  /** The store method: `create`, `get`, `take`, `push`, ... */
  storeOperation: 'sockjs.store.operation',
  /** Semantic conventions: the error's `code`, else its class name. */
  errorType: 'error.type',
  /** Why a request or connection was refused: see RefusalReason. */
  refusalReason: 'sockjs.refusal.reason',
} as const;

/**
 * Why a request or connection was refused: a disallowed `origin`, failed `authorization`,
 * a rate or count `limit`, a message over the `size` limit, or a route `draining` for shutdown.
 */
export type RefusalReason = 'origin' | 'authorization' | 'limit' | 'size' | 'draining';

export const REFUSAL_REASONS: readonly RefusalReason[] = ['origin', 'authorization', 'limit', 'size', 'draining'];

/**
 * Bucket boundaries for the store's latency histogram, in seconds: an in-process store answers
 * in microseconds, a networked one in fractions of a millisecond to tens of milliseconds.
 */
export const STORE_DURATION_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Bucket boundaries for session lifetimes, in seconds: a second to a day. */
export const SESSION_DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 14_400, 86_400];
