/**
 * The options of `sockjs()`: types, defaults (in one place) and validation. A wrong option
 * throws SockjsOptionError at startup, naming the option.
 */
import type { MeterProvider } from '@opentelemetry/api';
import type { Middleware } from 'koa';
import { SockjsOptionError } from './errors.js';
import { resolveDeflate, type DeflateSettings, type PerMessageDeflateOptions } from './transports/shared/deflate.js';
import type { JsessionidOption } from './http/headers.js';
import { Gate } from './security/admission.js';
import type { IdentityFunction } from './security/identity.js';
import { resolveLimits, type FloodLimits } from './security/limits.js';
import { DEFAULT_ORIGINS, OriginPolicy, type OriginRule } from './security/origins.js';
import { DEFAULT_DISCONNECT_DELAY, DEFAULT_HEARTBEAT_DELAY, SessionManager, isSessionManager, isSessionManagerClass, type SessionClass } from './session/manager.js';
import { Session } from './session/session.js';
import type { SessionStore } from './store/store.js';
import type { Timers } from './timers.js';
import { TRANSPORT_NAMES, type TransportName } from './transports/names.js';

export { TRANSPORT_NAMES, type TransportName };

/**
 * The options of {@link sockjs}: all optional. Each is validated when `sockjs()` is called; a
 * wrong one throws {@link SockjsOptionError} naming it. Times are in milliseconds, sizes in
 * bytes.
 */
export interface SockjsOptions<S extends Session = Session> {
  /** Route name for `ctx.sockjs(name)`. @default '' */
  name?: string;
  /** URL prefix the route serves; must start with '/' and not end with one. @default '/__sockjs__' */
  prefix?: string;
  /** Session class, instantiated for every new session. @default Session */
  session?: SessionClass<S>;
  /**
   * A SessionManager subclass to instantiate, or a ready instance. An instance carries its own
   * session class, store and delays: do not pass those options with it.
   * @default SessionManager
   */
  manager?: (new (options: ConstructorParameters<typeof SessionManager<S>>[0]) => SessionManager<S>) | SessionManager<S>;
  /** Session store. @default new MemoryStore() */
  store?: SessionStore;
  /** Milliseconds between heartbeat frames; 0 turns heartbeats off. @default 25_000 */
  heartbeatDelay?: number;
  /** Milliseconds a session survives without a receiving connection. @default 5_000 */
  disconnectDelay?: number;
  /**
   * Milliseconds a websocket peer has to answer the protocol ping sent with every heartbeat;
   * past that the connection is dropped and the session ends as interrupted (1002). 0 sends no
   * pings. @default heartbeatDelay (a dead peer is noticed within twice heartbeatDelay)
   */
  pingTimeout?: number;
  /**
   * Bytes a session may hold unsent, across all its responses: written but not yet read by
   * the client (also in answered polls it has not read), plus what waits in the store for its
   * next poll. Past that the session is closed with 1013 "Client too slow to receive"; so is a
   * session whose client polls again before reading the previous answer.
   * @default 16_777_216 (16 MiB)
   */
  maxBufferedBytes?: number;
  /** Whether the websocket transports (`/websocket`, `/*\/*\/websocket`) are served. @default true */
  websocket?: boolean;
  /**
   * Largest incoming message: a larger websocket message closes the connection with 1009, a
   * larger HTTP body gets 413; nothing of it is delivered. In bytes.
   * @default 1_048_576 (1 MiB)
   */
  maxMessageSize?: number;
  /**
   * permessage-deflate (RFC 7692) on websocket connections: `true` for the defaults, or
   * `{ threshold, memLevel, level }` (see PerMessageDeflateOptions). Compression is negotiated
   * with each client that offers it (browsers do). It costs memory per connection and CPU per
   * message, and pays for large, repetitive messages (README, "Compression").
   * @default false
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Bytes a streaming response carries before it is closed (client reconnects). @default 131_072 */
  responseLimit?: number;
  /**
   * URL of the sockjs-client script the iframe page (`/iframe.html`) loads. sockjs-client
   * refuses an iframe running another version than the page ("Incompatible SockJS!"), so this
   * must name the exact version the application's pages load: for another version, or to serve
   * the script yourself (e.g. from `node_modules/sockjs-client/dist`), set it (README: "The
   * iframe and sockjs-client"). A URL without quotes, angle brackets or whitespace.
   * @default 'https://cdn.jsdelivr.net/npm/sockjs-client@1.6.1/dist/sockjs.min.js'
   */
  sockjsUrl?: string;
  /** Set a JSESSIONID cookie for sticky load balancers: true, or a function that sets it. @default false */
  jsessionid?: JsessionidOption;
  /** Send CORS headers on XHR endpoints. @default true */
  cors?: boolean;
  /**
   * The pages allowed to use the route, by origin: `'self'` (the route's own origin), exact
   * origins (`'https://app.example.com'`), patterns with `*` as the leftmost host label or the
   * port (`'https://*.example.com'`, `'http://localhost:*'`), `'*'` (any page but `null`),
   * `'null'` (file:// pages, sandboxed iframes), or functions `(origin, ctx) => boolean`.
   * A request from another page gets 403 (a websocket: a refused upgrade) on every endpoint but
   * the greeting and the iframe page, which may be framed only by listed pages
   * (`Content-Security-Policy: frame-ancestors`). Requests without an `Origin` (programs,
   * same-origin navigations) are not pages of another site and pass. See docs/security.md.
   * @default ['self']
   */
  origins?: readonly OriginRule[];
  /**
   * Koa middleware run (composed with koa-compose) on every request that would create a
   * session, websocket upgrades included, before anything exists: `ctx.throw(401)` or
   * `ctx.throw(403)` refuses it with that status (a refused upgrade for websockets), and so does
   * a middleware that answers without calling `next()`. What it leaves on `ctx.state` becomes
   * `session.data`. Not run for requests of existing sessions (see `identity`).
   * @default []
   */
  use?: readonly Middleware[];
  /**
   * Binds each session to the identity of the request that created it: every later request
   * for it (poll, stream, send) must have the same identity, or gets the 404 of an unknown
   * session. Return a user id, a token subject, or use `anonymousCookie()`; undefined means
   * nobody (refused with 403 when creating). Runs after `use`. @default no binding
   */
  identity?: IdentityFunction;
  /** Flood limits: new sessions per client per window, sessions per route. @default none */
  limits?: FloodLimits;
  /** Switch transports off: `{ 'xhr-streaming': false }`. Unlisted transports stay on. @default all on */
  transports?: Partial<Record<TransportName, boolean>>;
  /** Clock for timers; for tests. @default system timers, unref()'d */
  timers?: Timers;
  /**
   * Called when a hook throws or a store operation fails, with an Error carrying
   * `error.sockjs` (route, session id, context).
   * @default `app.emit('error', error)` on the Koa app the route serves
   */
  onError?: (error: unknown, context: string) => void;
  /**
   * Where the route's OpenTelemetry instruments come from (README, "Metrics").
   * @default the global MeterProvider when `sockjs()` is called: a no-op unless the application
   *   registered an OpenTelemetry SDK before creating its routes
   */
  meterProvider?: MeterProvider;
}

