/**
 * Backpressure for producers: what `session.drain()` waits on. A session's bytes sit in three
 * places before the client has them: the batch of this tick, the store's outgoing mailbox
 * (no receiving connection right now), and the receiving connection's own buffers (a client
 * reading slower than the session sends). `DrainWaiters` resolves each waiting producer once
 * the total is at or below what it asked for, re-checking whenever one of those moves.
 */
import type { Duplex } from 'node:stream';

const NOTHING = Buffer.alloc(0);

/**
 * Calls `callback` once everything written to `socket` so far has been handed to the
 * operating system (or the socket ended). An empty write queues behind the data already
 * buffered, and its callback runs once that data is flushed; it puts nothing on the wire.
 */
export function whenFlushed(socket: Duplex, callback: () => void): void {
  if (socket.destroyed || !socket.writable || socket.writableLength === 0) {
    // Not a microtask: what is still buffered may be waiting on I/O (ws compressing a message),
    // and a caller that checks again must let it run.
    setImmediate(callback);
    return;
  }
  socket.write(NOTHING, () => callback());
}

/** Bytes a list of JSON-encoded messages takes as UTF-8. */
export function byteLengthOf(messages: readonly string[]): number {
  let bytes = 0;
  for (const message of messages) bytes += Buffer.byteLength(message);
  return bytes;
}

interface Waiter {
  readonly below: number;
  readonly resolve: (drained: boolean) => void;
}

export class DrainWaiters {
  #waiters: Waiter[] = [];
  #ended = false;

  /**
   * @param buffered the session's buffered bytes now
   * @param waitForFlush asks the receiving connection to call back once its buffers emptied;
   *   false when there is none (the bytes wait in the store for the next receiver)
   */
  constructor(
    private readonly buffered: () => number,
    private readonly waitForFlush: (wake: () => void) => boolean,
  ) {}

  get waiting(): boolean {
    return this.#waiters.length > 0;
  }

  /** Resolves true once at most `below` bytes are buffered; false if the session ends first. */
  wait(below: number): Promise<boolean> {
    if (this.#ended) return Promise.resolve(false);
    if (this.buffered() <= below) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.#waiters.push({ below, resolve });
      this.#arm();
    });
  }

  /**
   * Something moved (a flush, a receiver took the queue): resolve whoever can go on, after a
   * turn of the event loop. A flush often completes synchronously (the session's batch goes out
   * in a microtask, and the kernel takes a write to a client that reads fast at once), so
   * resolving here would let a producer that loops on `drain()` run on microtasks alone: no
   * timer, no incoming data and no socket close would ever be handled again, and a client that
   * died mid-stream would leave the process spinning, sending into the void.
   */
  check(): void {
    if (this.#waiters.length === 0) return;
    const buffered = this.buffered();
    const ready: Waiter[] = [];
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) (buffered <= waiter.below ? ready : still).push(waiter);
    this.#waiters = still;
    if (ready.length) {
      setImmediate(() => {
        // The session may have ended during that turn: then there is nobody to produce for.
        for (const waiter of ready) waiter.resolve(!this.#ended);
      });
    }
    if (still.length) this.#arm();
  }

  /** The session ended: nobody will take more. */
  end(): void {
    this.#ended = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve(false);
  }

  #armed = false;

  #arm(): void {
    if (this.#armed) return;
    this.#armed = true;
    const armed = this.waitForFlush(() => {
      this.#armed = false;
      this.check();
    });
    if (!armed) this.#armed = false;
  }
}
