/**
 * The options of `sockjs()`: types and validation. A wrong or unknown option throws
 * SockjsOptionError at startup, naming the option. Their defaults are in one place,
 * src/defaults.ts (`DEFAULTS`).
 */
import type { Middleware } from 'koa';
import { DEFAULTS } from './defaults.js';
import { SockjsOptionError } from './errors.js';
import { resolveDeflate, type PerMessageDeflateOptions } from './transports/shared/deflate.js';
import type { JsessionidOption } from './http/headers.js';
import { Gate } from './security/admission.js';
import type { IdentityFunction } from './security/identity.js';
import { resolveLimits, type FloodLimits } from './security/limits.js';
import { OriginPolicy, type OriginRule } from './security/origins.js';
import { MANAGER_OPTION_KEYS, SessionManager, isSessionManager, isSessionManagerClass, type SessionManagerOptions } from './session/manager.js';
import type { Session } from './session/session.js';
import { TRANSPORT_NAMES, type TransportName } from './transports/names.js';
import { rejectUnknownKeys } from './util/option-keys.js';
import { describeValue } from './util/describe-value.js';
import { MAX_DELAY_HINT, MAX_DELAY_MS } from './util/max-delay.js';

export { TRANSPORT_NAMES, type TransportName };

/**
 * The options of a route that are its own, not its session manager's: all optional. Times are
 * in milliseconds, sizes in bytes.
 */
export interface SockjsRouteOptions {
  /** Route name for `ctx.sockjs(name)`. @default '' */
  name?: string | undefined;
  /**
   * URL prefix the route serves: a plain path (not sockjs-node's regular expression) that
   * starts with '/' and does not end with one. @default '/__sockjs__'
   */
  prefix?: string | undefined;
  /** Whether the websocket transports (`/websocket`, `/*\/*\/websocket`) are served. @default true */
  websocket?: boolean | undefined;
  /**
   * Largest incoming message: a larger websocket message closes the connection with 1009, a
   * larger HTTP body gets 413; nothing of it is delivered. In bytes.
   * @default 1_048_576 (1 MiB)
   */
  maxMessageSize?: number | undefined;
  /**
   * permessage-deflate (RFC 7692) on websocket connections: `true` for the defaults, or
   * `{ threshold, memLevel, level }` (see PerMessageDeflateOptions). Compression is negotiated
   * with each client that offers it (browsers do). It costs memory per connection and CPU per
   * message, and pays for large, repetitive messages (README, "Compression").
   * @default false
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions | undefined;
  /** Bytes a streaming response carries before it is closed (client reconnects). @default 131_072 */
  responseLimit?: number | undefined;
  /**
   * Milliseconds a websocket the server closes (`session.close()`, a dead peer, a stalled
   * reader, `close()` of the route) waits for the client's answering close frame before the
   * connection is cut. RFC 6455 (section 7.1.1) has the server wait for it; a client that is
   * gone or not reading never sends it, and until the cut its connection stays open, and
   * `server.close()` waits for it. ws's own default is 30 000, longer than many orchestrators'
   * grace period after SIGTERM (Kubernetes: 30 s). A hixie-76 websocket (no close frame in that
   * draft) waits as long for the client to end its side of the connection. At most 2^31 - 1.
   * @default 5_000
   */
  websocketCloseTimeout?: number | undefined;
  /**
   * URL of the sockjs-client script the iframe page (`/iframe.html`) loads. sockjs-client
   * refuses an iframe running another version than the page ("Incompatible SockJS!"), so this
   * must name the exact version the application's pages load: for another version, or to serve
   * the script yourself (e.g. from `node_modules/sockjs-client/dist`), set it (README: "The
   * iframe and sockjs-client"). A URL without quotes, angle brackets or whitespace.
   * @default 'https://cdn.jsdelivr.net/npm/sockjs-client@1.6.1/dist/sockjs.min.js'
   */
  sockjsUrl?: string | undefined;
  /** Set a JSESSIONID cookie for sticky load balancers: true, or a function that sets it. @default false */
  jsessionid?: JsessionidOption | undefined;
  /** Send CORS headers on XHR endpoints. @default true */
  cors?: boolean | undefined;
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
  origins?: readonly OriginRule[] | undefined;
  /**
   * Koa middleware run (composed with koa-compose) on every request that would create a
   * session, websocket upgrades included, before anything exists: `ctx.throw(401)` or
   * `ctx.throw(403)` refuses it with that status (a refused upgrade for websockets), and so does
   * a middleware that answers without calling `next()`. What it leaves on `ctx.state` becomes
   * `session.data`. Not run for requests of existing sessions (see `identity`).
   * @default []
   */
  use?: readonly Middleware[] | undefined;
  /**
   * Binds each session to the identity of the request that created it: every later request
   * for it (poll, stream, send) must have the same identity, or gets the 404 of an unknown
   * session. Return a user id, a token subject, or use `anonymousCookie()`; undefined means
   * nobody (refused with 403 when creating). Runs after `use`. @default no binding
   */
  identity?: IdentityFunction | undefined;
  /** Flood limits: new sessions per client per window, sessions per route. @default none */
  limits?: FloodLimits | undefined;
  /**
   * Which transports are served: an array of those to serve (sockjs-node 0.4's form,
   * `['websocket', 'xhr-polling']`: the others answer 404), or switches to turn some off
   * (`{ 'xhr-streaming': false }`: unlisted ones stay on). Names: {@link TRANSPORT_NAMES};
   * `websocket` covers the raw websocket endpoint too (sockjs-node's `websocket-raw`).
   * @default all on
   */
  transports?: readonly TransportName[] | Partial<Record<TransportName, boolean>> | undefined;
}

