/**
 * A client that goes away mid-request (a closed tab, a lost network, a proxy that gives up) is
 * everyday life for SockJS: streams and long polls are dropped all the time, and a hang-up in
 * the middle of a request body leaves Node's HTTP parser with an error. Koa reports such socket
 * errors through `app.emit('error')`, and its default handler prints a stack trace for each.
 * They are not server faults, so they are marked the way Koa marks client errors: `expose`
 * (Koa's default handler then stays quiet) and a 4xx status; an app's own 'error' listener
 * still hears them.
 */
import type { Socket } from 'node:net';

/** The client hung up or reset the connection: 499, "client closed request" (nginx's code). */
const CLIENT_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_PREMATURE_CLOSE']);
/** Node's request timeout: the client never finished its request (a body that never ends). */
const REQUEST_TIMEOUT = 'ERR_HTTP_REQUEST_TIMEOUT';

interface MarkableError extends Error {
  code?: string;
  expose?: boolean;
  status?: number;
}

/** The status a client-caused error gets, or undefined for an error that is the server's. */
export function clientErrorStatus(code: string | undefined): number | undefined {
  if (code === undefined) return undefined;
  if (CLIENT_GONE.has(code)) return 499;
  // llhttp's errors (`HPE_INVALID_CHUNK_SIZE`, `HPE_INVALID_EOF_STATE` when the client hangs
  // up mid-body, ...): the client sent something that is not HTTP.
  if (code.startsWith('HPE_')) return 400;
  if (code === REQUEST_TIMEOUT) return 408;
  return undefined;
}

function markClientError(error: MarkableError): void {
  const status = clientErrorStatus(error.code);
  if (status === undefined) return;
  error.expose = true;
  error.status ??= status;
}

const kQuieted = Symbol('koa-sockjs.quieted');

interface QuietableSocket extends Socket {
  [kQuieted]?: true;
}

/**
 * Marks the client-caused errors of `socket` for the rest of its life. Once per connection:
 * the listener stays (a keep-alive connection carries many requests), so a request pays one
 * property check.
 */
export function quietClientErrors(socket: Socket): void {
  const quietable = socket as QuietableSocket;
  if (quietable[kQuieted]) return;
  quietable[kQuieted] = true;
  // Prepended: Koa's own listener (on-finished) was attached before ours and must see the mark.
  socket.prependListener('error', markClientError);
}

/**
 * Takes the mark off again, for a socket no HTTP response will ever be bound to (a websocket
 * taken from the server's 'upgrade' event): Koa never listens on it, so the listener would only
 * be kept, with the listener array it makes, as long as the connection.
 */
export function unquietClientErrors(socket: Socket): void {
  socket.removeListener('error', markClientError);
}
