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
