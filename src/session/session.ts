/**
 * Session: what an application subclasses. One per SockJS connection; hooks fire in the order
 * onOpen, onMessage*, onClose, onClosed, onRemove, each exactly once. A hook may be async; the
 * next hook waits for it, so onMessage never runs before onOpen has finished. A hook that throws
 * or rejects is logged and does not end the session.
 */
import { SessionStateError, SockjsArgumentError, SockjsRangeError } from '../errors.js';
import { logger } from '../log.js';
import { CloseCode, CloseReason } from '../protocol/frames.js';
import { encodeMessage } from '../protocol/json.js';
import type { SessionManager } from './manager.js';
import type { RequestInfo } from './request-info.js';
import { checkRoom } from './rooms.js';
import { SessionState, assertTransition, stateName } from '../store/session-state.js';
import { logLife } from './life-log.js';

const log = logger('session');
const NO_ROOMS: ReadonlySet<string> = new Set();

/** How the session layer reaches a session's connection; see SessionChannel. */
export interface SessionOutlet {
  /**
   * Queues one JSON-encoded message. False when this process no longer runs the session (it
   * was handed over to another process at shutdown): nothing was queued. An outlet of an older
   * copy answers nothing (undefined), which counts as queued.
   */
  write(encoded: string): boolean | void;
  /** Sends what was written or broadcast so far, before the session leaves OPEN. */
  flush(): void;
  /** Sends the close frame (after pending messages) and ends the receiving connection. */
  close(code: number, reason: string): void;
  /** Drops the session from its manager and store now. */
  remove(): void;
  /** Room membership (see Session.join). */
  join(room: string): Promise<void>;
  leave(room: string): boolean;
  readonly rooms: ReadonlySet<string>;
  /** Bytes sent but not yet handed to the client's connection (see Session.bufferedBytes). */
  readonly bufferedBytes: number;
  /** Resolves true once at most `below` bytes are buffered; false if the session ends first. */
  drain(below: number): Promise<boolean>;
}

/** What the manager hands a new session. */
export interface SessionInit {
  /** The server-made session id. */
  readonly id: string;
  /** The manager of the session's route. */
  readonly manager: SessionManager;
  /** The transport of the request that opens the session, e.g. `xhr-streaming`. */
  readonly transport: string;
  /** What the session may know of the opening request: address, safe headers, URL. */
  readonly request: RequestInfo;
  /** What the creating request's middleware left on `ctx.state`. @default {} */
  readonly data?: Readonly<Record<string, unknown>> | undefined;
}

type HookName = 'onOpen' | 'onMessage' | 'onClose' | 'onClosed' | 'onRemove';

/**
 * Symbols for the session layer's own calls; not part of the public API. They are registered
 * (`Symbol.for`) so that two copies of koa-sockjs in one process — the ESM and the CommonJS
 * build, loaded by different dependencies — can drive each other's sessions. The `@1` is the
 * version of this internal protocol: copies that do not share it refuse each other's classes
 * (see isSessionClass) instead of failing later.
 */
export const kOpen = Symbol.for('koa-sockjs@1.open');
export const kAttachOutlet = Symbol.for('koa-sockjs@1.attachOutlet');
export const kReceive = Symbol.for('koa-sockjs@1.receive');
export const kResume = Symbol.for('koa-sockjs@1.resume');
export const kEnded = Symbol.for('koa-sockjs@1.ended');
export const kRemoved = Symbol.for('koa-sockjs@1.removed');
export const kHookTail = Symbol.for('koa-sockjs@1.hookTail');
/** On Session.prototype: marks Session and its subclasses from any copy of koa-sockjs. */
const kSessionBrand = Symbol.for('koa-sockjs@1.Session');

