/**
 * SessionChannel: the machinery behind one Session owned by this process. It batches what the
 * session sends, writes it straight to a local receiving connection when there is one (the fast
 * path: no store access per message), and otherwise queues it in the store's outgoing mailbox
 * for whichever receiver comes next, here or in another process. It also runs the session's
 * heartbeat and disconnect timers.
 */
import { logger } from '../log.js';
import type { RouteMetrics, TransportMeter } from '../metrics/route-metrics.js';
import { CloseCode, CloseReason, HEARTBEAT_FRAME, closeFrame, messageFrame } from '../protocol/frames.js';
import type { StoreAdapter } from '../store/adapter.js';
import type { TimerHandle, Timers } from '../timers.js';
import { HeartbeatSlot, type HeartbeatOwner, type HeartbeatQueue } from './heartbeat-queue.js';
import type { AbortListener, Receiver } from './receiver.js';
import { catchRejection, isPromiseLike, whenReady } from '../util/awaitable.js';
import type { RoomMembership } from './rooms.js';
import { byteLengthOf, DrainWaiters } from './drain.js';
import { internals, kEnded, kHookTail, kReceive, kRemoved, type Session, type SessionOutlet } from './session.js';
import { SessionState } from '../store/session-state.js';
import { checkedOutgoing, decodedIncoming } from './stored-messages.js';
import { logLife } from './life-log.js';
import { UnreadResponses } from './unread-responses.js';

const log = logger('channel');

const noop = (): void => {};

/**
 * Settled once, for `write`'s flush: a reaction to it runs as a microtask in the same queue as
 * queueMicrotask's (so in the same order), without the AsyncResource and bound function that
 * Node's queueMicrotask makes per call: about 80 ns less per websocket echo (issue 17).
 */
const SETTLED = Promise.resolve();

export interface ChannelSettings {
  readonly store: StoreAdapter;
  readonly timers: Timers;
  readonly heartbeatDelay: number;
  /** Websocket receivers are pinged with every heartbeat and dropped without a pong this soon; 0: no pings. */
  readonly pingTimeout: number;
  readonly disconnectDelay: number;
  /** A receiver's backlog past this closes the session (a client too slow to read). */
  readonly maxBufferedBytes: number;
  /** Time to live of store records (and receiver claims). */
  readonly recordTtl: number;
  /**
   * Milliseconds between renewals of the record while a receiver is attached: the heartbeat
   * delay, or with heartbeats off a fraction of `recordTtl`, so a connected session never lapses.
   */
  readonly keepAliveDelay: number;
  /** The route's heartbeats, every `keepAliveDelay` ms, on one timer (heartbeat-queue.ts). */
  readonly heartbeats: HeartbeatQueue;
  /**
   * The client's traffic renews the record (its time to live and, in an LRU store, its recency)
   * at most once per this many milliseconds: no store call per websocket frame.
   */
  readonly activityRenewDelay: number;
  /** How long the tombstone of an ended session answers its URL with the close frame (ms). */
  readonly tombstoneTtl: number;
  /**
   * Bytes of client messages that may wait for an async onMessage (issue 9; the manager's
   * `incomingHighWaterMark`). Past it a websocket is paused (TCP flow control slows the
   * sender; nothing is lost or reordered) and an HTTP send's answer waits, which holds back
   * sockjs-client's next send; below half of it reading resumes.
   */
  readonly incomingHighWater: number;
  /**
   * Sends that keep coming in parallel past this many waiting bytes close the session with 1008
   * "Too many messages waiting" (the manager's `maxIncomingBacklog`).
   */
  readonly incomingLimit: number;
  readonly reportError: (error: unknown, context: string, sessionId?: string) => void;
  /** Sends the manager's pending broadcasts; called before the session writes anything. */
  readonly flushBroadcast: () => void;
  /** Where messages and bytes sent, and receivers attached, are counted. */
  readonly metrics: RouteMetrics;
  /** Room membership of the route's sessions. */
  readonly rooms: RoomMembership;
  /**
   * Shared stores: the session closed or went away while no receiving connection of this
   * process held it; tell the one elsewhere (if any), which would otherwise wait for a push.
   */
  readonly notifyRemoteReceiver?: ((key: string) => void) | undefined;
  /** Answered responses of this process's sessions their clients have not read (they keep the claim). */
  readonly unread: UnreadResponses;
}

/**
 * What a channel needs only now and then: polling claims, a slow async onMessage, its close
 * and tombstone, its disconnect timer. Kept apart and made on first use, so that the channel of
 * an idle websocket session, which needs none of it, does not carry a dozen fields for its whole
 * life (idle memory, issue 17).
 */
