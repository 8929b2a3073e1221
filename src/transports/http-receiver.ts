/**
 * Receiver over an HTTP response: a polling response takes one frame and ends; a streaming
 * response takes frames until it has carried `responseLimit` bytes. The transport supplies the
 * headers, the prelude and the framing.
 */
import type { Context } from 'koa';
import type { ServerResponse } from 'node:http';
import { quietClientErrors } from '../http/client-gone.js';
import type { Receiver } from './receiver.js';

export interface HttpReceiverOptions {
  readonly transport: string;
  /** Streaming responses take many frames; polling ones take one. */
  readonly streaming: boolean;
  /** Streaming only: end the response once this many bytes were written. */
  readonly responseLimit: number;
  /** Wraps one frame for the wire, e.g. `frame + '\n'`. */
  readonly format: (frame: string) => string;
}

export class HttpReceiver implements Receiver {
  readonly transport: string;
  onAbort: (() => void) | undefined;
  readonly #res: ServerResponse;
  readonly #options: HttpReceiverOptions;
  #bytes = 0;
  #ended = false;

  constructor(ctx: Context, options: HttpReceiverOptions) {
    this.transport = options.transport;
    this.#options = options;
    this.#res = ctx.res;
    // Headers set through ctx.set() are already on ctx.res; from here on we own the response.
    ctx.respond = false;
    ctx.status = 200;
    const stopQuieting = quietClientErrors(ctx.req.socket);
    this.#res.on('close', () => {
      stopQuieting();
      if (this.#ended) return;
      this.#ended = true;
      this.onAbort?.();
    });
    // A response the client never reads must not keep Nagle's 40 ms delay per frame.
    ctx.req.socket.setNoDelay(true);
  }

  /** Sends headers and the transport's prelude (streaming transports). */
  begin(prelude: string): void {
    this.#res.writeHead(200);
    if (prelude) this.#res.write(prelude);
  }

  get backlog(): number {
    return this.#res.writableLength;
  }

  send(frame: string | Buffer): boolean {
    if (this.#ended) return false;
    const chunk = this.#options.format(typeof frame === 'string' ? frame : frame.toString('utf8'));
    if (!this.#options.streaming) {
      this.end(undefined, chunk);
      return false;
    }
    this.#res.write(chunk);
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
    if (chunk === undefined) {
      this.#res.end();
      return;
    }
    // A polling answer is the whole body: say how long, so an HTTP/1.0 keep-alive client may keep
    // the connection (Node only adds Content-Length by itself for HTTP/1.1).
    if (!this.#res.headersSent) this.#res.setHeader('Content-Length', Buffer.byteLength(chunk));
    this.#res.end(chunk);
  }
}
