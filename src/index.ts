/** koa-sockjs: a SockJS server for Koa. The public surface, and nothing else. */
import './context.js';
export type { SockjsRoutes, SockjsManagers } from './context.js';

export { sockjs, type SockjsMiddleware } from './middleware.js';
export { upgradeHandler, type UpgradeListener } from './upgrade.js';
export {
  DEFAULTS,
  TRANSPORT_NAMES,
  type SockjsOptions,
  type SockjsRouteOptions,
  type SockjsManagedOptions,
  type SockjsManagerInstanceOptions,
  type SessionManagerClass,
  type TransportName,
  type RouteConfig,
} from './options.js';
export { Session, type SessionInit } from './session/session.js';
export { SessionState } from './store/session-state.js';
export type { SockjsErrorDetails, SockjsReportedError } from './session/error-report.js';
export { SessionManager, type CloseOptions, type SessionManagerOptions, type SessionClass } from './session/manager.js';
export type { RequestInfo } from './session/request-info.js';
export type { SockjsStats } from './metrics/route-metrics.js';
export type { PerMessageDeflateOptions } from './transports/shared/deflate.js';
export type { RefusalReason } from './metrics/names.js';
export type { Recipients } from './session/rooms.js';
export { MemoryStore, type EvictionNotices, type MemoryStoreOptions } from './store/memory.js';
export type { Awaitable, CreateResult, Mailbox, SessionRecord, SessionRecordPatch, SessionStore, SharedSessionStore, Unsubscribe } from './store/store.js';
export type { Timers, TimerHandle } from './timers.js';
export type { JsessionidOption } from './http/headers.js';
export type { OriginCheck, OriginRule } from './security/origins.js';
export { anonymousCookie, type AnonymousCookieOptions, type IdentityFunction } from './security/identity.js';
export type { FloodLimits, SessionRateLimiter } from './security/limits.js';
export { CloseCode, CloseReason } from './protocol/frames.js';
export { SockjsOptionError, SockjsArgumentError, SockjsRangeError, SessionStateError, UnknownRouteError, MessageEncodingError, StoreError } from './errors.js';
