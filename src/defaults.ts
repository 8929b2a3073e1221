/**
 * Every default of koa-sockjs's options, in one place (issue 13). It imports nothing, so every
 * layer may read it (options.ts, the session manager, the transports, MemoryStore) without an
 * arrow pointing back up. `sockjs()` re-exports it as `DEFAULTS`.
 */

const KIB = 1024;
const MIB = 1024 * KIB;

/**
 * The defaults of the options of `sockjs()`, `new SessionManager()` and `new MemoryStore()`,
 * in one place; each option's TSDoc says what it means. Times are in milliseconds, sizes in
 * bytes. Options whose default is not a plain value are not here: `pingTimeout` (defaults to
 * `heartbeatDelay`), `session` (`Session`), `manager` (`SessionManager`), `store` (a
 * `MemoryStore`), `timers` (the system clock), `onError` (`app.emit('error')`), `meterProvider`
 * (the global one), `identity` and `limits` (none).
 */
export const DEFAULTS = Object.freeze({
  /** Route name: `''`. */
  name: '',
  /** URL prefix: `'/__sockjs__'`. */
  prefix: '/__sockjs__',
  /** Milliseconds between heartbeat frames: 25 000 (sockjs-node's `heartbeat_delay`). */
  heartbeatDelay: 25_000,
  /** Milliseconds a session lives without a receiving connection: 5 000 (sockjs-node's `disconnect_delay`). */
  disconnectDelay: 5_000,
  /** Bytes a session may hold unsent across all its responses: 16 MiB. */
  maxBufferedBytes: 16 * MIB,
  /** Milliseconds an ended session's URL keeps answering with its close frame: 120 000 (2 minutes). */
  closedSessionTtl: 120_000,
  /** Bytes of received messages waiting for `onMessage` past which reading pauses: 1 MiB. */
  incomingHighWaterMark: MIB,
  /** Bytes of received messages waiting for `onMessage` past which the session closes (1008): 8 MiB. */
  maxIncomingBacklog: 8 * MIB,
  /** Milliseconds between renewals of a busy session's store record by its traffic: at most one per 5 000. */
  touchInterval: 5_000,
  /** Websocket transports on. */
  websocket: true,
  /** Largest incoming message, in bytes: 1 MiB. */
  maxMessageSize: MIB,
  /** permessage-deflate off. */
  perMessageDeflate: false,
  /** The settings `perMessageDeflate: true` means, and those a `perMessageDeflate` object leaves out. */
  perMessageDeflateSettings: Object.freeze({
    /** Messages under 1 KiB go out uncompressed. */
    threshold: KIB,
    /** zlib's memLevel: 8. */
    memLevel: 8,
    /** zlib's compression level: 6. */
    level: 6,
  }),
  /** Bytes a streaming response carries before it is ended: 128 KiB (sockjs-node's `response_limit`). */
  responseLimit: 128 * KIB,
  /** Milliseconds a websocket closed by the server waits for the client's close frame before it is cut: 5 000 (ws's own is 30 000). */
  websocketCloseTimeout: 5_000,
  /** The sockjs-client script of the iframe page: 1.6.1 on jsDelivr. */
  sockjsUrl: 'https://cdn.jsdelivr.net/npm/sockjs-client@1.6.1/dist/sockjs.min.js',
  /** No JSESSIONID cookie. */
  jsessionid: false,
  /** CORS headers on. */
  cors: true,
  /** Only pages of the route's own origin. */
  origins: Object.freeze(['self'] as const),
  /** No authorization middleware. */
  use: Object.freeze([] as const),
  /** The options of `anonymousCookie()`: cookie `sockjs.anon`, `SameSite=Lax`. */
  anonymousCookie: Object.freeze({
    /** Cookie name: `'sockjs.anon'`. */
    name: 'sockjs.anon',
    /** `SameSite=Lax`. */
    sameSite: 'lax',
  } as const),
  /** The options of `new MemoryStore()`: at most 100 000 sessions. */
  memoryStore: Object.freeze({
    /** Sessions the store holds: 100 000. */
    maxSessions: 100_000,
  }),
  /** The options of `new RedisStore()` (`koa-sockjs/redis`, which exports them as `REDIS_STORE_DEFAULTS`). */
  redisStore: Object.freeze({
    /** The Redis on this machine's default port. */
    url: 'redis://127.0.0.1:6379',
    /** Prefix of every key and channel. */
    keyPrefix: 'koa-sockjs:',
    /** Milliseconds without a sign of life before a process counts as dead: 10 s. */
    nodeTtl: 10_000,
    /** Milliseconds an operation may take, waiting for a lost connection included: 2 s. */
    commandTimeout: 2_000,
  }),
} as const);
