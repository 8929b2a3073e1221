/**
 * The session layer without a network: a SessionManager on a fake clock and a MemoryStore,
 * driven through the entry points the transports use (a receiving connection, a send, a
 * websocket) with FakeReceivers. Every hook call is logged with the state it ran in. Tests of
 * the session state machine and the channel use it (test/unit/session-*.test.ts).
 *
 * This file is the one place that knows how the transports reach the session layer: when that
 * connection protocol changes, adjust it here.
 */
import { Session, type SessionInit } from '../../src/session/session.js';
import { connectorOf, type SessionConnector } from '../../src/session/connector.js';
import { SessionManager } from '../../src/session/manager.js';
import type { RequestInfo } from '../../src/session/request-info.js';
import { MemoryStore } from '../../src/store/memory.js';
import { WatchingMemoryStore } from './shared-memory-store.js';
import type { SessionStore } from '../../src/store/store.js';
import { FakeTimers } from './fake-timers.js';
import type { FakeReceiver } from './fake-receiver.js';

/** What a test session does in its hooks, besides logging them. */
export interface Hooks {
  /** Runs in the session's constructor, after `super()`. */
  created?(session: RecordingSession): void;
  onOpen?(session: RecordingSession): void | Promise<void>;
  onMessage?(session: RecordingSession, message: unknown): void | Promise<void>;
  onClose?(session: RecordingSession): void | Promise<void>;
  onClosed?(session: RecordingSession): void | Promise<void>;
  onRemove?(session: RecordingSession): void | Promise<void>;
}

export interface HarnessOptions {
  readonly hooks?: Hooks;
  /** @default 25_000, the library's default */
  readonly heartbeatDelay?: number;
  /** @default 5_000, the library's default */
  readonly disconnectDelay?: number;
  readonly pingTimeout?: number;
  readonly maxBufferedBytes?: number;
  /** MemoryStore's `maxSessions`. @default MemoryStore's */
  readonly maxSessions?: number;
  /**
   * A store shared with other processes (a WatchingMemoryStore: a push straight into it, as
   * another process makes, wakes the watchers). @default false, a MemoryStore
   */
  readonly shared?: boolean;
  /**
   * The store the manager gets, made from the harness's MemoryStore: say, one that answers
   * later or fails (see `delayedStore`). @default the MemoryStore itself
   */
  readonly wrapStore?: (store: MemoryStore) => SessionStore;
}

/** A Session whose hooks log `<hook> <state>` (onMessage: `onMessage <json> <state>`). */
export interface RecordingSession extends Session {
  readonly log: string[];
}

export const REQUEST: RequestInfo = { remoteAddress: '127.0.0.1', headers: { host: 'test' }, url: '/s/0/*/xhr_streaming' };

export interface ReportedError {
  readonly error: Error;
  readonly context: string;
}

export class Harness {
  readonly timers = new FakeTimers();
  /** The MemoryStore under the manager's store (see `wrapStore`). */
  readonly store: MemoryStore;
  /** Every hook call of every session, in order. */
  readonly log: string[] = [];
  /** What reached the route's onError, in order. */
  readonly errors: ReportedError[] = [];
  /** Every session the manager made, in order of creation. */
  readonly sessions: RecordingSession[] = [];
  readonly manager: SessionManager<RecordingSession>;
  /** The manager's connection protocol, as the transports reach it. */
  readonly connector: SessionConnector<RecordingSession>;

