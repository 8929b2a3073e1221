/**
 * Receiver over an HTTP response: a polling response takes one frame and ends; a streaming
 * response takes frames until it has carried `responseLimit` bytes. The transport supplies the
 * headers, the prelude and the framing.
 *
 * Koa writes every response head, after the whole middleware chain, so headers that
 * middleware above sets after `await next()` are sent too:
 * - a poll's answer is a plain `ctx.body`, whether it is there while the route runs (the open
 *   frame, queued messages, a close frame) or comes later: the route awaits a long poll's
 *   answer (`answered()`) and returns with it, so middleware above resumes with the answer in
 *   `ctx.body`, as for any slow answer;
 * - a stream makes a ResponseGate the body at once (its head must go out before its first
 *   frame); once Koa's respond() has let go of the response (http/response-gate.ts), frames go
 *   straight to it.
 */
import type { Context } from 'koa';
import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { ResponseGate } from '../../http/response-gate.js';
import { whenFlushed } from '../../session/drain.js';
import type { AbortListener, Receiver } from '../../session/receiver.js';

export interface HttpReceiverOptions {
  readonly transport: string;
  /** Streaming responses take many frames; polling ones take one. */
  readonly streaming: boolean;
  /** Streaming only: end the response once this many bytes were written. */
  readonly responseLimit: number;
  /** Wraps one frame for the wire, e.g. `frame + '\n'`. */
  readonly format: (frame: string) => string;
}

/** Where the response is: still the route's (ctx.body), waiting for Koa, or handed to us. */
const enum Phase {
  /** The route is running: a polling answer becomes ctx.body. */
  Inline,
  /** The body is a gate Koa has not opened yet: chunks wait in `pending`. */
  Waiting,
  /** Koa opened the gate: chunks go to the destination. */
  Live,
}

export class HttpReceiver implements Receiver {
  readonly transport: string;
  abortListener: AbortListener | undefined;
  readonly #ctx: Context;
  readonly #res: ServerResponse;
  readonly #options: HttpReceiverOptions;
  #phase = Phase.Inline;
  /** A poll's answer, set as ctx.body and not yet written by Koa: counted in `backlog`. */
  #answer: string | undefined;
  /** Resolves the promise of `answered()`. */
  #wake: (() => void) | undefined;
  #gate: ResponseGate | undefined;
  #destination: Writable | undefined;
  #pending: string[] = [];
  #pendingBytes = 0;
  /** Bytes written into a streaming response. */
  #bytes = 0;
  #ended = false;
  /** The response has left this process (Node's 'finish'), or its connection is gone. */
  #gone = false;

  constructor(ctx: Context, options: HttpReceiverOptions) {
    this.transport = options.transport;
    this.#ctx = ctx;
    this.#options = options;
    this.#res = ctx.res;
    this.#res.on('finish', () => {
      this.#gone = true;
    });
    this.#res.on('close', () => {
      this.#gone = true;
      if (this.#ended) return;
      this.#ended = true;
      this.#wakeRoute();
      this.abortListener?.receiverAborted(this);
    });
    // A response the client never reads must not keep Nagle's 40 ms delay per frame.
    ctx.req.socket.setNoDelay(true);
  }

  /** Streaming transports: the response becomes a stream that starts with the prelude. */
  begin(prelude: string): void {
    this.#defer();
    if (prelude) this.#write(prelude);
  }

  /**
   * Polling transports: resolves once the poll has its answer in `ctx.body` (or its client is
   * gone), so the route can return and let Koa write it. Meanwhile the middleware chain above
   * waits, as it does for any slow answer.
   */
  answered(): Promise<void> | undefined {
    if (this.#ended) return undefined;
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  get backlog(): number {
    const answer = this.#answer !== undefined && !this.#res.headersSent ? Buffer.byteLength(this.#answer) : 0;
    return answer + this.#pendingBytes + this.#res.writableLength;
  }

  onceFlushed(callback: () => void): void {
    const res = this.#res;
    const socket = res.socket;
    if (this.#ended && !this.#gone) {
      // An answered response still going out (a client that does not read it): 'finish' once
      // it has left the process, 'close' if its connection went first. Not a look on every turn
      // of the event loop: a producer may wait on it for as long as the client does not read.
      const done = (): void => {
        res.off('finish', done);
        res.off('close', done);
        callback();
      };
      res.once('finish', done);
      res.once('close', done);
    } else if (this.#ended || !socket || this.#phase !== Phase.Live) {
      // Gone, or not yet on the socket (Koa has not opened the gate): look again on the next turn.
      setImmediate(callback);
    } else if (res.writableNeedDrain) {
      // Bytes still in the response (not yet on its socket) leave when it drains, unless the
      // response closes first.
      const onDrain = (): void => {
        res.off('close', onClose);
        whenFlushed(socket, callback);
      };
      const onClose = (): void => {
        res.off('drain', onDrain);
        callback();
      };
      res.once('drain', onDrain);
      res.once('close', onClose);
    } else {
      whenFlushed(socket, callback);
    }
  }

  get flushed(): boolean {
    return this.#gone;
  }

  destroy(): void {
    this.#ended = true;
    this.#wakeRoute();
    this.#res.destroy();
  }

  send(frame: string | Buffer): boolean {
    if (this.#ended) return false;
    const chunk = this.#options.format(typeof frame === 'string' ? frame : frame.toString('utf8'));
    if (!this.#options.streaming) {
      this.end(undefined, chunk);
      return false;
    }
    this.#write(chunk);
    this.#bytes += Buffer.byteLength(chunk);
    if (this.#bytes >= this.#options.responseLimit) {
      this.end();
      return false;
    }
    return true;
  }

  end(frame?: string, raw?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    const chunk = raw ?? (frame === undefined ? undefined : this.#options.format(frame));
    if (this.#phase === Phase.Inline) {
      this.#answer = chunk ?? '';
      this.#ctx.body = this.#answer;
      this.#wakeRoute();
      return;
    }
    // A stream.
    if (chunk !== undefined) this.#write(chunk);
    // Live: ends now; Waiting: ends when Koa opens the gate.
    if (this.#phase === Phase.Live) this.#finish();
  }

  #wakeRoute(): void {
    const wake = this.#wake;
    if (wake === undefined) return;
    this.#wake = undefined;
    wake();
  }

  #defer(): void {
    this.#phase = Phase.Waiting;
    this.#gate = new ResponseGate((destination) => this.#open(destination));
    this.#gate.attach(this.#ctx);
    // A compressor buffers its output: frames would sit in it instead of reaching the client.
    (this.#ctx as Context & { compress?: boolean }).compress = false;
  }

  #open(destination: Writable): void {
    this.#phase = Phase.Live;
    this.#destination = destination;
    // A stream's head goes out now: the client waits for it before anything else.
    if (destination === this.#res) this.#res.flushHeaders();
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    // One write per frame: each leaves as its own chunk, as it would have.
    for (const chunk of pending) destination.write(chunk);
    if (this.#ended) this.#finish();
  }

  #write(chunk: string): void {
    if (this.#phase === Phase.Live) {
      this.#destination!.write(chunk);
      return;
    }
    this.#pending.push(chunk);
    this.#pendingBytes += Buffer.byteLength(chunk);
  }

  /** Ends a stream. */
  #finish(): void {
    this.#destination!.end();
    this.#gate!.finish();
  }
}