/** SessionManager or a class extending it, for the `manager` option. */
export type SessionManagerClass<S extends Session = Session> = new (options: SessionManagerOptions<S>) => SessionManager<S>;

/**
 * The options of a route whose session manager `sockjs()` creates: the route's own and those
 * of {@link SessionManagerOptions} (session class, store, delays, bounds, clock, error
 * handler), all optional.
 */
export interface SockjsManagedOptions<S extends Session = Session> extends SockjsRouteOptions, Omit<SessionManagerOptions<S>, 'name'> {
  /** The SessionManager class `sockjs()` instantiates with the manager options. @default SessionManager */
  manager?: SessionManagerClass<S> | undefined;
}

/**
 * The options of a route served by a ready manager instance, which carries its own session
 * class, store, delays and bounds: the options of {@link SessionManagerOptions} go to its
 * constructor, not here (the type refuses them). Its `name` must be the route's.
 */
export type SockjsManagerInstanceOptions<S extends Session = Session> = SockjsRouteOptions & {
  readonly [K in Exclude<keyof SessionManagerOptions, 'name'>]?: never;
} & {
  /** The route's session manager: `new MyManager({ name, session, store })`. */
  manager: SessionManager<S>;
};

/**
 * The options of {@link sockjs}: the route's own ({@link SockjsRouteOptions}) and either the
 * session manager's ({@link SockjsManagedOptions}) or a ready manager instance
 * ({@link SockjsManagerInstanceOptions}). Each is validated when `sockjs()` is called; a wrong or
 * unknown one throws {@link SockjsOptionError} naming it (sockjs-node's names get a hint:
 * `response_limit` is `responseLimit` here). Times are in milliseconds, sizes in bytes.
 */
export type SockjsOptions<S extends Session = Session> = SockjsManagedOptions<S> | SockjsManagerInstanceOptions<S>;

/** Every key of {@link SockjsOptions}; the compiler keeps the list complete. */
export const SOCKJS_OPTION_KEYS = {
  ...MANAGER_OPTION_KEYS,
  name: true,
  prefix: true,
  manager: true,
  websocket: true,
  maxMessageSize: true,
  perMessageDeflate: true,
  responseLimit: true,
  websocketCloseTimeout: true,
  sockjsUrl: true,
  jsessionid: true,
  cors: true,
  origins: true,
  use: true,
  identity: true,
  limits: true,
  transports: true,
} as const satisfies Record<keyof SockjsManagedOptions, true>;

export { DEFAULTS };

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
  /** permessage-deflate on the websocket transports: its settings, every one filled in, or false. */
  readonly perMessageDeflate: false | Readonly<Required<PerMessageDeflateOptions>>;
  /** Bytes a streaming response carries before it is ended. */
  readonly responseLimit: number;
  /** Milliseconds a websocket closed by the server waits for the client's close frame before it is cut. */
  readonly websocketCloseTimeout: number;
  /** The sockjs-client script of the iframe page. */
  readonly sockjsUrl: string;
  /** Whether (or how) a JSESSIONID cookie is set. */
  readonly jsessionid: JsessionidOption;
  /** Whether CORS headers are sent. */
  readonly cors: boolean;
  /** The transports that are on. */
  readonly transports: ReadonlySet<TransportName>;
}

/**
 * The route as the library runs it: its {@link RouteConfig} and the parts only the middleware
 * and the transports use. Internal: `route` of the middleware shows the RouteConfig part.
 */
export interface ResolvedRoute extends RouteConfig {
  /** Who may use the route (the `origins` option). */
  readonly origins: OriginPolicy;
  /** The `use`, `identity` and `limits` options. */
  readonly gate: Gate;
}

function positiveInteger(option: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new SockjsOptionError(option, `must be a positive integer, got ${describeValue(value)}`);
  return value;
}

function delay(option: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_DELAY_MS) {
    throw new SockjsOptionError(option, `must be a positive number of milliseconds and ${MAX_DELAY_HINT}, got ${describeValue(value)}`);
  }
  return value;
}

function boolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new SockjsOptionError(option, `must be true or false, got ${describeValue(value)}`);
  return value;
}

/**
 * sockjs-node 0.4's and sockjs-client's names for transports, to the one that serves them here
 * (sockjs-client's iframe- and xdr- variants use the server's transport of the same kind).
 */
function knownTransport(name: string): TransportName | undefined {
  if ((TRANSPORT_NAMES as readonly string[]).includes(name)) return name as TransportName;
  if (name === 'websocket-raw') return 'websocket';
  const stripped = name.replace(/^iframe-/, '').replace(/^xdr-/, 'xhr-');
  return (TRANSPORT_NAMES as readonly string[]).includes(stripped) ? (stripped as TransportName) : undefined;
}