  constructor(options: HarnessOptions = {}) {
    const storeOptions = { now: () => this.timers.now(), ...(options.maxSessions !== undefined ? { maxSessions: options.maxSessions } : {}) };
    this.store = options.shared ? new WatchingMemoryStore(storeOptions) : new MemoryStore(storeOptions);
    const log = this.log;
    const sessions = this.sessions;
    const hooks = options.hooks ?? {};
    class Recording extends Session implements RecordingSession {
      readonly log = log;
      constructor(init: SessionInit) {
        super(init);
        sessions.push(this);
        hooks.created?.(this);
      }
      override onOpen(): void | Promise<void> {
        log.push(`onOpen ${this.state}`);
        return hooks.onOpen?.(this);
      }
      override onMessage(message: unknown): void | Promise<void> {
        log.push(`onMessage ${JSON.stringify(message)} ${this.state}`);
        return hooks.onMessage?.(this, message);
      }
      override onClose(): void | Promise<void> {
        log.push(`onClose ${this.state}`);
        return hooks.onClose?.(this);
      }
      override onClosed(): void | Promise<void> {
        log.push(`onClosed ${this.state}`);
        return hooks.onClosed?.(this);
      }
      override onRemove(): void | Promise<void> {
        log.push(`onRemove ${this.state}`);
        return hooks.onRemove?.(this);
      }
    }
    this.manager = new SessionManager<RecordingSession>({
      session: Recording,
      store: options.wrapStore ? options.wrapStore(this.store) : this.store,
      timers: this.timers,
      onError: (error, context) => void this.errors.push({ error: error as Error, context }),
      ...(options.heartbeatDelay !== undefined ? { heartbeatDelay: options.heartbeatDelay } : {}),
      ...(options.disconnectDelay !== undefined ? { disconnectDelay: options.disconnectDelay } : {}),
      ...(options.pingTimeout !== undefined ? { pingTimeout: options.pingTimeout } : {}),
      ...(options.maxBufferedBytes !== undefined ? { maxBufferedBytes: options.maxBufferedBytes } : {}),
    });
    this.connector = connectorOf(this.manager);
  }

  /** A receiving connection (xhr, xhr_streaming, ...) for the session under `key`. */
  connect(key: string, receiver: FakeReceiver): Promise<void> {
    return this.connector.connect(key, receiver, REQUEST);
  }

  /** The client sends messages over HTTP (xhr_send): false when they were refused (404). */
  sendFromClient(key: string, messages: readonly unknown[], bytes = Buffer.byteLength(JSON.stringify(messages))): Promise<boolean> {
    return this.connector.incoming(key, messages, bytes);
  }

  /** A new websocket session on `receiver`; `receive` hands it what the client sent. */
  openWebsocket(receiver: FakeReceiver): { session: RecordingSession; receive: (messages: readonly unknown[], bytes?: number) => void } {
    const inlet = this.connector.openWebsocket(receiver, REQUEST);
    return { session: inlet.session, receive: (messages, bytes = Buffer.byteLength(JSON.stringify(messages))) => inlet.receive(messages, bytes) };
  }

  /** The only session made so far. */
  get session(): RecordingSession {
    if (this.sessions.length !== 1) throw new Error(`expected one session, found ${this.sessions.length}`);
    return this.sessions[0]!;
  }

  /** Shuts the manager down; throws if any of its timers stays behind. */
  async close(): Promise<void> {
    await this.manager.close({ timeout: 0 });
    await settle();
    if (this.timers.size !== 0) throw new Error(`${this.timers.size} timer(s) left after the manager closed`);
    // Every session was counted once when it ended: none twice, none forgotten.
    const { open, created, adopted, closed, handedOver } = this.manager.stats().sessions;
    if (open !== 0 || closed + handedOver !== created + adopted) {
      throw new Error(`sessions after the manager closed: ${open} open, ${created} created, ${adopted} adopted, ${closed} closed, ${handedOver} handed over`);
    }
  }
}

/** Lets every pending microtask and one turn of the event loop run (no timer of the fake clock). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Replacements for some of a MemoryStore's methods; each gets the original (bound) first. */
export type StoreOverrides = {
  [K in keyof MemoryStore]?: MemoryStore[K] extends (...args: infer A) => infer R ? (original: (...args: A) => R, ...args: A) => unknown : never;
};

/**
 * `store` with some methods replaced (a take that answers later, or fails); every other one is
 * the store's own, so this follows the store contract as it changes.
 */
export function overriding(store: MemoryStore, overrides: StoreOverrides): SessionStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      const original = (value as (...args: unknown[]) => unknown).bind(target);
      const replacement = overrides[property as keyof StoreOverrides] as ((original: unknown, ...args: unknown[]) => unknown) | undefined;
      return replacement ? (...args: unknown[]) => replacement(original, ...args) : original;
    },
  });
}
