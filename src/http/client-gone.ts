/**
 * A client that drops a long-lived response (a closed tab, a lost network) is everyday life for
 * SockJS, yet Koa reports the socket's ECONNRESET/EPIPE through app.emit('error'), and its
 * default handler prints a stack trace each time. Such errors are marked `expose` (Koa's
 * default handler then stays quiet) with status 499, "client closed request"; an app's own
 * 'error' listener still hears them.
 */
import type { Socket } from 'node:net';

const CLIENT_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_PREMATURE_CLOSE']);

interface MarkableError extends Error {
  code?: string;
  expose?: boolean;
  status?: number;
}

function markClientGone(error: MarkableError): void {
  if (error.code === undefined || !CLIENT_GONE.has(error.code)) return;
  error.expose = true;
  error.status ??= 499;
}

/** Marks client-gone errors of `socket` until the returned function is called. */
export function quietClientErrors(socket: Socket): () => void {
  // Prepended: Koa's own listener (on-finished) was attached before ours and must see the mark.
  socket.prependListener('error', markClientGone);
  return () => socket.off('error', markClientGone);
}
