/**
 * A response body that lets Koa write the head, then steps aside. A streaming or long-poll
 * response outlives the middleware chain, yet middleware above sets headers after
 * `await next()` (a session cookie, a timing header, CORS): if the route wrote the head itself,
 * inside the chain, those headers would be lost or throw ERR_HTTP_HEADERS_SENT. So the route sets
 * `ctx.body` to a gate and returns; Koa, once the whole chain has unwound and every header is
 * set, "pipes" the gate into the response, which is the signal that the response is ours. From
 * then on frames go straight to `res.write()`: no stream machinery per frame.
 */
import { Stream, type Writable } from 'node:stream';

export class ResponseGate extends Stream {
  /**
   * @param onOpen called once, with the destination, when Koa writes the response. Koa 2 pipes
   *   into the Node response itself; Koa 3 does so through stream.pipeline().
   */
  constructor(readonly onOpen: (destination: Writable) => void) {
    super();
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T): T {
    // Koa 3's pipeline() reports a destination that closes before its source ended as
    // ERR_STREAM_PREMATURE_CLOSE, which Koa's default handler prints with a stack trace. For
    // SockJS a client dropping a stream is ordinary, so the gate ends first (prepended: before
    // pipeline's own 'close' listener).
    (destination as unknown as Writable).prependListener('close', () => this.finish());
    this.onOpen(destination as unknown as Writable);
    return destination;
  }

  /** The response is complete: tells whatever piped the gate (pipeline waits for 'end'). */
  finish(): void {
    this.emit('end');
  }

  /** Koa destroys a stream body when the response finishes; there is nothing to release. */
  destroy(): void {}
}
