/**
 * The connection a session writes its frames to: a websocket, a streaming response, or one
 * polling response. The session layer defines and drives it, transports implement it (so the
 * arrow points from transports to the session layer, never back).
 */
import type { Timers } from '../timers.js';

/**
 * Who hears that a receiver's client went away: an object rather than a callback, so that the
 * session's channel can listen itself, with no closure and scope kept per connection for the
 * connection's whole life (idle memory, issue 17).
 */
export interface AbortListener {
  /** `receiver`'s client went away before `end()`; called once. */
  receiverAborted(receiver: Receiver): void;
}

export interface Receiver {
  /** The transport name, e.g. `websocket`, `xhr-streaming`. */
  readonly transport: string;
  /**
   * Writes one frame (`o`, `h`, `a[...]`). Returns false when the receiver took its last
   * frame and ended itself (a polling response answered, a streaming response over its limit).
   */
  send(frame: string | Buffer): boolean;
  /** Writes `frame` (usually a close frame) if given, then ends the connection. Idempotent. */
  end(frame?: string): void;
  /**
   * Set by the session layer; the receiver calls its `receiverAborted(this)` once when the
   * client went away before `end()` (an aborted poll, a dropped stream, a websocket closed by
   * the client).
   */
  abortListener: AbortListener | undefined;
  /**
   * Bytes written but not yet taken by the client's connection (a slow reader's backlog), also
   * after `end()` while an answered response is still going out.
   */
  readonly backlog: number;
  /**
   * Calls `callback` once what was written so far has left for the client (the backlog went
   * out) or the connection ended: how `session.drain()`, and with it a graceful
   * `route.close({ timeout })`, learns that a slow reader caught up. Required of every
   * receiver: one without it would leave a producer (or a shutdown) waiting until its timeout.
   */
  onceFlushed(callback: () => void): void;
  /**
   * Receivers that end before their session does (HTTP responses): false from the end until
   * everything written has left the process for the client's connection. A new receiving
   * request before that means a client that does not read (issue 9).
   */
  readonly flushed?: boolean | undefined;
  /** Drops the connection now, discarding what it has not sent: a client that does not read. */
  destroy?(): void;
  /**
   * Connections that carry the client's messages too (websockets): stop reading them, so the
   * sender slows down (TCP flow control) while the application works through what it got.
   */
  pause?(): void;
  /** Reads the client's messages again after `pause()`. */
  resume?(): void;
  /**
   * Connections with a liveness check of their own (websockets: RFC 6455 ping and pong): asks
   * the peer to answer, and drops the connection (then `abortListener`) when no answer comes within
   * `timeoutMs` of `timers`' clock. Called with every heartbeat.
   */
  ping?(timers: Timers, timeoutMs: number): void;
}
