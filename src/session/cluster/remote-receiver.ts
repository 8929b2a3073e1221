/**
 * Serves a receiving connection for a session owned by another process (shared stores only):
 * takes what the owner queued in the store's outgoing mailbox, waits on the store for more,
 * heartbeats, and tells the owner when the client went away. At each heartbeat it checks that
 * the owner still lives; when it died, the session is adopted here and the connection handed
 * to it, so the client goes on without reconnecting.
 */
import { CloseCode, CloseReason, HEARTBEAT_FRAME, closeFrame, messageFrame } from '../../protocol/frames.js';
import type { RouteMetrics } from '../../metrics/route-metrics.js';
import type { StoreAdapter } from '../../store/adapter.js';
import type { Unsubscribe } from '../../store/store.js';
import type { TimerHandle, Timers } from '../../timers.js';
import type { AbortListener, Receiver } from '../receiver.js';
import { catchRejection, whenReady } from '../../util/awaitable.js';
import { keyLabel } from '../../util/key-label.js';
import type { SessionChannel } from '../channel.js';
import { UnreadResponses } from '../unread-responses.js';
import { SessionState } from '../../store/session-state.js';
import { checkedOutgoing } from '../stored-messages.js';

export interface RemoteReceiverSettings {
  readonly store: StoreAdapter;
  readonly timers: Timers;
  readonly heartbeatDelay: number;
  readonly recordTtl: number;
  /** Milliseconds between renewals of the record while serving (see ChannelSettings). */
  readonly keepAliveDelay: number;
  /** A backlog past this ends the connection with 1013, as for a local receiver. */
  readonly maxBufferedBytes: number;
  readonly reportError: (error: unknown, context: string) => void;
  /** Tells the process owning the session now that the receiving connection was interrupted. */
  readonly notifyInterrupted: (key: string) => void;
  /** Where messages sent to clients are counted. */
  readonly metrics?: RouteMetrics | undefined;
  /** Answered responses of this process the client has not read (they keep the claim). */
  readonly unread: UnreadResponses;
  /** Tells the owner that its client asked again without reading this process's answer: 1013. */
  readonly notifyStalled: (key: string) => void;
  /** Tells the owner that its queued messages were taken (its producers may be waiting in drain()). */
  readonly notifyTaken?: ((key: string) => void) | undefined;
  /**
   * The local channel of the session if it is (or has just been) adopted by this process
   * because its owner died; undefined while the owner lives.
   */
  readonly adoptIfOrphaned: (key: string, transport: string) => Promise<SessionChannel | undefined>;
  /** Called once this receiver is done (the manager keeps a list for `close()` and notices). */
  readonly onDone: (remote: RemoteReceiver) => void;
}

export class RemoteReceiver implements AbortListener {
  #done = false;
  #taking = false;
  #wokenWhileTaking = false;
  #unwatch: Unsubscribe | undefined;
  #heartbeat: TimerHandle | undefined;

  constructor(
    readonly key: string,
    readonly receiver: Receiver,
    readonly token: string,
    readonly settings: RemoteReceiverSettings,
  ) {}