/** The defaults of the {@link SockjsOptions} that have a plain value, in one place. */
export const DEFAULTS = {
  /** Route name: `''`. */
  name: '',
  /** URL prefix: `'/__sockjs__'`. */
  prefix: '/__sockjs__',
  /** Milliseconds between heartbeat frames: 25 000. */
  heartbeatDelay: DEFAULT_HEARTBEAT_DELAY,
  /** Milliseconds a session lives without a receiving connection: 5 000. */
  disconnectDelay: DEFAULT_DISCONNECT_DELAY,
  /** Websocket transports on. */
  websocket: true,
  /** Largest incoming message, in bytes: 1 MiB. */
  maxMessageSize: 1024 * 1024,
  /** Bytes a streaming response carries before it is ended: 128 KiB. */
  responseLimit: 128 * 1024,
  /** The sockjs-client script of the iframe page: 1.6.1 on jsDelivr. */
  sockjsUrl: 'https://cdn.jsdelivr.net/npm/sockjs-client@1.6.1/dist/sockjs.min.js',
  /** No JSESSIONID cookie. */
  jsessionid: false,
  /** CORS headers on. */
  cors: true,
} as const;

/** Options resolved once at startup; what the transports and endpoints read. */
export interface RouteConfig {
  /** The route's name (`ctx.sockjs(name)`). */
  readonly name: string;
  /** The URL prefix, `''` for a route mounted at `/`. */
  readonly prefix: string;
  /** The route's session manager. */
  readonly manager: SessionManager;
  /** Whether the websocket transports are served. */
  readonly websocket: boolean;
  /** Largest incoming message, in bytes. */
  readonly maxMessageSize: number;
  /** @internal permessage-deflate settings for websockets, or false. */
  readonly perMessageDeflate: DeflateSettings;
  /** Bytes a streaming response carries before it is ended. */
  readonly responseLimit: number;
  /** The sockjs-client script of the iframe page. */
  readonly sockjsUrl: string;
  /** Whether (or how) a JSESSIONID cookie is set. */
  readonly jsessionid: JsessionidOption;
  /** Whether CORS headers are sent. */
  readonly cors: boolean;
  /** The transports that are on. */
  readonly transports: ReadonlySet<TransportName>;
  /** @internal Who may use the route (the `origins` option). */
  readonly origins: OriginPolicy;
  /** @internal The `use`, `identity` and `limits` options. */
  readonly gate: Gate;
}

function positiveInteger(option: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new SockjsOptionError(option, `must be a positive integer, got ${String(value)}`);
  return value;
}

function boolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new SockjsOptionError(option, `must be true or false, got ${String(value)}`);
  return value;
}

