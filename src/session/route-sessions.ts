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
  /** At shutdown: keys of sessions closed between two polls, until a poll takes the close frame. */
  #closeFramesDue: Set<string> | undefined;
  #allCloseFramesTaken: (() => void) | undefined;
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

  /**
   * Resolves once a receiving request has taken the close frame of each session under `keys`,
   * or after `timeoutMs`. For shutdown: a polling client that was between two polls when its
   * session closed learns of the close only from its next poll, which must find the route
   * still answering with the frame rather than closed (503, which sockjs-client reports as 1006).
   */
  closeFramesTaken(keys: readonly string[], timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.timers.clearTimeout(timer);
        this.#closeFramesDue = undefined;
        this.#allCloseFramesTaken = undefined;
        resolve();
      };
      const timer = this.timers.setTimeout(done, timeoutMs);
      this.#closeFramesDue = new Set(keys);
      this.#allCloseFramesTaken = done;
    });
  }

  /** A receiving request was answered with the close frame of the session under `key`. */
  closeFrameTaken(key: string): void {
    const due = this.#closeFramesDue;
    if (due?.delete(key) && due.size === 0) this.#allCloseFramesTaken?.();
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