  start(): void {
    this.receiver.abortListener = this;
    whenReady(
      this.settings.store.watch(this.key, 'outgoing', () => this.#pull()),
      (unwatch) => {
        if (this.#done) {
          void unwatch();
          return;
        }
        this.#unwatch = unwatch;
        // Only now: with a networked store, a push before the subscription took effect woke
        // nobody, so the first take must come after it.
        this.#pull();
      },
      (error) => this.#fail(error, 'watch'),
    );
    this.#armHeartbeat();
  }

  /** The session closed or went away (told by its owner): serve the close frame. */
  /** The client went away: stop serving, and tell the owner. */
  receiverAborted(): void {
    this.#finish();
    this.settings.notifyInterrupted(this.key);
  }

  checkClosed(): void {
    if (!this.#done) this.#pull();
  }

  /** Ends the connection without a frame (the route shuts down); the client comes back elsewhere. */
  end(): void {
    if (this.#done) return;
    this.#finish();
    this.receiver.end();
  }

  #pull(): void {
    if (this.#done) return;
    if (this.#taking) {
      this.#wokenWhileTaking = true;
      return;
    }
    this.#taking = true;
    whenReady(
      this.settings.store.take(this.key, 'outgoing'),
      (taken) => {
        const messages = checkedOutgoing(taken, this.settings.reportError, `store take for remote session ${keyLabel(this.key)}`);
        this.#taking = false;
        if (this.#done) {
          // Raced with the end of this receiver: give the messages back for the next one.
          if (messages.length) this.#storeCall(this.settings.store.push(this.key, 'outgoing', messages), 'push back');
          return;
        }
        if (messages.length) {
          this.settings.notifyTaken?.(this.key);
          const frame = messageFrame(messages);
          const more = this.receiver.send(frame);
          this.settings.metrics?.sent(this.settings.metrics.transport(this.receiver.transport), messages.length, Buffer.byteLength(frame));
          if (!more) {
            this.#finish();
            return;
          }
        }
        if (this.receiver.backlog > this.settings.maxBufferedBytes) {
          this.#tooSlow();
          return;
        }
        if (this.#wokenWhileTaking) {
          this.#wokenWhileTaking = false;
          this.#pull();
          return;
        }
        this.#checkClosed();
      },
      (error) => this.#fail(error, 'take'),
    );
  }

  /** The owner records a close in the store; serve the close frame once the queue is empty. */
  #checkClosed(): void {
    whenReady(
      this.settings.store.get(this.key),
      (record) => {
        if (this.#done) return;
        if (!record || record.state >= SessionState.CLOSING) {
          const frame = closeFrame(record?.closeCode ?? CloseCode.GO_AWAY, record?.closeReason ?? CloseReason.GO_AWAY);
          this.#finish();
          this.receiver.end(frame);
        }
      },
      (error) => this.#fail(error, 'get'),
    );
  }

  /** Like a local receiver: renews the record every keepAliveDelay, heartbeats or not. */
  #armHeartbeat(): void {
    this.#heartbeat = this.settings.timers.setTimeout(() => {
      this.#heartbeat = undefined;
      if (!this.#done) this.#beat();
    }, this.settings.keepAliveDelay);
  }

  /** A heartbeat, after checking that the owner still lives (else adopting the session here). */
  #beat(): void {
    this.settings.adoptIfOrphaned(this.key, this.receiver.transport).then(
      (channel) => {
        if (this.#done) return;
        if (channel) {
          this.#handOver(channel);
          return;
        }
        this.#storeCall(this.settings.store.touch(this.key, this.settings.recordTtl), 'touch');
        if (this.settings.heartbeatDelay === 0 || this.receiver.send(HEARTBEAT_FRAME)) this.#armHeartbeat();
        else this.#finish();
      },
      (error: unknown) => this.#fail(error, 'owner check'),
    );
  }

  /** The session now lives in this process: its channel takes the connection, and the claim. */
  #handOver(channel: SessionChannel): void {
    this.#stop();
    channel.attach(this.receiver, this.token);
  }

  /**
   * The client stopped reading this connection (issue 9: unsent bytes are bounded wherever the
   * receiver is): it gets the reason after what it was sent, and the owner hears that the
   * connection is lost, which ends the session there.
   */
  #tooSlow(): void {
    this.#finish();
    this.receiver.end(closeFrame(CloseCode.TOO_SLOW, CloseReason.TOO_SLOW));
    this.settings.notifyInterrupted(this.key);
  }

  #fail(error: unknown, what: string): void {
    this.settings.reportError(error, `store ${what} for remote session ${keyLabel(this.key)}`);
    this.#finish();
    this.receiver.end();
  }

  #finish(): void {
    if (this.#done) return;
    this.#stop();
    const { store, unread } = this.settings;
    const release = (): void => this.#storeCall(store.releaseReceiver(this.key, this.token), 'release');
    // An answer the client has not read keeps the claim until it has: a new receiving request
    // meanwhile, in any process, finds the client stalled (UnreadResponses), wherever the owner is.
    if (UnreadResponses.unread(this.receiver)) unread.hold(this.key, this.receiver, release, () => this.settings.notifyStalled(this.key));
    else release();
  }

  /** Stops serving, without releasing the claim. */
  #stop(): void {
    this.#done = true;
    this.receiver.abortListener = undefined;
    if (this.#heartbeat !== undefined) this.settings.timers.clearTimeout(this.#heartbeat);
    this.#heartbeat = undefined;
    const unwatch = this.#unwatch;
    this.#unwatch = undefined;
    if (unwatch) this.#storeCall(unwatch(), 'unwatch');
    this.settings.onDone(this);
  }

  #storeCall(result: unknown, what: string): void {
    catchRejection(result, (error) => this.settings.reportError(error, `store ${what} for remote session ${keyLabel(this.key)}`));
  }
}