/** The session layer's calls on a Session, defined on its prototype (see the class's static block). */
export interface SessionInternals {
  /** Connects the session to its channel. */
  [kAttachOutlet](outlet: SessionOutlet): void;
  /** NEW -> OPEN, then onOpen. Throws SessionStateError in any other state. */
  [kOpen](): void;
  /** NEW -> OPEN without onOpen: a session adopted from a process that died. */
  [kResume](): void;
  /** Delivers client messages to onMessage (those that find the session closed are dropped). */
  [kReceive](messages: readonly unknown[]): void;
  /** The connection ended (client close, interruption, close frame sent): -> CLOSED. */
  [kEnded](): void;
  /**
   * Settles once every hook called so far has finished; undefined when none is running (all
   * messages delivered so far have been taken). How the session layer bounds what waits for an
   * async onMessage (issue 9).
   */
  readonly [kHookTail]: Promise<void> | undefined;
  /** The manager forgot the session: onRemove, once. */
  [kRemoved](): void;
}

/** The session layer's view of a session: its internal calls. */
export function internals(session: Session<object>): SessionInternals {
  return session as unknown as SessionInternals;
}

const EMPTY_DATA: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * One SockJS connection, as the application sees it: subclass it, override the hooks, and
 * pass the class to `sockjs({ session })`; the route's manager creates one instance per
 * connection (never call the constructor yourself).
 *
 * Hooks fire in this order, each at most once except `onMessage`: `onOpen`, `onMessage`*,
 * `onClose`, `onClosed`, `onRemove`. A hook may be `async`; the next one waits for it. A hook
 * that throws or rejects is reported to the route's `onError` and ends neither the session
 * nor the process.
 *
 * `Data` types `session.data`: what the route's `use` middleware (and any middleware before the
 * route) left on `ctx.state`, e.g. `class Chat extends Session<{ user: User }>`.
 *
 * @example
 * ```ts
 * class Echo extends Session {
 *   override onMessage(message: unknown) { this.send(message); }
 * }
 * app.use(sockjs({ prefix: '/echo', session: Echo }));
 * ```
 */
export class Session<Data extends object = Record<string, unknown>> {
  /** Server-made id, unique per session. The client's URL session id is never exposed. */
  readonly id: string;
  /** The manager of the route this session belongs to. */
  readonly manager: SessionManager;
  /** Client address (honours Koa's `app.proxy`). */
  readonly remoteAddress: string;
  /** A safe subset of the opening request's headers (no cookie, no authorization). */
  readonly headers: Readonly<Record<string, string>>;
  /** URL of the request that opened the session. */
  readonly url: string;
  /**
   * A frozen copy of `ctx.state` of the request that created the session, after the route's
   * `use` middleware ran: who connected (`this.data.user`). Never the request's cookies. Empty
   * in a process that adopted the session after its owner died.
   */
  readonly data: Readonly<Data>;
  /** Transport of the current (or last) receiving connection. */
  transport: string;
  /** Requests and frames received from the client. */
  hits = 0;
  /** Heartbeat frames sent. */
  heartbeats = 0;

  #state: SessionState = SessionState.NEW;
  #outlet: SessionOutlet | undefined;
  /** A close made before the session was connected to its channel (in the constructor). */
  #closedEarly: { code: number; reason: string } | undefined;
  #removed = false;
  /** Tail of the hook chain while an async hook runs; undefined when idle. */
  #hookTail: Promise<void> | undefined;

  constructor(init: SessionInit) {
    this.id = init.id;
    this.manager = init.manager;
    this.transport = init.transport;
    this.remoteAddress = init.request.remoteAddress;
    this.headers = init.request.headers;
    this.url = init.request.url;
    this.data = (init.data ?? EMPTY_DATA) as Readonly<Data>;
  }

  /** The session's state: NEW 0, OPEN 1, CLOSING 2, CLOSED 3 ({@link SessionState}). */
  get state(): SessionState {
    return this.#state;
  }

  /** Called once the session is open and the client has its open frame. */
  onOpen(): void | Promise<void> {}
  /**
   * Called for every message from the client, in the order the client sent them, never before
   * `onOpen` has finished and never after the session left OPEN.
   * @param _message - The message: any JSON value (sockjs-client sends strings). At most
   *   `maxMessageSize` bytes; larger ones never reach this hook.
   */
  onMessage(_message: unknown): void | Promise<void> {}
  /**
   * Called when the session starts closing, by either side. A close from the server has sent
   * its close frame by then; `send()` returns false.
   */
  onClose(): void | Promise<void> {}
  /** Called when the session is closed: nothing more can be sent. */
  onClosed(): void | Promise<void> {}
  /** Called when the session is forgotten by its manager. */
  onRemove(): void | Promise<void> {}

