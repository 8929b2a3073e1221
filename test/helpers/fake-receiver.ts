/**
 * A receiving connection without a network, for unit tests of the session layer: it records
 * every frame the session writes, and the test plays the client (reads the backlog, goes away,
 * answers pings). Its three shapes follow the real receivers (src/transports/shared/http-receiver.ts,
 * websocket-receiver.ts): a poll takes one frame and ends itself; a stream takes frames until
 * its frame limit (its `responseLimit`); a websocket takes frames until ended and can be paused.
 */
import type { Timers } from '../../src/timers.js';
import type { AbortListener, Receiver } from '../../src/session/receiver.js';

export type FakeReceiverKind = 'polling' | 'streaming' | 'websocket';

export interface FakeReceiverOptions {
  /** @default 'streaming' */
  readonly kind?: FakeReceiverKind;
  /** @default 'xhr' for polling, 'xhr-streaming' for streaming, 'websocket' for websocket */
  readonly transport?: string;
  /** Streaming: the receiver ends itself after taking this many frames. @default Infinity */
  readonly frameLimit?: number;
  /**
   * Bytes of every frame written that stay in the backlog (unread by the client) until
   * `read()`: models a client that does not read. @default false (everything leaves at once)
   */
  readonly slowReader?: boolean;
  /**
   * Whether the receiver reports `flushed` (HTTP receivers do: false from their end until the
   * answer left the process). Only meaningful with `slowReader`. @default kind !== 'websocket'
   */
  readonly reportsFlushed?: boolean;
}

export class FakeReceiver implements Receiver {
  readonly transport: string;
  readonly kind: FakeReceiverKind;
  abortListener: AbortListener | undefined;
  /** Every frame written, in order, including the one `end()` wrote. */
  readonly frames: string[] = [];
  /** What happened to the receiver, in order: `send o`, `end c[...]`, `pause`, `ping 5000`... */
  readonly events: string[] = [];
  /** Set once the receiver ended (by `end()`, by itself, or by `abort()`). */
  ended = false;
  /** The frame `end()` was given, if any. */
  endFrame: string | undefined;
  destroyed = false;
  paused = false;
  /** The connection is gone (aborted or destroyed): nothing unread is left to read. */
  #gone = false;
  readonly #frameLimit: number;
  readonly #slowReader: boolean;
  readonly #reportsFlushed: boolean;
  #backlog = 0;
  #flushWaiters: Array<() => void> = [];

  constructor(options: FakeReceiverOptions = {}) {
    this.kind = options.kind ?? 'streaming';
    this.transport = options.transport ?? { polling: 'xhr', streaming: 'xhr-streaming', websocket: 'websocket' }[this.kind];
    this.#frameLimit = options.frameLimit ?? Infinity;
    this.#slowReader = options.slowReader ?? false;
    this.#reportsFlushed = options.reportsFlushed ?? this.kind !== 'websocket';
    const websocket = this.kind === 'websocket';
    this.pause = websocket
      ? () => {
          this.paused = true;
          this.events.push('pause');
        }
      : undefined;
    this.resume = websocket
      ? () => {
          this.paused = false;
          this.events.push('resume');
        }
      : undefined;
    this.ping = websocket ? (_timers, timeoutMs) => void this.events.push(`ping ${timeoutMs}`) : undefined;
  }

  get backlog(): number {
    return this.#backlog;
  }

  /** HTTP receivers only: false from their end until the client read everything. */
  get flushed(): boolean | undefined {
    if (!this.#reportsFlushed) return undefined;
    return this.#gone || (this.ended && this.#backlog === 0);
  }

  /** The frames other than heartbeats. */
  get dataFrames(): string[] {
    return this.frames.filter((frame) => frame !== 'h');
  }

  send(frame: string | Buffer): boolean {
    if (this.ended) return false;
    const text = typeof frame === 'string' ? frame : frame.toString('utf8');
    this.#write(text);
    this.events.push(`send ${text}`);
    if (this.kind === 'polling') {
      this.#end();
      return false;
    }
    if (this.frames.length >= this.#frameLimit) {
      this.#end();
      return false;
    }
    return true;
  }

  end(frame?: string): void {
    if (this.ended) return;
    if (frame !== undefined) this.#write(frame);
    this.endFrame = frame;
    this.events.push(frame === undefined ? 'end' : `end ${frame}`);
    this.#end();
  }

  onceFlushed(callback: () => void): void {
    if (this.#backlog === 0 || this.destroyed) {
      queueMicrotask(callback);
      return;
    }
    this.#flushWaiters.push(callback);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#gone = true;
    this.events.push('destroy');
    this.#backlog = 0;
    this.#wakeFlushWaiters();
    this.#end();
  }

  /** Websockets only, like the real receivers: they carry the client's messages too. */
  readonly pause: (() => void) | undefined;
  readonly resume: (() => void) | undefined;
  /** Websockets only: the liveness check (the pong deadline is the real receiver's business). */
  readonly ping: ((timers: Timers, timeoutMs: number) => void) | undefined;

  // ---- what the test does as the client ----

  /** The client reads `bytes` of the backlog (all of it by default). */
  read(bytes = this.#backlog): void {
    this.#backlog = Math.max(0, this.#backlog - bytes);
    if (this.#backlog === 0) this.#wakeFlushWaiters();
  }

  /** The client goes away without a goodbye (an aborted poll, a dropped stream or websocket). */
  abort(): void {
    if (this.ended) return;
    this.#gone = true;
    this.events.push('abort');
    this.#end();
    this.abortListener?.receiverAborted(this);
  }

  #write(text: string): void {
    this.frames.push(text);
    if (this.#slowReader) this.#backlog += Buffer.byteLength(text);
  }

  #end(): void {
    this.ended = true;
  }

  #wakeFlushWaiters(): void {
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    for (const wake of waiters) wake();
  }
}
