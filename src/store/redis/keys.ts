/**
 * Where RedisStore keeps things: the names of its keys and pub/sub channels, all under
 * `keyPrefix` (default `koa-sockjs:`). On one Redis (or a Sentinel-managed one):
 *   session:<key>   hash: the SessionRecord, plus `claimUntil` and `ttl`; once buried (a
 *                   closed session's tombstone), also `buried`, and out of `sessions`
 *   outgoing:<key>  list: JSON messages for the client, waiting for a receiving connection
 *   incoming:<key>  list: JSON messages from the client, waiting for the owning process
 *   sessions        sorted set: every key, scored by when its record expires (count)
 *   node:<nodeId>   string: present while the process is alive (short TTL, refreshed)
 * and on pub/sub: `wake:<mailbox>:<key>` after every push, `topic:<topic>` for publish().
 *
 * On a Redis Cluster a Lua script may only touch keys of one hash slot, and every script of a
 * session touches its record, both mailboxes and the index. So sessions are spread over
 * {@link CLUSTER_SHARDS} shards, each with its own index, and every key of shard `n` carries the
 * hash tag `{<keyPrefix><n>}` (Redis hashes only the part between the braces): the keys of a
 * session and its shard's index are in one slot. The tag stands in for the prefix:
 * `{koa-sockjs:17}:session:<key>`, `{koa-sockjs:17}:sessions`.
 * The liveness marks are single-key commands and stay as they are; channels are not keys.
 */
import type { Mailbox } from '../store.js';

/**
 * How many shards the sessions are spread over on a Redis Cluster: the sessions of one shard
 * share a hash slot, so this bounds how evenly a cluster's masters share the sessions (64
 * slots over 3 masters: about 21 each), and `count()` asks each shard (64 small commands,
 * pipelined per master). Every process of one route must agree on it: it is fixed.
 */
export const CLUSTER_SHARDS = 64;

/** The keys the scripts of one session touch, all in one hash slot. */
export interface SessionKeys {
  readonly record: string;
  readonly outgoing: string;
  readonly incoming: string;
  /** The sorted set of the live sessions of this session's shard. */
  readonly index: string;
  /** The shard's hash tag ('' on one Redis): scripts are cached per shard on a cluster. */
  readonly shard: string;
}

/** 32-bit FNV-1a: spreads session keys over the shards, the same in every process. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The key and channel names of one store (one `keyPrefix`). */
export class RedisKeys {
  /** The key prefix of each shard: `keyPrefix` on one Redis, `{<keyPrefix><n>}:` on a cluster. */
  readonly #shards: string[];

  constructor(
    readonly prefix: string,
    /** 1 on one Redis; {@link CLUSTER_SHARDS} on a cluster. */
    readonly shardCount: number,
  ) {
    this.#shards = shardCount === 1 ? [prefix] : Array.from({ length: shardCount }, (_, n) => `{${prefix}${n}}:`);
  }

  /** Every key of one session, and its shard's index. */
  session(key: string): SessionKeys {
    const shard = this.#shards.length === 1 ? this.#shards[0]! : this.#shards[fnv1a(key) % this.#shards.length]!;
    return {
      record: `${shard}session:${key}`,
      outgoing: `${shard}outgoing:${key}`,
      incoming: `${shard}incoming:${key}`,
      index: `${shard}sessions`,
      shard: this.#shards.length === 1 ? '' : shard,
    };
  }

  /** The index of every shard, with the shard's tag (see {@link SessionKeys.shard}). */
  indexes(): { index: string; shard: string }[] {
    return this.#shards.map((shard) => ({ index: `${shard}sessions`, shard: this.#shards.length === 1 ? '' : shard }));
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
