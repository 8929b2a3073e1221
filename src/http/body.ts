/** Reads a request body as UTF-8, refusing anything over the route's maxMessageSize. */
import type { IncomingMessage } from 'node:http';

/** The body was larger than allowed. */
export class BodyTooLargeError extends Error {
  readonly code = 'SOCKJS_ERR_BODY_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`koa-sockjs: request body larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** The client went away before its body was complete: nobody is left to answer. */
export class BodyIncompleteError extends Error {
  readonly code = 'SOCKJS_ERR_BODY_INCOMPLETE';
  constructor() {
    super('koa-sockjs: client went away while sending the body');
    this.name = 'BodyIncompleteError';
  }
}

/**
 * True once something read the body stream (a body parser mounted before sockjs()): its
 * events have fired, and waiting for them would wait forever.
 */
export function bodyWasRead(req: IncomingMessage): boolean {
  return req.readableDidRead || req.readableEnded;
}

/** Reads a body nobody read before (see bodyWasRead). */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  // Gone before we got here (say, while an async middleware in front ran): 'close' has fired.
  if (req.destroyed) return Promise.reject(new BodyIncompleteError());
  // The whole body came with the head (a send's body usually does: one packet) and waits in the
  // stream's buffer: take it as it is, without four listeners and their closures per send.
  if (req.readableLength === declared && !req.readableFlowing) return Promise.resolve(takeBuffered(req, declared));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Stop reading; the response (413) still goes out, then the connection closes.
        req.pause();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8'));
    };
    const onError = (): void => {
      cleanup();
      reject(new BodyIncompleteError());
    };
    const onClose = (): void => {
      if (req.complete) return;
      cleanup();
      reject(new BodyIncompleteError());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * A body whose declared `length` bytes all wait in the stream's buffer. read() takes them (and
 * marks the request as consumed, so Node does not discard it when the response ends).
 */
function takeBuffered(req: IncomingMessage, length: number): string {
  if (length === 0) return '';
  const body = req.read(length) as Buffer | null;
  return body === null ? '' : body.toString('utf8');
}
