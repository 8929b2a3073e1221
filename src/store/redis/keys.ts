/**
 * Where RedisStore keeps things: the names of its keys and pub/sub channels, all under
 * `keyPrefix` (default `koa-sockjs:`):
 *   session:<key>   hash: the SessionRecord, plus `claimUntil` and `ttl`; once buried (a
 *                   closed session's tombstone), also `buried`, and out of `sessions`
 *   outgoing:<key>  list: JSON messages for the client, waiting for a receiving connection
 *   incoming:<key>  list: JSON messages from the client, waiting for the owning process
 *   sessions        sorted set: every key, scored by when its record expires (count, keys)
 *   node:<nodeId>   string: present while the process is alive (short TTL, refreshed)
 * and on pub/sub: `wake:<mailbox>:<key>` after every push, `topic:<topic>` for publish().
 */
import type { Mailbox } from '../store.js';

/** The key and channel names of one store (one `keyPrefix`). */
export class RedisKeys {
  /** The sorted set of every live session key. */
  readonly index: string;

  constructor(readonly prefix: string) {
    this.index = `${prefix}sessions`;
  }

  record(key: string): string {
    return `${this.prefix}session:${key}`;
  }

  mailbox(key: string, mailbox: Mailbox): string {
    return `${this.prefix}${mailbox}:${key}`;
  }

  /** The keys of the scripts that touch everything of one session: record, outgoing, incoming, index. */
  all(key: string): string[] {
    return [this.record(key), this.mailbox(key, 'outgoing'), this.mailbox(key, 'incoming'), this.index];
  }

  node(nodeId: string): string {
    return `${this.prefix}node:${nodeId}`;
  }

  wakeChannel(key: string, mailbox: Mailbox): string {
    return `${this.prefix}wake:${mailbox}:${key}`;
  }

  topicChannel(topic: string): string {
    return `${this.prefix}topic:${topic}`;
  }
}