class ChannelExtras {
  /** The receiver claim's token (persistent sessions), released when the receiver detaches. */
  token: string | undefined = undefined;
  /** Receiving requests of this process whose claim on the session is under way. */
  arrivals = 0;
  disconnect: TimerHandle | undefined = undefined;
  /** Bytes of client messages handed to the session whose onMessage has not finished. */
  incomingBytes = 0;
  /** The websocket receiver is paused because too much waits for onMessage. */
  readingPaused = false;
  /** HTTP sends waiting for the incoming backlog to fall below the high water mark. */
  roomWaiters: Array<() => void> | undefined = undefined;
  /** Bytes those waiting sends carry. */
  roomWaitingBytes = 0;
  /** The close frame the session ended with, for its tombstone and the metrics. */
  closedWith: { code: number; reason: string } | undefined = undefined;
  /** The rooms it was in when it left them all (at its end): what `rooms` shows afterwards. */
  roomsAtEnd: ReadonlySet<string> | undefined = undefined;
  unwatchIncoming: (() => unknown) | undefined = undefined;
  /** Client messages being delivered, in the order they arrived (see `receive`); HTTP sends only. */
  incoming: Array<{ messages: unknown[] | undefined; bytes: number }> | undefined = undefined;
  /** Left open to the other processes sharing the store (`handOver`), not ended. */
  handedOver = false;
}

export class SessionChannel implements SessionOutlet, HeartbeatOwner, AbortListener {
  #receiver: Receiver | undefined;
  /** The fields a session needs only now and then (see ChannelExtras); made on first use. */
  #extras: ChannelExtras | undefined;
  /** While the store's mailbox is being taken for a new receiver, writes wait here. */
  #attaching: string[] | undefined;
  /**
   * What the session sent while such a claim was under way and no receiver was attached: held
   * here rather than pushed to the store's mailbox, which the attach would take straight back
   * (a push, its wake-up and a take: three Redis round trips per polling echo).
   */
  #arriving: string[] | undefined;
  /** What the session sent this tick; made on its first send (most websocket sessions sit idle). */
  #batch: string[] | undefined;
  #flushScheduled = false;
  /** The session's place in the route's heartbeat queue; made on its first receiver. */
  #heartbeat: HeartbeatSlot | undefined;
  #removed = false;
  #tooSlow = false;
  /** The last receiver that ended, while what it was given may still be on its way out. */
  #previous: Receiver | undefined;
  /** Until when the client's traffic need not renew the record again (see noteActivity). */
  #renewedUntil = 0;
  /** When this process took the session (timers.now()), for the session duration metric. */
  readonly heldSince: number;
  /**
   * Bytes this process pushed to the store's outgoing mailbox that no receiver has taken yet,
   * as far as this process knows (a receiver here takes them, or one elsewhere says it did).
   */
  #queuedBytes = 0;
  /** Producers waiting in `drain()`; made on the first wait. */
  #drain: DrainWaiters | undefined;

  /**
   * @param key store key (the client's session id; for websocket sessions a key of their own)
   * @param persistent false for websocket sessions, which live and die with their connection
   */
  constructor(
    readonly key: string,
    readonly session: Session,
    readonly persistent: boolean,
    readonly settings: ChannelSettings,
    readonly forget: (channel: SessionChannel) => void,
    /** The transport the session opened with, for its metrics. */
    readonly meter: TransportMeter,
  ) {
    this.heldSince = settings.timers.now();
  }

  get #more(): ChannelExtras {
    return (this.#extras ??= new ChannelExtras());
  }

  /** The code of the close frame, once the session closed with one (for the metrics). */
  get closeCode(): number | undefined {
    return this.#extras?.closedWith?.code;
  }

  /** Left open to the other processes sharing the store (`handOver`), not ended (for the metrics). */
  get handedOver(): boolean {
    return this.#extras?.handedOver ?? false;
  }

  // ---- SessionOutlet: what the Session calls ----

