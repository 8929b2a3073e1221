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
} as const;

export const CloseReason = {
  GO_AWAY: 'Go away!',
  ANOTHER_CONNECTION: 'Another connection still open',
  INTERRUPTED: 'Connection interrupted',
  GOING_AWAY: 'Server is shutting down',
  EXPIRED: 'Session expired',
  TOO_SLOW: 'Client too slow to receive',
} as const;

/** `a[...]` from messages that are each already JSON-encoded (see encodeMessage). */
export function messageFrame(encodedMessages: readonly string[]): string {
  return encodedMessages.length === 1 ? `a[${encodedMessages[0]}]` : `a[${encodedMessages.join(',')}]`;
}

/** `c[code,"reason"]`. */
export function closeFrame(code: number, reason: string): string {
  return `c[${code},${escapeForClient(JSON.stringify(reason))}]`;
}
