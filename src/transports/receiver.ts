/**
 * The connection a session writes its frames to: a websocket, a streaming response, or one
 * polling response. Transports implement it; the session layer drives it.
 */

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
   * Set by the session layer; the receiver calls it once when the client went away before
   * `end()` (an aborted poll, a dropped stream, a websocket closed by the client).
   */
  onAbort: (() => void) | undefined;
  /** Bytes written but not yet taken by the client's connection (a slow reader's backlog). */
  readonly backlog: number;
}
