/**
 * SockJS frames, as sockjs-client reads them (protocol suite, "Framing accepted by the client").
 * Pure functions; transports add their own delimiters around these.
 */

import { escapeForClient } from './json.js';

export const OPEN_FRAME = 'o';
export const HEARTBEAT_FRAME = 'h';

/** Close codes the protocol and this server use. */
export const CloseCode = {
  /** Normal application close (the default of `session.close()`). */
  GO_AWAY: 3000,
  /** A second receiving connection for a session that already has one. */
  ANOTHER_CONNECTION: 2010,
  /** The receiving request vanished; the session is unusable. */
  INTERRUPTED: 1002,
  /** The server is shutting down (manager.close()). */
  GOING_AWAY: 1001,
  /** The session was evicted or expired by the server. */
  EXPIRED: 3001,
  /** The client read too slowly: its connection's backlog passed maxBufferedBytes. */
  TOO_SLOW: 1013,
  /** An incoming message was larger than maxMessageSize (websocket close code). */
  MESSAGE_TOO_BIG: 1009,
  /**
   * Sends over HTTP kept coming in parallel while more than `maxIncomingBacklog` bytes of
   * messages waited for onMessage: the client ignores the backpressure of delayed send answers.
   */
  TOO_MANY_WAITING: 1008,
  /**
   * The session store failed a receiving request (a networked store that is unreachable, a
   * store method that threw): the client learns why instead of waiting. A 3xxx code (like
   * HTTP's 503), because sockjs-client hands only 1000 and 3000-4999 to the application while a
   * session is opening; other codes make it try the next transport and report 2000.
   */
  STORE_UNAVAILABLE: 3503,
} as const;

/** The reason sent with each {@link CloseCode}, in the close frame `c[code,"reason"]`. */
export const CloseReason = {
  /** With 3000, the default of `session.close()` (the text of the SockJS protocol suite). */
  GO_AWAY: 'Go away!',
  /** With 2010: a second receiving connection while one is open (protocol suite). */
  ANOTHER_CONNECTION: 'Another connection still open',
  /** With 1002: the receiving request vanished mid-response (protocol suite). */
  INTERRUPTED: 'Connection interrupted',
  /** With 1001: `manager.close()` / the route's `close()`. */
  GOING_AWAY: 'Server is shutting down',
  /** With 3001: the session was expired or evicted by the server. */
  EXPIRED: 'Session expired',
  /** With 1013: the client read too slowly (`maxBufferedBytes`). */
  TOO_SLOW: 'Client too slow to receive',
  /** With 1008: too many of the client's messages waited for `onMessage`. */
  TOO_MANY_WAITING: 'Too many messages waiting',
  /** With 3503: the session store failed the receiving request. */
  STORE_UNAVAILABLE: 'Session store unavailable',
} as const;

/** `a[...]` from messages that are each already JSON-encoded (see encodeMessage). */
export function messageFrame(encodedMessages: readonly string[]): string {
  return encodedMessages.length === 1 ? `a[${encodedMessages[0]}]` : `a[${encodedMessages.join(',')}]`;
}

/** `c[code,"reason"]`. */
export function closeFrame(code: number, reason: string): string {
  return `c[${code},${escapeForClient(JSON.stringify(reason))}]`;
}