export function resolveOptions<S extends Session>(options: SockjsOptions<S> = {}): RouteConfig {
  if (typeof options !== 'object' || options === null) throw new SockjsOptionError('options', 'must be an object');
  const name = options.name ?? DEFAULTS.name;
  if (typeof name !== 'string') throw new SockjsOptionError('name', `must be a string, got ${typeof name}`);
  const prefix = options.prefix ?? DEFAULTS.prefix;
  if (typeof prefix !== 'string' || !/^\/[^?#]*$/.test(prefix) || (prefix.length > 1 && prefix.endsWith('/')) || prefix.includes('//')) {
    throw new SockjsOptionError('prefix', `must be a path starting with "/" and not ending with "/", got ${JSON.stringify(prefix)}`);
  }
  const transports = new Set<TransportName>(TRANSPORT_NAMES);
  for (const [transport, enabled] of Object.entries(options.transports ?? {})) {
    if (!(TRANSPORT_NAMES as readonly string[]).includes(transport)) {
      throw new SockjsOptionError('transports', `has unknown transport ${JSON.stringify(transport)} (known: ${TRANSPORT_NAMES.join(', ')})`);
    }
    if (!boolean(`transports.${transport}`, enabled)) transports.delete(transport as TransportName);
  }
  const websocket = boolean('websocket', options.websocket ?? DEFAULTS.websocket);
  if (!websocket) transports.delete('websocket');

  const jsessionid = options.jsessionid ?? DEFAULTS.jsessionid;
  if (typeof jsessionid !== 'boolean' && typeof jsessionid !== 'function') {
    throw new SockjsOptionError('jsessionid', 'must be a boolean or a function (ctx) => void');
  }
  const sockjsUrl = options.sockjsUrl ?? DEFAULTS.sockjsUrl;
  if (typeof sockjsUrl !== 'string' || sockjsUrl.length === 0 || /["<>\s]/.test(sockjsUrl)) {
    throw new SockjsOptionError('sockjsUrl', 'must be a non-empty URL without quotes, angle brackets or spaces');
  }

  return {
    name,
    prefix: prefix === '/' ? '' : prefix,
    manager: resolveManager(options, name),
    websocket: transports.has('websocket'),
    maxMessageSize: positiveInteger('maxMessageSize', options.maxMessageSize ?? DEFAULTS.maxMessageSize),
    perMessageDeflate: resolveDeflate(options.perMessageDeflate),
    responseLimit: positiveInteger('responseLimit', options.responseLimit ?? DEFAULTS.responseLimit),
    sockjsUrl,
    jsessionid,
    cors: boolean('cors', options.cors ?? DEFAULTS.cors),
    transports,
    origins: new OriginPolicy(options.origins ?? DEFAULT_ORIGINS),
    gate: new Gate({ use: resolveUse(options.use), identity: resolveIdentity(options.identity), limits: resolveLimits(options.limits) }),
  };
}

function resolveUse(use: readonly Middleware[] | undefined): readonly Middleware[] {
  if (use === undefined) return [];
  if (!Array.isArray(use) || !use.every((middleware) => typeof middleware === 'function')) {
    throw new SockjsOptionError('use', 'must be an array of Koa middleware functions');
  }
  return use;
}

function resolveIdentity(identity: IdentityFunction | undefined): IdentityFunction | undefined {
  if (identity !== undefined && typeof identity !== 'function') throw new SockjsOptionError('identity', 'must be a function (ctx) => string | undefined');
  return identity;
}

function resolveManager<S extends Session>(options: SockjsOptions<S>, name: string): SessionManager {
  const { manager } = options;
  if (isSessionManager(manager)) {
    for (const option of ['session', 'store', 'heartbeatDelay', 'disconnectDelay', 'pingTimeout', 'maxBufferedBytes', 'timers', 'onError', 'meterProvider'] as const) {
      if (options[option] !== undefined) {
        throw new SockjsOptionError(option, 'cannot be combined with a manager instance: pass it to the manager\'s constructor');
      }
    }
    if (manager.name !== name) {
      throw new SockjsOptionError('name', `is ${JSON.stringify(name)} but the manager instance is named ${JSON.stringify(manager.name)}`);
    }
    return manager as unknown as SessionManager;
  }
  if (manager !== undefined && !isSessionManagerClass(manager)) {
    throw new SockjsOptionError('manager', 'must be SessionManager, a class extending it, or an instance of one');
  }
  const ManagerClass = manager ?? SessionManager;
  const managerOptions: ConstructorParameters<typeof SessionManager<S>>[0] = { name };
  if (options.session !== undefined) managerOptions.session = options.session;
  if (options.store !== undefined) managerOptions.store = options.store;
  if (options.heartbeatDelay !== undefined) managerOptions.heartbeatDelay = options.heartbeatDelay;
  if (options.disconnectDelay !== undefined) managerOptions.disconnectDelay = options.disconnectDelay;
  if (options.pingTimeout !== undefined) managerOptions.pingTimeout = options.pingTimeout;
  if (options.maxBufferedBytes !== undefined) managerOptions.maxBufferedBytes = options.maxBufferedBytes;
  if (options.timers !== undefined) managerOptions.timers = options.timers;
  if (options.onError !== undefined) managerOptions.onError = options.onError;
  if (options.meterProvider !== undefined) managerOptions.meterProvider = options.meterProvider;
  return new ManagerClass(managerOptions) as unknown as SessionManager;
}