function unknownTransport(option: string, name: string): SockjsOptionError {
  const meant = knownTransport(name);
  const hint = meant ? `: it is served by "${meant}" here` : ` (transports: ${TRANSPORT_NAMES.join(', ')})`;
  return new SockjsOptionError(option, `names no transport of koa-sockjs, ${JSON.stringify(name)}${hint}`);
}

/** The `transports` option: an allow-list (array) or switches (object); undefined: all on. */
function resolveTransports(option: SockjsRouteOptions['transports']): Set<TransportName> {
  if (option === undefined) return new Set(TRANSPORT_NAMES);
  if (Array.isArray(option)) {
    const list = option as readonly unknown[];
    if (list.length === 0) throw new SockjsOptionError('transports', 'lists no transport: list those to serve, or leave the option out for all');
    const on = new Set<TransportName>();
    list.forEach((name, i) => {
      if (typeof name !== 'string' || !(TRANSPORT_NAMES as readonly string[]).includes(name)) throw unknownTransport(`transports[${i}]`, String(name));
      on.add(name as TransportName);
    });
    return on;
  }
  if (typeof option !== 'object' || option === null) {
    throw new SockjsOptionError('transports', "must be an array of the transports to serve (['websocket', 'xhr-polling']) or switches ({ 'xhr-streaming': false })");
  }
  const on = new Set<TransportName>(TRANSPORT_NAMES);
  for (const [transport, enabled] of Object.entries(option)) {
    if (!(TRANSPORT_NAMES as readonly string[]).includes(transport)) throw unknownTransport(`transports.${transport}`, transport);
    if (!boolean(`transports.${transport}`, enabled)) on.delete(transport as TransportName);
  }
  return on;
}

/** Characters of sockjs-node's prefix, a regular expression (`'[/]echo'`), that a path here would not have. */
const REGEX_SYNTAX = /[[\]\\^$()|+*?{}]/;

function resolvePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !/^\/[^?#]*$/.test(prefix) || (prefix.length > 1 && prefix.endsWith('/')) || prefix.includes('//')) {
    const regex = prefix instanceof RegExp || (typeof prefix === 'string' && REGEX_SYNTAX.test(prefix));
    const hint = regex ? ' (a plain path: sockjs-node\'s prefix was a regular expression, this one is not)' : '';
    throw new SockjsOptionError('prefix', `must be a path starting with "/" and not ending with "/", got ${describeValue(prefix)}${hint}`);
  }
  return prefix === '/' ? '' : prefix;
}

export function resolveOptions<S extends Session>(options: SockjsOptions<S> = {}): ResolvedRoute {
  if (typeof options !== 'object' || options === null) throw new SockjsOptionError('options', 'must be an object');
  rejectUnknownKeys(options, SOCKJS_OPTION_KEYS, 'sockjs()', { sockjsNode: true });
  const name = options.name ?? DEFAULTS.name;
  if (typeof name !== 'string') throw new SockjsOptionError('name', `must be a string, got ${typeof name}`);
  const prefix = resolvePrefix(options.prefix ?? DEFAULTS.prefix);
  const transports = resolveTransports(options.transports);
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
    prefix,
    manager: resolveManager(options, name),
    websocket: transports.has('websocket'),
    maxMessageSize: positiveInteger('maxMessageSize', options.maxMessageSize ?? DEFAULTS.maxMessageSize),
    perMessageDeflate: resolveDeflate(options.perMessageDeflate),
    responseLimit: positiveInteger('responseLimit', options.responseLimit ?? DEFAULTS.responseLimit),
    websocketCloseTimeout: delay('websocketCloseTimeout', options.websocketCloseTimeout ?? DEFAULTS.websocketCloseTimeout),
    sockjsUrl,
    jsessionid,
    cors: boolean('cors', options.cors ?? DEFAULTS.cors),
    transports,
    origins: new OriginPolicy(options.origins ?? DEFAULTS.origins),
    gate: new Gate({ use: resolveUse(options.use), identity: resolveIdentity(options.identity), limits: resolveLimits(options.limits) }),
  };
}

function resolveUse(use: readonly Middleware[] | undefined): readonly Middleware[] {
  if (use === undefined) return DEFAULTS.use;
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
  const given = options as Readonly<Record<string, unknown>>;
  // The type refuses manager options beside an instance; JavaScript callers learn it here.
  if (isSessionManager(manager)) {
    for (const option of Object.keys(MANAGER_OPTION_KEYS)) {
      if (option !== 'name' && given[option] !== undefined) {
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
  // Only the options given: the manager fills in its defaults (undefined would not be one).
  const managerOptions: Record<string, unknown> = { name };
  for (const option of Object.keys(MANAGER_OPTION_KEYS)) {
    if (option !== 'name' && given[option] !== undefined) managerOptions[option] = given[option];
  }
  return new ManagerClass(managerOptions as SessionManagerOptions<S>) as unknown as SessionManager;
}
