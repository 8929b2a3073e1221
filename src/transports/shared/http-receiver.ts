/**
 * Receiver over an HTTP response: a polling response takes one frame and ends; a streaming
 * response takes frames until it has carried `responseLimit` bytes. The transport supplies the
 * headers, the prelude and the framing.
 *
 * Koa writes every response head, after the whole middleware chain, so headers that
 * middleware above sets after `await next()` are sent too:
 * - a poll answered while the route still runs (the open frame, queued messages, a close frame)
 *   is a plain `ctx.body`;
 * - a long poll and a stream return a ResponseGate as the body; once Koa has written the head,
 *   frames go straight to the response.
 */
import type { Context } from 'koa';
import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { ResponseGate } from '../../http/response-gate.js';
import { whenFlushed } from '../../session/drain.js';
import type { Receiver } from '../../session/receiver.js';

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
  onAbort: (() => void) | undefined;
  readonly #ctx: Context;
  readonly #res: ServerResponse;
  readonly #options: HttpReceiverOptions;
  #phase = Phase.Inline;
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
      this.onAbort?.();
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
   * The route is done with the request. A poll not answered by now is a long poll: its answer
   * comes later, through a gate.
   */
  release(): void {
    if (this.#phase === Phase.Inline && !this.#ended) this.#defer();
  }

  get backlog(): number {
    return this.#pendingBytes + this.#res.writableLength;
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
      this.#ctx.body = chunk ?? '';
      return;
    }
    if (this.#phase === Phase.Waiting) {
      // Sent when Koa opens the gate.
      if (chunk !== undefined) this.#write(chunk);
      return;
    }
    if (!this.#options.streaming) {
      this.#finish(chunk);
      return;
    }
    if (chunk !== undefined) this.#write(chunk);
    this.#finish();
  }

  #defer(): void {
    this.#phase = Phase.Waiting;
    this.#gate = new ResponseGate((destination) => this.#open(destination));
    this.#ctx.body = this.#gate;
    // A compressor buffers its output: frames would sit in it instead of reaching the client.
    (this.#ctx as Context & { compress?: boolean }).compress = false;
  }

  #open(destination: Writable): void {
    this.#phase = Phase.Live;
    this.#destination = destination;
    // A stream's head goes out now: the client waits for it before anything else.
    if (this.#options.streaming && destination === this.#res) this.#res.flushHeaders();
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (!this.#options.streaming) {
      // A long poll answered before Koa got here.
      if (this.#ended) this.#finish(pending[0]);
      return;
    }
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

  /** Ends the response; `last` is what a polling response carries. */
  #finish(last?: string): void {
    const destination = this.#destination!;
    if (last !== undefined && last.length > 0 && !this.#options.streaming && destination === this.#res && !this.#res.headersSent) {
      // A polling answer is the whole body: say how long, so an HTTP/1.0 keep-alive client may
      // keep the connection (Node only adds Content-Length by itself for HTTP/1.1).
      this.#res.setHeader('Content-Length', Buffer.byteLength(last));
    }
    if (last !== undefined && last.length > 0) destination.end(last);
    else destination.end();
    this.#gate!.finish();
  }
}
