/**
 * The connection protocol: what the middleware and the transports call on a route's session
 * layer. Not part of the public API: a SessionManager builds its connector when it is created
 * and the middleware takes it with `connectorOf(manager)`, so nothing of it shows on the
 * manager's class (or in the published types).
 *
 * The connector hangs on the manager under a registered symbol (`Symbol.for`), like the session
 * layer's calls on Session (see kOpen in session.ts): the ESM and the CommonJS copy of
 * koa-sockjs, loaded by different dependencies, serve each other's managers. The `@2` is the
 * version of this protocol: a copy speaking another refuses the manager (isSessionManager)
 * instead of failing on the first request.
 */
import { SockjsOptionError } from '../errors.js';
import type { RouteMetrics } from '../metrics/route-metrics.js';
import type { StoreAdapter } from '../store/adapter.js';
import type { SessionRecord } from '../store/store.js';
import type { ErrorSink } from './error-report.js';
import type { SessionManager } from './manager.js';
import type { Receiver } from './receiver.js';
import type { RequestInfo } from './request-info.js';
import type { Session } from './session.js';

/** What the session layer gets for a request that was let through (security/admission.ts). */
export interface Admission {
  /** Digest of the creator's identity (`identity` option), kept in the session record. */
  readonly identity?: string | undefined;
  /** What the request's middleware left on `ctx.state`, for `session.data`. */
  readonly data: Readonly<Record<string, unknown>>;
  /**
   * The record of the existing session the request reaches, when the route looked it up
   * first: the session layer must then not create one (the request was not authorized to).
   */
  readonly record?: SessionRecord | undefined;
}

/** A websocket session as its transport holds it: the session, and where its messages go. */
export interface WebsocketSession<S extends Session = Session> {
  readonly session: S;
  /** Hands the session what the client sent in one websocket message of `bytes` bytes (a method: call it on this object). */
  receive(messages: readonly unknown[], bytes: number): void;
}

/** The session layer of one route, as the middleware and the transports reach it. */
export interface SessionConnector<S extends Session = Session> {
  /** The route's store as the session layer uses it (admission looks sessions up in it). */
  readonly store: StoreAdapter;
  /** The route's instruments: refusals are counted through `metrics.refused(reason)`. */
  readonly metrics: RouteMetrics;
  /** True once the route is shutting down: no new session. */
  readonly draining: boolean;
  /** Reports an error to the route's `onError` (SessionManager.reportError). */
  reportError(error: unknown, context: string): void;
  /** The Koa app serving the route: the first one a request came from gets the route's errors. */
  serveApp(app: ErrorSink): void;
  /** Subscribes to the store's topics once; called on every request, resolves once subscribed. */
  start(): void | Promise<void>;
  /**
   * A receiving connection for the session under `key` (xhr, xhr_streaming, eventsource, ...):
   * opens a new session, attaches to a live one, or serves the close frame of a closed one.
   * Never rejects: a store failure ends the receiver with a close frame and goes to `onError`.
   */
  connect(key: string, receiver: Receiver, request: RequestInfo, admission?: Admission): Promise<void>;
  /**
   * Messages sent by the client (xhr_send, jsonp_send). False, and nothing reaches a hook, when
   * there is no such session or it is no longer open. Rejects when the store fails.
   */
  incoming(key: string, messages: readonly unknown[], bytes?: number): Promise<boolean>;
  /** A new websocket session: it lives exactly as long as its connection. */
  openWebsocket(receiver: Receiver, request: RequestInfo, admission?: Admission): WebsocketSession<S>;
}

const kConnector = Symbol.for('koa-sockjs@2.connector');

/** Called once by the SessionManager constructor. */
export function attachConnector<S extends Session>(manager: SessionManager<S>, connector: SessionConnector<S>): void {
  Object.defineProperty(manager, kConnector, { value: connector });
}

/**
 * The connector of a manager (from this or another copy of koa-sockjs speaking protocol @2).
 * @throws {@link SockjsOptionError} for an object that has SessionManager's prototype but was
 *   not made by its constructor.
 */
export function connectorOf<S extends Session>(manager: SessionManager<S>): SessionConnector<S> {
  const connector = (manager as unknown as Record<symbol, SessionConnector<S> | undefined>)[kConnector];
  if (!connector) throw new SockjsOptionError('manager', 'must be made by the SessionManager constructor (new SessionManager(options))');
  return connector;
}