  write(encoded: string): boolean {
    // Handed over to another process (see handOver): the session goes on there, not here, and
    // the producer learns that this message did not go out (send() answers false).
    if (this.#removed) return false;
    this.settings.flushBroadcast();
    (this.#batch ??= []).push(encoded);
    if (this.#flushScheduled) return true;
    this.#flushScheduled = true;
    // Messages sent in one tick (say, replies to a burst of incoming frames) leave as one frame.
    void SETTLED.then(() => this.#flush());
    return true;
  }

  flush(): void {
    this.settings.flushBroadcast();
    this.#flush();
  }

  join(room: string): Promise<void> {
    return this.settings.rooms.join(this, room);
  }

  leave(room: string): boolean {
    return this.settings.rooms.leave(this, room);
  }

  get rooms(): ReadonlySet<string> {
    return this.#extras?.roomsAtEnd ?? this.settings.rooms.roomsOf(this);
  }

  /**
   * Leaves every room, once, keeping the set it was in for `rooms`: the close frame and the
   * leaving come before onClose (so nothing broadcast to a room reaches a closing session),
   * yet a hook saying goodbye with `to([...this.rooms])` must still find them.
   */
  #leaveRooms(): void {
    this.#more.roomsAtEnd ??= this.settings.rooms.roomsOf(this);
    this.settings.rooms.leaveAll(this);
  }

  close(code: number, reason: string): void {
    logLife(this.session, 'closed', code);
    this.#more.closedWith = { code, reason };
    // Sends waiting for room are answered: what they carried was taken (and what the closed
    // session will not see is dropped, as for any message after a close).
    this.#wakeRoomWaiters();
    this.flush();
    // Nothing more can be sent: producers waiting for room stop waiting.
    this.#drain?.end();
    // What was broadcast to its rooms before the close went out above; nothing more will.
    this.#leaveRooms();
    // A websocket session's record goes in the next microtask, and no request can address its
    // key: recording the close would be a store call (a round trip on Redis) for nobody.
    if (this.persistent) {
      this.#storeCall(this.settings.store.update(this.key, { state: SessionState.CLOSED, closeCode: code, closeReason: reason }), 'record close');
    }
    const receiver = this.#receiver;
    if (receiver && !this.#attaching) {
      this.#detach();
      // Made only when someone is there to read it (a client that closed its websocket is not).
      receiver.end(closeFrame(code, reason));
    } else if (!receiver && this.persistent) {
      this.settings.notifyRemoteReceiver?.(this.key);
    }
    // A closed session is kept, serving its close frame, until disconnectDelay passes.
    if (this.persistent) this.#armDisconnect();
    else queueMicrotask(() => this.remove());
  }

  /** Whether a receiving connection is attached: a close frame reaches the client on it now. */
  get receiving(): boolean {
    return this.#receiver !== undefined;
  }

  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    this.#drain?.end();
    this.#clearTimers();
    this.#extras?.unwatchIncoming?.();
    const receiver = this.#receiver;
    if (receiver) {
      this.#detach();
      receiver.end();
    } else if (this.persistent) {
      // Before the delete, so that the record still names the receiver's process.
      this.settings.notifyRemoteReceiver?.(this.key);
    }
    if (this.persistent) this.#bury();
    else this.#storeCall(this.settings.store.delete(this.key), 'delete');
    this.#forgotten();
  }

  /**
   * Bytes sent but not yet handed to the client's connection: this tick's batch, what waits in
   * the store for the next receiver, the receiving connection's unsent backlog, and what an
   * answered poll the client has not read still holds. The same bytes #checkUnsent bounds, so a
   * producer that keeps this below maxBufferedBytes is never closed with 1013.
   */
  get bufferedBytes(): number {
    let bytes = this.#queuedBytes + this.#unreadPrevious;
    if (this.#batch) bytes += byteLengthOf(this.#batch);
    if (this.#attaching) bytes += byteLengthOf(this.#attaching);
    if (this.#arriving) bytes += byteLengthOf(this.#arriving);
    if (this.#receiver) bytes += this.#receiver.backlog;
    return bytes;
  }

  drain(below: number): Promise<boolean> {
    this.#drain ??= new DrainWaiters(
      () => this.bufferedBytes,
      (wake) => {
        const receiver = this.#receiver;
        if (receiver && !this.#attaching && receiver.backlog > 0) {
          receiver.onceFlushed(wake);
          return true;
        }
        // An answered poll still going out: wait until it has (or its connection closed).
        const previous = this.#previous;
        if (previous && this.#unreadPrevious > 0) {
          previous.onceFlushed(wake);
          return true;
        }
        // Otherwise the bytes wait in the batch or the store: a flush or a receiver moves them.
        return false;
      },
    );
    // Closed, or gone from this process (handed over): nothing here will take more.
    if (this.#removed || this.session.state >= SessionState.CLOSING) this.#drain.end();
    return this.#drain.wait(below);
  }

  /** A receiving connection in another process took the outgoing mailbox. */
  outgoingTaken(): void {
    this.#queuedBytes = 0;
    this.#drain?.check();
  }

  // ---- what the manager calls ----

  /**
   * Graceful shutdown on a shared store: leaves the session to whichever process the client
   * reaches next. The record and the mailboxes stay as they are; the receiving connection ends
   * without a frame (the client comes back); no timer, watch or hook runs here any more.
   */
  handOver(): void {
    if (this.#removed) return;
    // This tick's messages go out first, on the connection or into the store.
    this.flush();
    this.#removed = true;
    this.#more.handedOver = true;
    this.#drain?.end();
    this.#extras?.unwatchIncoming?.();
    const receiver = this.#receiver;
    if (receiver) {
      this.#detach();
      receiver.end();
    }
    this.#clearTimers();
    this.#leaveRooms();
    this.forget(this);
  }

  /** Sends a frame built once for many sessions (broadcast) of the `encoded` messages. */
  sendShared(frame: Buffer, encoded: string[]): void {
    if (this.#batch) this.#flush();
    const receiver = this.#receiver;
    if (receiver && !this.#attaching) {
      if (!this.#send(receiver, frame, encoded.length)) this.#receiverDone();
      return;
    }
    this.#deliver(encoded);
  }

  /**
   * A receiving request of this process is claiming the session in the store; `attach()` or
   * `arrivalOver()` follows. Until then, with no receiver attached, what the session sends
   * waits in memory for it.
   */
  receiverArriving(): void {
    this.#more.arrivals++;
    if (this.persistent && !this.#receiver && !this.#attaching) this.#arriving ??= [];
  }

  /**
   * The claim announced by `receiverArriving()` is over. Attached: `attach()` took what was
   * held. Refused (or failed) and no other claim under way: what was held goes to the store.
   */
  arrivalOver(): void {
    const extras = this.#more;
    extras.arrivals--;
    const held = this.#arriving;
    if (extras.arrivals > 0 || held === undefined) return;
    this.#arriving = undefined;
    if (held.length) this.#deliver(held);
  }

  /**
   * Makes `receiver` the session's receiving connection. The caller holds the store's receiver
   * claim under `token`. Messages queued in the store go out first, in order: `taken`, when the
   * claim took them already (store.claimAndTake, announced by `receiverArriving()`), otherwise
   * taken from the store here.
   */
  attach(receiver: Receiver, token: string, taken?: string[]): void {
    this.#clearDisconnect();
    this.#receiver = receiver;
    // Only a persistent session's claim is released (a websocket session's dies with its record).
    if (this.persistent) this.#more.token = token;
    if (this.#previous) this.#checkPreviousRead();
    this.session.transport = receiver.transport;
    logLife(this.session, 'receiver attached', receiver.transport);
    this.settings.metrics.receiverAttached(this.meter);
    // The channel itself, not a closure over the receiver: nothing more kept per connection.
    receiver.abortListener = this;
    if (!this.persistent) {
      // A websocket session has this one connection from birth: nothing can be queued for it
      // in the store, so the store is not asked (it may answer asynchronously, and the session
      // must be able to send, or close, from onOpen on).
      this.#attached(receiver, []);
      return;
    }
    // After what waits in the store (older), what was held for this receiver while it claimed.
    this.#attaching = this.#arriving ?? [];
    this.#arriving = undefined;
    if (taken) {
      // Taken with the claim (store.claimAndTake): while it was under way, what the session sent
      // was held here (receiverArriving), so nothing newer can be in the store.
      this.#attached(receiver, checkedOutgoing(taken, this.settings.reportError, `store take for session ${this.session.id}`));
      return;
    }
    whenReady(
      this.settings.store.take(this.key, 'outgoing'),
      (queued) => this.#attached(receiver, checkedOutgoing(queued, this.settings.reportError, `store take for session ${this.session.id}`)),
      (error) => {
        this.#attaching = undefined;
        this.settings.reportError(error, `store take for session ${this.session.id}`, this.session.id);
        this.#attachFailed(receiver);
      },
    );
  }

  /** Starts the disconnect timer of a session that has no receiver (a new polling session). */
  idle(): void {
    if (!this.#receiver) this.#armDisconnect();
  }

  /** Watches the store's incoming mailbox, for messages that arrive through other processes. */
  watchIncoming(): void {
    const watching = this.settings.store.watch(this.key, 'incoming', () => this.pullIncoming());
    whenReady(
      watching,
      (unwatch) => {
        if (this.#removed) {
          void unwatch();
          return;
        }
        this.#more.unwatchIncoming = unwatch;
        // A networked store: a push that came before the subscription took effect woke nobody.
        if (isPromiseLike(watching)) this.pullIncoming();
      },
      (error) => this.settings.reportError(error, `store watch for session ${this.session.id}`, this.session.id),
    );
  }

  /** Delivers messages queued in the store's incoming mailbox. */
  pullIncoming(): void {
    void this.receive([]);
  }

  /**
   * The client did something (sent messages): renew the record, at most once per
   * activityRenewDelay, so the store's time to live and LRU recency follow real use while the
   * websocket hot path makes no store call per frame (issues 9 and 10).
   */
  noteActivity(): void {
    const now = this.settings.timers.now();
    if (now < this.#renewedUntil || this.#removed) return;
    this.#renew(now);
  }

  /** Messages from the client's own connection (a websocket): straight to the session. */
  receiveDirect(messages: readonly unknown[], bytes: number): void {
    this.noteActivity();
    internals(this.session)[kReceive](messages);
    this.#trackIncoming(bytes);
  }

  /**
   * Bounds what waits for an async onMessage: undefined when there is room; a promise that
   * settles once there is (or the session is gone) when more than the high water mark waits;
   * false when a client keeps sending in parallel past `incomingLimit` (then the session closes
   * with 1008 and the messages are refused). A send while the application keeps up is always
   * taken: one message is bounded by maxMessageSize, which may be larger than the limit.
   */
  incomingRoom(bytes: number): Promise<void> | undefined | false {
    // The application keeps up: the send is taken at once, whatever its size (maxMessageSize
    // bounds one send, and may be set above the limit).
    if ((this.#extras?.incomingBytes ?? 0) <= this.settings.incomingHighWater || this.#removed) return undefined;
    const extras = this.#more;
    // A client that waits for each answer (sockjs-client does) has no other send held back when
    // this one comes, and is held back too, never closed: only sends that come in parallel with
    // held ones, ignoring that backpressure, count toward the limit.
    if (extras.roomWaitingBytes > 0 && extras.incomingBytes + extras.roomWaitingBytes + bytes > this.settings.incomingLimit) {
      log('session %s: %d bytes of messages wait for onMessage', this.session.id, extras.incomingBytes + extras.roomWaitingBytes);
      this.session.close(CloseCode.TOO_MANY_WAITING, CloseReason.TOO_MANY_WAITING);
      return false;
    }
    // The waiting send's body is held meanwhile: it counts toward the limit.
    extras.roomWaitingBytes += bytes;
    return new Promise((resolve) =>
      (extras.roomWaiters ??= []).push(() => {
        extras.roomWaitingBytes -= bytes;
        resolve();
      }),
    );
  }

  /** Counts a batch just handed to the session until every hook called so far has finished. */
  #trackIncoming(bytes: number): void {
    const tail = internals(this.session)[kHookTail];
    // Taken at once: nothing waits.
    if (!tail || bytes === 0) return;
    const extras = this.#more;
    extras.incomingBytes += bytes;
    void tail.then(() => {
      extras.incomingBytes -= bytes;
      this.#incomingTaken(extras);
    });
    if (extras.incomingBytes > this.settings.incomingHighWater && !extras.readingPaused && this.#receiver?.pause) {
      extras.readingPaused = true;
      log('session %s: pausing its connection, %d bytes wait for onMessage', this.session.id, extras.incomingBytes);
      this.#receiver.pause();
    }
  }

  #incomingTaken(extras: ChannelExtras): void {
    if (extras.incomingBytes <= this.settings.incomingHighWater) this.#wakeRoomWaiters();
    if (extras.readingPaused && extras.incomingBytes <= this.settings.incomingHighWater / 2) {
      extras.readingPaused = false;
      this.#receiver?.resume?.();
    }
  }

  #wakeRoomWaiters(): void {
    const extras = this.#extras;
    const waiters = extras?.roomWaiters;
    if (waiters === undefined) return;
    extras!.roomWaiters = undefined;
    for (const wake of waiters) wake();
  }

  /**
   * Delivers messages the client sent to this process, after any it sent earlier through
   * another process (queued in the store's incoming mailbox), so onMessage sees them in the
   * client's order: the client sends one request at a time, so what is queued is older. With
   * an in-memory store the mailbox is answered synchronously and this delivers at once.
   *
   * With a networked store it returns a promise that settles once the mailbox was taken (not
   * once onMessage ran): the send must not be answered before. Answered earlier, the client
   * sends its next batch, perhaps through another process, whose push can reach the store
   * before this take (commands on two connections have no order; a busy connection's wait
   * longer), and the take would return the later messages to be delivered before these.
   */
  receive(messages: readonly unknown[], bytes = 0): Promise<void> | undefined {
    if (messages.length) this.noteActivity();
    const slot: { messages: unknown[] | undefined; bytes: number } = { messages: undefined, bytes };
    (this.#more.incoming ??= []).push(slot);
    const taking = this.settings.store.take(this.key, 'incoming');
    whenReady(
      taking,
      (encoded) => {
        for (const text of encoded) slot.bytes += text.length;
        slot.messages = encoded.length ? decodedIncoming(encoded, this.settings.reportError, `store take for session ${this.session.id}`).concat(messages) : [...messages];
        this.#deliverIncoming();
      },
      (error) => {
        this.settings.reportError(error, `store take for session ${this.session.id}`, this.session.id);
        slot.messages = [...messages];
        this.#deliverIncoming();
      },
    );
    // Settles either way: a failed take was reported above, and the messages still go in line.
    return isPromiseLike(taking) ? Promise.resolve(taking).then(noop, noop) : undefined;
  }

  /**
   * The client asked again without reading an answered response, held by another process
   * (see UnreadResponses, which dropped it): a stalled reader, 1013.
   */
  stalled(): void {
    if (this.session.state < SessionState.CLOSING) this.#stalled('a new poll while the previous answer is unread (held elsewhere)');
  }

  /** The receiving connection went away without a goodbye (also reported by other processes). */
  interrupted(): void {
    if (this.session.state < SessionState.CLOSING) this.session.close(CloseCode.INTERRUPTED, CloseReason.INTERRUPTED);
    else internals(this.session)[kEnded]();
  }

  /** The store dropped the record (LRU eviction): close properly, then forget. */
  evicted(): void {
    if (this.session.state < SessionState.CLOSING) this.session.close(CloseCode.EXPIRED, CloseReason.EXPIRED);
    // onClose may have expired the session (expire() in the hook): it is forgotten already.
    if (this.#removed) return;
    this.#removed = true;
    this.#drain?.end();
    this.#clearTimers();
    this.#extras?.unwatchIncoming?.();
    this.#forgotten();
  }

  // ---- internals ----

  /** The manager lets go of the session; onRemove runs. */
  #forgotten(): void {
    this.#wakeRoomWaiters();
    logLife(this.session, 'removed');
    this.#leaveRooms();
    this.forget(this);
    internals(this.session)[kRemoved]();
  }

  /** Store answers come back in the order asked; deliver in that order, never overtaking. */
  #deliverIncoming(): void {
    const incoming = this.#extras?.incoming;
    while (incoming?.length && incoming[0]!.messages !== undefined) {
      const { messages, bytes } = incoming.shift()!;
      if (messages!.length) {
        internals(this.session)[kReceive](messages!);
        this.#trackIncoming(bytes);
      }
    }
  }

  #renew(now: number): void {
    this.#renewedUntil = now + this.settings.activityRenewDelay;
    this.#storeCall(this.settings.store.touch(this.key, this.settings.recordTtl), 'touch');
  }

  /**
   * The session is gone, but its URL is not free: its record stays as a tombstone serving the
   * close frame for tombstoneTtl, so a client coming back (a late poll) never gets a new
   * session, with `o` and onOpen, under the same URL (issue 9).
   */
  #bury(): void {
    const { code, reason } = this.#extras?.closedWith ?? { code: CloseCode.EXPIRED, reason: CloseReason.EXPIRED };
    const { store, tombstoneTtl } = this.settings;
    if (store.bury) {
      this.#storeCall(store.bury(this.key, code, reason, tombstoneTtl), 'bury');
      return;
    }
    whenReady(
      store.update(this.key, { state: SessionState.CLOSED, closeCode: code, closeReason: reason }),
      () => this.#storeCall(store.touch(this.key, tombstoneTtl), 'touch tombstone'),
      (error) => this.settings.reportError(error, `store update for session ${this.session.id}`),
    );
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#batch;
    if (batch === undefined) return;
    this.#batch = undefined;
    this.#deliver(batch);
    this.#drain?.check();
  }

  #deliver(batch: string[]): void {
    if (this.#attaching) {
      for (const message of batch) this.#attaching.push(message);
      return;
    }
    const receiver = this.#receiver;
    if (receiver) {
      if (!this.#send(receiver, messageFrame(batch), batch.length)) this.#receiverDone();
      return;
    }
    if (this.#arriving) {
      for (const message of batch) this.#arriving.push(message);
      return;
    }
    this.#queuedBytes += byteLengthOf(batch);
    this.#storeCall(this.settings.store.push(this.key, 'outgoing', batch), 'push');
    this.#checkUnsent();
  }

  #attached(receiver: Receiver, queued: string[]): void {
    const waiting = this.#attaching ?? [];
    this.#attaching = undefined;
    // The take emptied the mailbox; what is put back below is counted again.
    this.#queuedBytes = 0;
    if (this.#drain) queueMicrotask(() => this.#drain?.check());
    if (this.#receiver !== receiver) {
      // The receiver left while we were taking the mailbox: put everything back, in order.
      const all = queued.concat(waiting);
      if (all.length) this.#deliver(all);
      return;
    }
    const all = queued.length ? queued.concat(waiting) : waiting;
    if (all.length && !this.#send(receiver, messageFrame(all), all.length)) {
      this.#receiverDone();
      return;
    }
    if (this.session.state >= SessionState.CLOSING) {
      // Closed by its constructor, before this channel existed (a websocket session attaches
      // before it opens): the close is made when the session would open, on this receiver.
      const closedWith = this.#extras?.closedWith;
      if (!closedWith) return;
      // Closed while attaching: serve its close frame, known here (not read back from the
      // store, which may have failed to record it).
      const { code, reason } = closedWith;
      this.#detach();
      receiver.end(closeFrame(code, reason));
      return;
    }
    this.#armHeartbeat();
  }

  /**
   * Writes a frame. A client that reads slower than the session sends would make the backlog
   * grow without bound: past maxBufferedBytes the session closes (after this tick, not in the
   * middle of a broadcast).
   */
  #send(receiver: Receiver, frame: string | Buffer, messages: number): boolean {
    const more = receiver.send(frame);
    this.settings.metrics.sent(this.meter, messages, typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length);
    if (more) this.#checkUnsent();
    return more;
  }

  /**
   * A session's unsent bytes are bounded across all its responses (issue 9): the attached
   * receiver's backlog, what an answered poll the client has not read still holds, and what
   * waits in the store's mailbox for the next poll. Past maxBufferedBytes the session closes
   * with 1013, after this tick (not in the middle of a broadcast).
   */
  #checkUnsent(): void {
    if (this.#tooSlow) return;
    const unsent = (this.#receiver?.backlog ?? 0) + this.#unreadPrevious + this.#queuedBytes;
    if (unsent > this.settings.maxBufferedBytes) this.#stalled(`${unsent} bytes unsent`);
  }

  /** What the last answered response still holds for a client that has not read it (0 once it has). */
  get #unreadPrevious(): number {
    const previous = this.#previous;
    return previous && !previous.flushed ? previous.backlog : 0;
  }

  /**
   * A new receiving request came while the previous response had not left the process: the
   * client asks for more without reading what it got. Looked at again after this turn of the
   * event loop, which finishes the writes the kernel took meanwhile; still unread, the reader
   * is stalled.
   */
  #checkPreviousRead(): void {
    const previous = this.#previous!;
    if (previous.flushed !== false) {
      this.#previous = undefined;
      return;
    }
    setImmediate(() => {
      if (this.#previous !== previous || previous.flushed !== false || this.#removed) return;
      this.#stalled('a new poll while the previous answer is unread');
    });
  }

  /** The client does not read: 1013, and the unread response's connection is dropped. */
  #stalled(why: string): void {
    if (this.#tooSlow) return;
    this.#tooSlow = true;
    log('session %s: client too slow (%s)', this.session.id, why);
    queueMicrotask(() => {
      const previous = this.#previous;
      this.#previous = undefined;
      // Whatever the unread response still holds would stay in memory as long as its
      // connection: nobody will read it.
      if (previous && previous.flushed === false) previous.destroy?.();
      this.session.close(CloseCode.TOO_SLOW, CloseReason.TOO_SLOW);
    });
  }

  /**
   * The receiver took its last frame: a poll answered, a stream at its limit, or a websocket
   * already closing. A websocket session has no other connection to wait for, and the 'close'
   * still to come would find nobody listening: it ends now, as interrupted.
   */
  #receiverDone(): void {
    this.#detach();
    if (!this.persistent) this.interrupted();
  }

  /**
   * The store could not hand a new receiver the session's mailbox (it failed, or answered what
   * the contract does not allow): what the session queued cannot be delivered in order any
   * more, so it ends with `c[3503,"Session store unavailable"]`, the close every other store
   * failure gets (docs/stores.md, rule 7), and the receiver, which is still there, gets that
   * frame. Left without one it would hang: nothing else ends it, and its abort no longer
   * reaches us. A session closed meanwhile keeps its own close frame.
   */
  #attachFailed(receiver: Receiver): void {
    // Gone meanwhile: its abort was handled like any other.
    if (this.#receiver !== receiver) return;
    this.#detach();
    if (this.session.state < SessionState.CLOSING) this.session.close(CloseCode.STORE_UNAVAILABLE, CloseReason.STORE_UNAVAILABLE);
    else internals(this.session)[kEnded]();
    const { code, reason } = this.#extras?.closedWith ?? { code: CloseCode.STORE_UNAVAILABLE, reason: CloseReason.STORE_UNAVAILABLE };
    receiver.end(closeFrame(code, reason));
  }

  /** The receiving connection's client went away (the receiver calls it, see `attach`). */
  receiverAborted(receiver: Receiver): void {
    if (this.#receiver !== receiver) return;
    this.#detach();
    this.interrupted();
  }

  #detach(): void {
    const receiver = this.#receiver;
    if (!receiver) return;
    receiver.abortListener = undefined;
    this.#receiver = undefined;
    logLife(this.session, 'receiver detached', receiver.transport);
    // An answered response may still be going out: the next receiving request looks (above).
    if (receiver.flushed === false) this.#previous = receiver;
    this.#clearHeartbeat();
    if (this.#drain) queueMicrotask(() => this.#drain?.check());
    const extras = this.#extras;
    const token = extras?.token;
    if (extras) extras.token = undefined;
    if (this.persistent && token !== undefined) {
      const release = (): void => this.#storeCall(this.settings.store.releaseReceiver(this.key, token), 'release receiver');
      // An answered response the client has not read keeps the claim until it has, so that no
      // receiving request, here or in another process, takes more meanwhile (UnreadResponses).
      if (UnreadResponses.unread(receiver)) {
        this.settings.unread.hold(this.key, receiver, release, () => {
          if (!this.#removed) this.#stalled('a new poll while the previous answer is unread');
        });
      } else {
        release();
      }
      // Closed sessions too: one closed while a receiver was attaching (attach() cleared the
      // timer close() had set) would otherwise never be removed.
      if (!this.#removed) this.#armDisconnect();
    }
  }

  /**
   * While a receiver is attached, renews the record every keepAliveDelay, and heartbeats when
   * heartbeats are on: a connected session never lapses, even with `heartbeatDelay: 0`.
   */
  #armHeartbeat(): void {
    this.settings.heartbeats.arm((this.#heartbeat ??= new HeartbeatSlot(this)));
  }

  /** Called by the route's heartbeat queue, `keepAliveDelay` ms after `#armHeartbeat`. */
  heartbeatDue(): void {
    const { timers, heartbeatDelay } = this.settings;
    const receiver = this.#receiver;
    if (!receiver || this.#attaching) return;
    this.#renew(timers.now());
    if (heartbeatDelay === 0) {
      this.#armHeartbeat();
      return;
    }
    this.session.heartbeats++;
    if (!receiver.send(HEARTBEAT_FRAME)) {
      this.#receiverDone();
      return;
    }
    // The 'h' frame only tells the client the server lives; a ping asks the client to prove
    // it does, so a dead peer or a half-open connection is dropped, not kept for ever.
    if (this.settings.pingTimeout > 0) receiver.ping?.(timers, this.settings.pingTimeout);
    this.#armHeartbeat();
  }

  /** The session is removed `delay` ms from now (`disconnectDelay` by default) unless a receiver comes. */
  #armDisconnect(delay = this.settings.disconnectDelay): void {
    this.#clearDisconnect();
    const extras = this.#more;
    extras.disconnect = this.settings.timers.setTimeout(() => {
      extras.disconnect = undefined;
      this.#disconnectDue();
    }, delay);
  }

  /**
   * No receiver for disconnectDelay, as far as this process knows. With a shared store the
   * receiver may be in another process, so the record has the last word.
   */
  #disconnectDue(): void {
    if (this.#removed || this.#receiver) return;
    whenReady(
      this.settings.store.get(this.key),
      (record) => {
        if (this.#removed || this.#receiver) return;
        const { timers, disconnectDelay } = this.settings;
        if (record && this.session.state < SessionState.CLOSING) {
          const idleFor = timers.now() - record.seenAt;
          if (record.receiver !== undefined || idleFor < disconnectDelay) {
            this.#armDisconnect(record.receiver !== undefined ? disconnectDelay : disconnectDelay - idleFor);
            return;
          }
        }
        log('session %s timed out', this.session.id);
        this.remove();
      },
      (error) => {
        this.settings.reportError(error, `store get for session ${this.session.id}`, this.session.id);
        this.remove();
      },
    );
  }

  #clearHeartbeat(): void {
    if (this.#heartbeat !== undefined) this.settings.heartbeats.disarm(this.#heartbeat);
  }

  #clearDisconnect(): void {
    const extras = this.#extras;
    if (extras?.disconnect === undefined) return;
    this.settings.timers.clearTimeout(extras.disconnect);
    extras.disconnect = undefined;
  }

  #clearTimers(): void {
    this.#clearHeartbeat();
    this.#clearDisconnect();
  }

  #storeCall(result: unknown, what: string): void {
    catchRejection(result, (error) => this.settings.reportError(error, `store ${what} for session ${this.session.id}`, this.session.id));
  }
}