  /**
   * Bytes this session sent that have not yet left for the client, in UTF-8: messages of this
   * tick, messages waiting in the store for the client's next request (polling transports),
   * and what the client's connection has not taken yet (a slow reader). Past the route's
   * `maxBufferedBytes` of connection backlog the session is closed with 1013; a producer that
   * watches this number, or awaits `drain()`, never gets there (README, "Backpressure").
   */
  get bufferedBytes(): number {
    return this.#outlet?.bufferedBytes ?? 0;
  }

  /**
   * Waits until the client has taken what was sent: resolves `true` once at most `below`
   * bytes are buffered (see `bufferedBytes`), at once if that is so already; `false` when the
   * session is not open or closes while waiting, so a producer loop can stop on it:
   * `while (await session.drain(65_536)) session.send(next())`. A drain that had to wait
   * resolves after a turn of the event loop, so such a loop never keeps the process from its
   * other connections and timers, even for a client that takes every write at once.
   * @param below - Bytes that may stay buffered; 0 or more. Default 0: everything taken.
   * @returns `true` once at most `below` bytes are buffered; `false` if the session is not
   *   open or closes first.
   * @throws {@link SockjsRangeError} (a RangeError) when `below` is negative or not a number.
   */
  drain(below = 0): Promise<boolean> {
    if (typeof below !== 'number' || !(below >= 0)) {
      throw new SockjsRangeError(`drain(below) takes a number of bytes, 0 or more, got ${String(below)}`);
    }
    if (this.#state !== SessionState.OPEN || !this.#outlet) return Promise.resolve(false);
    return this.#outlet.drain(below);
  }

  /**
   * Sends a message to the client. Messages sent in one tick leave in one frame, after any
   * broadcast made before them.
   * @param value - Any JSON-serialisable value; sockjs-client hands it to `onmessage` as
   *   `event.data` (a string stays a string, an object arrives as an object).
   * @returns `true` when queued for the client; `false`, sending nothing, when the session is
   *   not open, or no longer runs in this process (`route.close()` handed it over to another
   *   process sharing the store: README, "Shutdown").
   * @throws {@link MessageEncodingError} for a value JSON cannot carry (a BigInt, a cycle).
   */
  send(value: unknown): boolean {
    if (this.#state !== SessionState.OPEN || !this.#outlet) return false;
    return this.#outlet.write(encodeMessage(value)) !== false;
  }

  /**
   * Closes the session: messages sent before it are delivered, then the client gets the close
   * frame `c[code,"reason"]`, and so does every receiver that comes back before the session
   * expires (`disconnectDelay`). Closing a closing or closed session does nothing.
   * @param code - The close code the client's `onclose` sees: an integer from 1000 to 4999;
   *   sockjs-client passes 1000 and 3000-4999 to the application. Default 3000.
   * @param reason - The reason the client sees. Default `'Go away!'`.
   * @throws {@link SockjsRangeError} (a RangeError) for a code that is not an integer from 1000
   *   to 4999.
   * @throws {@link SockjsArgumentError} (a TypeError) for a reason that is not a string (the
   *   close frame carries a string: sockjs-client hands it to `onclose` as `event.reason`).
   */
  close(code: number = CloseCode.GO_AWAY, reason: string = CloseReason.GO_AWAY): void {
    if (!Number.isInteger(code) || code < 1000 || code > 4999) {
      throw new SockjsRangeError(`close code must be an integer from 1000 to 4999, got ${String(code)}`);
    }
    if (typeof reason !== 'string') {
      throw new SockjsArgumentError(`close reason must be a string, got ${reason === null ? 'null' : typeof reason}`);
    }
    if (this.#state >= SessionState.CLOSING) return;
    // Messages sent or broadcast before close() go out before the close frame.
    this.#outlet?.flush();
    // That flush may have found the connection gone (a websocket that takes no more frames),
    // which ends the session as interrupted: there is nobody left to tell.
    if (this.#state >= SessionState.CLOSING) return;
    this.#moveTo(SessionState.CLOSING);
    // The close frame goes out, and is recorded, before onClose runs: a hook that ends the
    // session at once (expire() in onClose) must find this close made, not end it without one.
    if (this.#outlet) this.#outlet.close(code, reason);
    else this.#closedEarly = { code, reason };
    this.#runHook('onClose');
    this.#end();
  }

  /**
   * Joins a room: broadcasts to it (`manager.to(room).broadcast(value)`), from this process or
   * any other sharing the store, reach this session until it leaves or closes. Joining is local:
   * with a shared store, only the first member of a room in this process subscribes this process
   * to the room's topic. The promise resolves once broadcasts from other processes reach the
   * session too (at once with MemoryStore or a room already subscribed); it never rejects (a
   * store failure goes to `onError`, and the membership stays local). Does nothing unless the
   * session is open. Throws {@link SockjsArgumentError} (a TypeError) unless `room` is a non-empty
   * string.
   *
   * A session owned by a process that died and adopted by another (polling transports only)
   * comes back in no room.
   */
  join(room: string): Promise<void> {
    checkRoom(room);
    if (this.#state !== SessionState.OPEN || !this.#outlet) return Promise.resolve();
    return this.#outlet.join(room);
  }

  /**
   * Leaves a room; true when the session was in it. Throws {@link SockjsArgumentError} (a
   * TypeError) unless `room` is a non-empty string.
   */
  leave(room: string): boolean {
    checkRoom(room);
    return this.#outlet?.leave(room) ?? false;
  }

  /**
   * The rooms the session is in. A live view: do not change it. Once the session ends it has
   * left them all (nothing more broadcast to a room reaches it), and this shows the rooms it was
   * in then, so onClose, onClosed and onRemove can tell them goodbye with `to([...this.rooms])`.
   */
  get rooms(): ReadonlySet<string> {
    return this.#outlet?.rooms ?? NO_ROOMS;
  }

  /** Ends the session now, without waiting for disconnectDelay, and forgets it. */
  expire(): void {
    if (this.#state < SessionState.CLOSING) this.close(CloseCode.EXPIRED, CloseReason.EXPIRED);
    if (this.#outlet) this.#outlet.remove();
    else this.#remove();
  }

  static {
    // The session layer's calls (see kOpen): on the prototype under registered symbols, so that
    // the channel of either copy of koa-sockjs drives the other's sessions, and not declared on
    // the class, so they stay out of its type and the published declarations (issue 13).
    Object.defineProperties(Session.prototype, {
      [kAttachOutlet]: {
        value(this: Session, outlet: SessionOutlet): void {
          this.#outlet = outlet;
        },
      },
      [kOpen]: {
        value(this: Session): void {
          this.#open();
        },
      },
      [kResume]: {
        value(this: Session): void {
          this.#resume();
        },
      },
      [kReceive]: {
        value(this: Session, messages: readonly unknown[]): void {
          this.#receive(messages);
        },
      },
      [kEnded]: {
        value(this: Session): void {
          this.#end();
        },
      },
      [kHookTail]: {
        get(this: Session): Promise<void> | undefined {
          return this.#hookTail;
        },
      },
      [kRemoved]: {
        value(this: Session): void {
          this.#remove();
        },
      },
    });
  }

  /**
   * NEW -> OPEN, then onOpen. A session its constructor closed does not open: its close is made
   * now that the channel is there, and the client gets it after `o` like a close in onOpen (else
   * it would get no close frame, and the channel would never be removed).
   */
  #open(): void {
    const early = this.#closedEarly;
    if (early && this.#outlet) {
      this.#closedEarly = undefined;
      this.#outlet.close(early.code, early.reason);
      return;
    }
    if (this.#state !== SessionState.NEW) {
      throw new SessionStateError(`cannot open a session in state ${stateName(this.#state)}`);
    }
    this.#state = SessionState.OPEN;
    logLife(this, 'opened');
    this.#runHook('onOpen');
  }

  /** NEW -> OPEN without onOpen: a session adopted from a process that died. */
  #resume(): void {
    if (this.#state === SessionState.NEW) this.#state = SessionState.OPEN;
  }

  /**
   * Delivers client messages to onMessage. Messages that find the session no longer open are
   * dropped, also within one batch: a session that closes itself in onMessage gets no onMessage
   * for the rest of what the client sent with that message (issue 10).
   */
  #receive(messages: readonly unknown[]): void {
    for (let i = 0; i < messages.length; i++) {
      if (this.#state !== SessionState.OPEN) {
        this.#dropped(messages.length - i);
        return;
      }
      this.#runHook('onMessage', messages[i]);
    }
  }

  /** The connection ended (client close, interruption, close frame sent): -> CLOSED. */
  #end(): void {
    if (this.#state < SessionState.CLOSING) {
      this.#moveTo(SessionState.CLOSING);
      this.#runHook('onClose');
    }
    // A hook may have ended the session meanwhile (expire() in onClose): onClosed ran then.
    if (this.#state === SessionState.CLOSED) return;
    this.#moveTo(SessionState.CLOSED);
    this.#runHook('onClosed');
  }

  /** The manager forgot the session: onRemove, once. */
  #remove(): void {
    if (this.#removed) return;
    // Before the hooks below, which may call expire() and so come back here.
    this.#removed = true;
    this.#end();
    this.#runHook('onRemove');
  }

  #moveTo(state: SessionState): void {
    assertTransition(this.#state, state);
    this.#state = state;
  }

  /** Runs a hook now, or after the async hook still running, so hooks never overlap. */
  #runHook(name: HookName, message?: unknown): void {
    if (this.#hookTail) {
      const tail: Promise<void> = this.#hookTail.then(() => this.#invokeHook(name, message));
      this.#hookTail = tail;
      void tail.then(() => {
        if (this.#hookTail === tail) this.#hookTail = undefined;
      });
      return;
    }
    const pending = this.#invokeHook(name, message);
    if (pending) {
      const tail = pending;
      this.#hookTail = tail;
      void tail.then(() => {
        if (this.#hookTail === tail) this.#hookTail = undefined;
      });
    }
  }

  /** Calls a hook; returns a promise only when the hook returned one. Never throws. */
  #invokeHook(name: HookName, message: unknown): Promise<void> | undefined {
    // A message queued behind an async hook that closed the session is not delivered.
    if (name === 'onMessage' && this.#state !== SessionState.OPEN) {
      this.#dropped(1);
      return undefined;
    }
    let result: void | Promise<void>;
    try {
      result = name === 'onMessage' ? this.onMessage(message) : this[name]();
    } catch (error) {
      this.#hookFailed(name, error);
      return undefined;
    }
    if (result && typeof (result as Promise<void>).then === 'function') {
      return (result as Promise<void>).then(undefined, (error: unknown) => this.#hookFailed(name, error));
    }
    return undefined;
  }

  #dropped(count: number): void {
    log('session %s: dropped %d message(s) received in state %s', this.id, count, stateName(this.#state));
  }

  #hookFailed(name: HookName, error: unknown): void {
    log('session %s: %s threw: %O', this.id, name, error);
    this.manager.reportError(error, `${name} of session ${this.id}`, this.id);
  }
}

// On the prototype, not a static member: the published declarations stay free of it, and
// every subclass inherits it.
Object.defineProperty(Session.prototype, kSessionBrand, { value: true });

/**
 * True for Session and classes extending it, from this or any other copy of koa-sockjs
 * (`instanceof` knows only its own copy's Session).
 */
export function isSessionClass(value: unknown): boolean {
  return typeof value === 'function' && (value.prototype as Record<symbol, unknown> | undefined)?.[kSessionBrand] === true;
}
