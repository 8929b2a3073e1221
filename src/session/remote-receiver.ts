/**
 * Serves a receiving connection for a session owned by another process (shared stores only):
 * takes what the owner queued in the store's outgoing mailbox, waits on the store for more,
 * heartbeats, and tells the owner when the client went away.
 */
import { CloseCode, CloseReason, HEARTBEAT_FRAME, closeFrame, messageFrame } from '../protocol/frames.js';
import type { SessionStore, Unsubscribe } from '../store/store.js';
import type { TimerHandle, Timers } from '../timers.js';
import type { Receiver } from '../transports/receiver.js';
import { whenReady } from '../util/awaitable.js';
import { SessionState } from './state.js';

export interface RemoteReceiverSettings {
  readonly store: SessionStore;
  readonly timers: Timers;
  readonly heartbeatDelay: number;
  readonly recordTtl: number;
  readonly reportError: (error: unknown, context: string) => void;
  /** Tells the owning process that the receiving connection was interrupted. */
  readonly notifyInterrupted: (owner: string, key: string) => void;
}

export class RemoteReceiver {
  #done = false;
  #taking = false;
  #wokenWhileTaking = false;
  #unwatch: Unsubscribe | undefined;
  #heartbeat: TimerHandle | undefined;

  constructor(
    readonly key: string,
    readonly owner: string,
    readonly receiver: Receiver,
    readonly token: string,
    readonly settings: RemoteReceiverSettings,
  ) {}

  start(): void {
    this.receiver.onAbort = () => {
      this.#finish();
      this.settings.notifyInterrupted(this.owner, this.key);
    };
    whenReady(
      this.settings.store.watch(this.key, 'outgoing', () => this.#pull()),
      (unwatch) => {
        if (this.#done) void unwatch();
        else this.#unwatch = unwatch;
      },
      (error) => this.#fail(error, 'watch'),
    );
    this.#pull();
    this.#armHeartbeat();
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
      (messages) => {
        this.#taking = false;
        if (this.#done) {
          // Raced with the end of this receiver: give the messages back for the next one.
          if (messages.length) void this.settings.store.push(this.key, 'outgoing', messages);
          return;
        }
        if (messages.length && !this.receiver.send(messageFrame(messages))) {
          this.#finish();
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

  #armHeartbeat(): void {
    this.#heartbeat = this.settings.timers.setTimeout(() => {
      this.#heartbeat = undefined;
      if (this.#done) return;
      void this.settings.store.touch(this.key, this.settings.recordTtl);
      if (this.receiver.send(HEARTBEAT_FRAME)) this.#armHeartbeat();
      else this.#finish();
    }, this.settings.heartbeatDelay);
  }

  #fail(error: unknown, what: string): void {
    this.settings.reportError(error, `store ${what} for remote session ${this.key}`);
    this.#finish();
    this.receiver.end();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.receiver.onAbort = undefined;
    if (this.#heartbeat !== undefined) this.settings.timers.clearTimeout(this.#heartbeat);
    void this.#unwatch?.();
    whenReady(
      this.settings.store.releaseReceiver(this.key, this.token),
      () => {},
      (error) => this.settings.reportError(error, `store release for remote session ${this.key}`),
    );
  }
}
