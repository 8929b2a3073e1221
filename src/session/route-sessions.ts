/**
 * The sessions one route runs in this process: their channels by store key, the sessions by
 * server id, and how a session is made and forgotten. Internal: the manager's public API
 * (manager.ts), the connection protocol (connections.ts) and the cluster coordination
 * (cluster/) all work on it.
 */
import { logger } from '../log.js';
import type { RouteMetrics } from '../metrics/route-metrics.js';
import type { StoreAdapter } from '../store/adapter.js';
import type { SessionRecord } from '../store/store.js';
import type { Timers } from '../timers.js';
import { SessionChannel, type ChannelSettings } from './channel.js';
import { logLife } from './life-log.js';
import type { SessionClass, SessionManager } from './manager.js';
import type { RequestInfo } from './request-info.js';
import { internals, kAttachOutlet, type Session } from './session.js';

const log = logger('manager');

export class RouteSessions<S extends Session = Session> {
  /** Local sessions by server id. */
  readonly sessions = new Map<string, S>();
  /** True once the route is shutting down: no new session, and no adoption of orphans. */
  draining = false;
  /** One function for every channel to leave by (not a closure per session). */
  readonly #forgetChannel = (channel: SessionChannel): void => this.#forget(channel);

  constructor(
    /** The manager every session is handed (`session.manager`). */
    readonly manager: SessionManager<S>,
    readonly sessionClass: SessionClass<S>,
    /** Local channels by store key (shared with the route's RoomHub). */
    readonly channels: Map<string, SessionChannel>,
    readonly settings: ChannelSettings,
    readonly metrics: RouteMetrics,
  ) {}

  get store(): StoreAdapter {
    return this.settings.store;
  }

  get timers(): Timers {
    return this.settings.timers;
  }

  /** SessionManager.reportError (a subclass may override it). */
  reportError(error: unknown, context: string, sessionId?: string): void {
    this.settings.reportError(error, context, sessionId);
  }

  /**
   * A new local session and its channel. `persistent` sessions (the HTTP transports') outlive
   * their connections and read their incoming mailbox; websocket ones live with their connection.
   */
  create(key: string, id: string, transport: string, request: RequestInfo, persistent: boolean, data?: Readonly<Record<string, unknown>>): SessionChannel {
    const session = new this.sessionClass({ id, manager: this.manager as unknown as SessionManager, transport, request, ...(data ? { data } : {}) });
    logLife(session, 'created', transport);
    const meter = this.metrics.transport(transport);
    const channel = new SessionChannel(key, session, persistent, this.settings, this.#forgetChannel, meter);
    this.metrics.sessionHeld(meter);
    internals(session)[kAttachOutlet](channel);
    this.channels.set(key, channel);
    this.sessions.set(id, session);
    if (persistent) channel.watchIncoming();
    return channel;
  }

  /** The store dropped a record (MemoryStore full): its session, if it runs here, ends. */
  evicted(key: string, record: SessionRecord): void {
    const channel = this.channels.get(key);
    if (channel && channel.session.id === record.id) {
      log('session %s evicted by the store', record.id);
      this.metrics.evicted();
      channel.evicted();
    }
  }

  #forget(channel: SessionChannel): void {
    if (this.channels.get(channel.key) === channel) this.channels.delete(channel.key);
    this.sessions.delete(channel.session.id);
    const seconds = (this.timers.now() - channel.heldSince) / 1000;
    // A session handed over at shutdown did not end: it goes on in another process.
    if (channel.handedOver) this.metrics.sessionHandedOver(channel.meter, seconds);
    else this.metrics.sessionEnded(channel.meter, channel.closeCode, seconds);
  }
}
