/** The error RedisStore operations fail with. */
import { StoreError } from '../../errors.js';

/**
 * A Redis operation failed or Redis was unreachable. Koa answers a request that fails with it
 * 503 Service Unavailable (`status`), with that bare text: the message names hosts and
 * connection states, which are the operator's business, not the client's (`expose` false, as
 * for every 5xx). Koa reports it through `app.emit('error')`.
 */
export class RedisStoreError extends StoreError {
  /** 503: the HTTP status Koa answers a request that failed with this error. */
  readonly status = 503;
  /** False: the message names hosts and connection states, the operator's business (Koa shows a bare status text). */
  readonly expose = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(`Redis store: ${message}`, options);
    this.name = 'RedisStoreError';
  }
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
