/**
 * RedisStore: the SessionStore for several processes (or machines) serving one SockJS route.
 * Imported from its own entry point, `koa-sockjs/redis`, so only apps that use Redis load a
 * Redis client. The client is ioredis (an optional peer dependency); see docs/scaling.md for why.
 *
 * What lives in Redis, under `keyPrefix` (default `koa-sockjs:`):
 *   session:<key>   hash: the SessionRecord, plus `claimUntil` and `ttl`; once buried (a
 *                   closed session's tombstone), also `buried`, and out of `sessions`
 *   outgoing:<key>  list: JSON messages for the client, waiting for a receiving connection
 *   incoming:<key>  list: JSON messages from the client, waiting for the owning process
 *   sessions        sorted set: every key, scored by when its record expires (count, keys)
 *   node:<nodeId>   string: present while the process is alive (short TTL, refreshed)
 * and on pub/sub: `wake:<mailbox>:<key>` after every push, `topic:<topic>` for publish().
 *
 * The record and both mailboxes share one time to live, the one the manager passes
 * (disconnectDelay + 2 x heartbeatDelay), so sessions nobody comes back for disappear by
 * themselves. Every multi-key change is one Lua script, so it is atomic. Wake-ups and topics
 * share ONE subscriber connection per store, however many sessions it watches.
 *
 * Failing fast: a command issued while Redis is unreachable waits at most `commandTimeout`
 * for the connection to come back, then rejects with RedisStoreError (HTTP status 503), so a
 * request never hangs on a queue that grows while Redis is down.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { SockjsOptionError, StoreError } from '../errors.js';
import { logger } from '../log.js';
import { SessionState } from './session-state.js';
import { keyLabel } from '../util/key-label.js';
import type { CreateResult, Mailbox, SessionRecord, SessionRecordPatch, SessionStore, Unsubscribe } from './store.js';

const log = logger('redis');

/** The options of {@link RedisStore}: all optional. */
export interface RedisStoreOptions {
  /**
   * An ioredis client to use. The store duplicates it once for its pub/sub connection and
   * never closes it: you own it. Give it `enableOfflineQueue: false` and a `commandTimeout`
   * if you want commands of your own to fail fast too, and `enableAutoPipelining: true` to send
   * the commands of one tick in one write, as the store's own client does (it halves the
   * syscalls per polling message). Ignored fields: none; `url` must not be given with it.
   * @default a client the store creates from `url` (and closes in `close()`)
   */
  client?: Redis;
  /** Redis URL, for a client the store creates (`redis://`, `rediss://`, with auth and db). @default 'redis://127.0.0.1:6379' */
  url?: string;
  /**
   * Prefix of every key and pub/sub channel. Give each route (and each app sharing a Redis)
   * its own; pub/sub is not separated by Redis database numbers, only by this prefix.
   * @default 'koa-sockjs:'
   */
  keyPrefix?: string;
  /**
   * Milliseconds after its last sign of life that a process counts as dead, and its sessions
   * may be adopted by another process. The store refreshes its own mark every third of it.
   * Longer rides out longer Redis hiccups without adoption; shorter recovers sooner from a
   * crash.
   * @default 10_000
   */
  nodeTtl?: number;
  /**
   * Milliseconds any store operation may take, including waiting for a lost connection to
   * come back, before it fails with RedisStoreError.
   * @default 2_000
   */
  commandTimeout?: number;
  /** Clock for `seenAt`, claims and expiry, in epoch milliseconds. For tests. @default Date.now */
  now?: () => number;
}

/** The defaults of {@link RedisStoreOptions}. */
export const REDIS_STORE_DEFAULTS = {
  /** The Redis on this machine's default port. */
  url: 'redis://127.0.0.1:6379',
  /** Prefix of every key and channel. */
  keyPrefix: 'koa-sockjs:',
  /** Milliseconds without a sign of life before a process counts as dead: 10 s. */
  nodeTtl: 10_000,
  /** Milliseconds an operation may take, waiting for a lost connection included: 2 s. */
  commandTimeout: 2_000,
} as const;

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

/** A Lua script: sent whole (EVAL) the first time on a connection, by its SHA1 after. */
class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

// KEYS: record, index. ARGV: ttl, now, expireAt, key, field, value, ...
const CREATE = new Script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGETALL', KEYS[1]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1`);

// KEYS: record. ARGV: field, value, ...
const UPDATE = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if #ARGV > 0 then redis.call('HSET', KEYS[1], unpack(ARGV)) end
return 1`);

// KEYS: record. ARGV: expectedOwner, newOwner
const ADOPT = new Script(`
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[2])
return 1`);

// KEYS: record, outgoing, incoming, index. ARGV: ttl, now, expireAt, key
const TOUCH = new Script(`
if redis.call('HGET', KEYS[1], 'buried') then return 0 end
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'ttl', ARGV[1])
local claimUntil = redis.call('HGET', KEYS[1], 'claimUntil')
if claimUntil and tonumber(claimUntil) > tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], 'claimUntil', ARGV[3]) end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], 'XX', ARGV[3], ARGV[4])
return 1`);

// KEYS: record, outgoing, incoming, index. ARGV: key
const DELETE = new Script(`
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1`);

// KEYS: record, mailbox. ARGV: wake channel, message, ...
// RPUSH in slices: Lua's unpack() has a limit on how many values it returns.
const PUSH = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 2, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
redis.call('PUBLISH', ARGV[1], '')
return 1`);

// KEYS: mailbox
const TAKE = new Script(`
local messages = redis.call('LRANGE', KEYS[1], 0, -1)
if #messages > 0 then redis.call('DEL', KEYS[1]) end
return messages`);

// KEYS: record, outgoing, incoming, index. ARGV: token, now, claimUntil, key
// A claim is a receiving request arriving: a sign of life, so it renews the time to live (by the
// one last given, as RELEASE does). A tombstone (see BURY) cannot be claimed.
const CLAIM = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'buried') then return 0 end
local holder = redis.call('HGET', KEYS[1], 'receiver')
if holder and holder ~= ARGV[1] then
  local claimUntil = tonumber(redis.call('HGET', KEYS[1], 'claimUntil') or '0')
  if claimUntil > tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], 'receiver', ARGV[1], 'claimUntil', ARGV[3])
local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl'))
if ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
  redis.call('ZADD', KEYS[4], 'XX', tonumber(ARGV[2]) + ttl, ARGV[4])
end
return 1`);

// KEYS: record, outgoing, incoming, index. ARGV: closeCode, closeReason, ttl, key, closedState
// The record becomes its own tombstone: closed, unclaimed, without mailboxes, out of the index.
const BURY = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[1], 'receiver', 'claimUntil')
redis.call('HSET', KEYS[1], 'state', ARGV[5], 'closeCode', ARGV[1], 'closeReason', ARGV[2], 'buried', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[4])
return 1`);

// KEYS: record, outgoing, incoming, index. ARGV: token, now, key
const RELEASE = new Script(`
if redis.call('HGET', KEYS[1], 'receiver') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'receiver', 'claimUntil')
redis.call('HSET', KEYS[1], 'seenAt', ARGV[2])
local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl'))
if ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
  redis.call('ZADD', KEYS[4], 'XX', tonumber(ARGV[2]) + ttl, ARGV[3])
end
return 1`);

// KEYS: index. ARGV: now
const COUNT = new Script(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZCARD', KEYS[1])`);

/** One pub/sub channel of the subscriber connection, shared by all its listeners. */
interface Subscription {
  /** Wake-ups may be repeated after a reconnect (spuriously, as the contract allows); topics not. */
  readonly wake: boolean;
  readonly listeners: Set<(payload: string) => void>;
  subscribed: Promise<void>;
}

function positive(option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new SockjsOptionError(option, `must be a positive number of milliseconds, got ${String(value)}`, 'RedisStore');
  }
  return value;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Record hash fields to a SessionRecord; a lapsed receiver claim reads as no claim. */
function toRecord(fields: Record<string, string>, now: number): SessionRecord | undefined {
  if (fields.id === undefined) return undefined;
  const record: SessionRecord = {
    id: fields.id,
    owner: fields.owner ?? '',
    state: Number(fields.state) as SessionState,
    seenAt: Number(fields.seenAt),
    transport: fields.transport ?? '',
    ...(fields.identity !== undefined ? { identity: fields.identity } : {}),
  };
  if (fields.closeCode !== undefined) record.closeCode = Number(fields.closeCode);
  if (fields.closeReason !== undefined) record.closeReason = fields.closeReason;
  if (fields.receiver !== undefined) {
    const claimUntil = Number(fields.claimUntil ?? 0);
    if (claimUntil > now) record.receiver = fields.receiver;
    else record.seenAt = Math.max(record.seenAt, claimUntil);
  }
  return record;
}

function pairsToObject(pairs: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) fields[pairs[i]!] = pairs[i + 1]!;
  return fields;
}

/**
 * A {@link SessionStore} on Redis (6 or later, through ioredis), so that any number of
 * processes serve one application without sticky sessions: a poll or a send may land on any
 * of them (docs/scaling.md). Give every process of one route the same `keyPrefix`.
 *
 * Operations fail with {@link RedisStoreError} (Koa answers 503) when Redis is unreachable for
 * longer than `commandTimeout`; `await store.ready()` at startup to fail early instead.
 *
 * @throws `SockjsOptionError` (exported by `koa-sockjs`) from the constructor for a wrong
 *   option (naming it), or for `client` and `url` given together.
 */
export class RedisStore implements SessionStore {
  /** This store instance's id among the processes sharing the Redis: `redis-<uuid>`. */
  readonly nodeId = `redis-${randomUUID()}`;
  /** Prefix of every key and channel (the `keyPrefix` option). */
  readonly keyPrefix: string;
  /** Milliseconds without a sign of life before this process counts as dead (`nodeTtl`). */
  readonly nodeTtl: number;
  /** Milliseconds an operation may take (`commandTimeout`). */
  readonly commandTimeout: number;
  readonly #client: Redis;
  readonly #ownsClient: boolean;
  /** The one connection in subscriber mode: wake-ups and topics. */
  readonly #sub: Redis;
  readonly #now: () => number;
  readonly #subscriptions = new Map<string, Subscription>();
  /** Scripts sent whole on the command connection since it (re)connected; see #eval. */
  readonly #scriptsSent = new Set<Script>();
  readonly #nodeKey: string;
  readonly #index: string;
  readonly #liveness: NodeJS.Timeout;
  /** The pending first registration of this node; operations wait for it. */
  #registration: Promise<void> | undefined;
  #registered = false;
  #subConnectedBefore = false;
  #closed = false;
  /** One wait per client for a lost connection to come back, shared by every operation. */
  readonly #readyWaits = new Map<Redis, Promise<void>>();
  /** Since when each connection has been down (epoch ms), while it is. */
  readonly #downSince = new Map<Redis, number>();
  readonly #onConnectionLost = (): void => {
    for (const client of [this.#client, this.#sub]) {
      if (client.status !== 'ready' && !this.#downSince.has(client)) this.#downSince.set(client, Date.now());
    }
  };
  readonly #onConnectionBack = (): void => {
    for (const client of [this.#client, this.#sub]) if (client.status === 'ready') this.#downSince.delete(client);
  };
  readonly #onClientReady = (): void => {
    // A new connection, maybe to a Redis that restarted empty: scripts go whole again. This runs
    // inside the 'ready' event, before any operation waiting for it sends a command.
    this.#scriptsSent.clear();
    // Redis came back, possibly empty (a restart without persistence): say we are alive at once,
    // before another process mistakes us for dead and adopts our sessions.
    if (this.#registered) void this.#register().catch((error: unknown) => log('re-registering %s failed: %O', this.nodeId, error));
  };

  constructor(options: RedisStoreOptions = {}) {
    if (options.client !== undefined && options.url !== undefined) {
      throw new SockjsOptionError('client', 'cannot be combined with "url": pass one', 'RedisStore');
    }
    const keyPrefix = options.keyPrefix ?? REDIS_STORE_DEFAULTS.keyPrefix;
    if (typeof keyPrefix !== 'string') throw new SockjsOptionError('keyPrefix', `must be a string, got ${typeof keyPrefix}`, 'RedisStore');
    this.keyPrefix = keyPrefix;
    this.nodeTtl = positive('nodeTtl', options.nodeTtl ?? REDIS_STORE_DEFAULTS.nodeTtl);
    this.commandTimeout = positive('commandTimeout', options.commandTimeout ?? REDIS_STORE_DEFAULTS.commandTimeout);
    this.#now = options.now ?? Date.now;
    this.#nodeKey = `${keyPrefix}node:${this.nodeId}`;
    this.#index = `${keyPrefix}sessions`;

    // Commands never wait in ioredis's offline queue (which grows without bound while Redis is
    // down): #run waits, bounded, for the connection instead.
    const failFast: Partial<RedisOptions> = {
      enableOfflineQueue: false,
      commandTimeout: this.commandTimeout,
      connectTimeout: this.commandTimeout,
      maxRetriesPerRequest: 0,
      // Keep reconnecting (quickly at first) for as long as the store is open.
      retryStrategy: (times) => Math.min(50 * times, 1000),
    };
    if (options.client !== undefined) {
      if (!(options.client instanceof Redis)) throw new SockjsOptionError('client', 'must be an ioredis Redis client', 'RedisStore');
      this.#client = options.client;
      this.#ownsClient = false;
    } else {
      const url = options.url ?? REDIS_STORE_DEFAULTS.url;
      if (typeof url !== 'string' || url.length === 0) throw new SockjsOptionError('url', 'must be a non-empty Redis URL', 'RedisStore');
      // Commands issued in the same tick (a poll's claim and take, many sessions' at once) leave
      // in one write: a syscall each was the largest cost of a message on this store.
      this.#client = new Redis(url, { ...failFast, enableAutoPipelining: true });
      this.#ownsClient = true;
      this.#client.on('error', (error: unknown) => log('redis client: %s', messageOf(error)));
    }
    // The store resubscribes itself after a reconnect, then wakes every watcher (a push may
    // have come while the subscription was down).
    this.#sub = this.#client.duplicate({ ...failFast, enableAutoPipelining: false, autoResubscribe: false, lazyConnect: false });
    this.#sub.on('error', (error: unknown) => log('redis subscriber: %s', messageOf(error)));
    this.#sub.on('message', (channel: string, payload: string) => this.#dispatch(channel, payload));
    this.#sub.on('ready', () => this.#subscriberReady());
    this.#client.on('ready', this.#onClientReady);
    for (const client of [this.#client, this.#sub]) {
      client.on('close', this.#onConnectionLost);
      client.on('ready', this.#onConnectionBack);
    }

    this.#liveness = setInterval(() => {
      this.#register().catch((error: unknown) => log('liveness refresh of %s failed: %O', this.nodeId, error));
    }, Math.max(1, Math.floor(this.nodeTtl / 3)));
    this.#liveness.unref();
    this.#registration = this.#register();
    // Awaited by the first operation; an early failure must not be an unhandled rejection.
    this.#registration.catch((error: unknown) => log('registering %s failed: %O', this.nodeId, error));
  }

  /**
   * Resolves once Redis answers and this process is registered as alive; rejects with
   * RedisStoreError when that does not happen within `commandTimeout`. Optional: operations
   * wait for it themselves. Useful to fail at startup rather than on the first request.
   */
  async ready(): Promise<void> {
    await this.#ensureRegistered();
    await this.#waitReady(this.#sub, 'connect the subscriber');
  }

  async create(key: string, record: SessionRecord, ttlMs: number): Promise<CreateResult> {
    const now = this.#now();
    const fields: (string | number)[] = ['id', record.id, 'owner', record.owner, 'state', record.state, 'seenAt', record.seenAt, 'transport', record.transport, 'ttl', ttlMs];
    if (record.closeCode !== undefined) fields.push('closeCode', record.closeCode);
    if (record.closeReason !== undefined) fields.push('closeReason', record.closeReason);
    if (record.receiver !== undefined) fields.push('receiver', record.receiver, 'claimUntil', now + ttlMs);
    if (record.identity !== undefined) fields.push('identity', record.identity);
    const result = await this.#eval('create', CREATE, [this.#recordKey(key), this.#index], [ttlMs, now, now + ttlMs, key, ...fields]);
    if (result === 1) return { record: { ...record }, created: true };
    const existing = toRecord(pairsToObject(result as string[]), now);
    if (!existing) throw new RedisStoreError(`create of ${keyLabel(key)} found a record without an id`);
    return { record: existing, created: false };
  }

  async get(key: string): Promise<SessionRecord | undefined> {
    const fields = await this.#run(this.#client, 'get', () => this.#client.hgetall(this.#recordKey(key)));
    return toRecord(fields, this.#now());
  }

  async update(key: string, patch: SessionRecordPatch): Promise<boolean> {
    const fields: (string | number)[] = [];
    for (const field of ['state', 'closeCode', 'closeReason', 'owner'] as const) {
      const value = patch[field];
      if (value !== undefined) fields.push(field, value);
    }
    return (await this.#eval('update', UPDATE, [this.#recordKey(key)], fields)) === 1;
  }

  async adopt(key: string, expectedOwner: string, newOwner: string): Promise<boolean> {
    return (await this.#eval('adopt', ADOPT, [this.#recordKey(key)], [expectedOwner, newOwner])) === 1;
  }

  async isAlive(nodeId: string): Promise<boolean> {
    if (nodeId === this.nodeId) return true;
    const found = await this.#run(this.#client, 'isAlive', () => this.#client.exists(`${this.keyPrefix}node:${nodeId}`));
    return found === 1;
  }

  async touch(key: string, ttlMs: number): Promise<void> {
    const now = this.#now();
    await this.#eval('touch', TOUCH, this.#allKeys(key), [ttlMs, now, now + ttlMs, key]);
  }

  async delete(key: string): Promise<void> {
    await this.#eval('delete', DELETE, this.#allKeys(key), [key]);
  }

  async push(key: string, mailbox: Mailbox, messages: readonly string[]): Promise<void> {
    if (messages.length === 0) return;
    await this.#eval('push', PUSH, [this.#recordKey(key), this.#mailboxKey(key, mailbox)], [this.#wakeChannel(key, mailbox), ...messages]);
  }

  async take(key: string, mailbox: Mailbox): Promise<string[]> {
    return (await this.#eval('take', TAKE, [this.#mailboxKey(key, mailbox)], [])) as string[];
  }

  async watch(key: string, mailbox: Mailbox, listener: () => void): Promise<Unsubscribe> {
    return this.#listen(this.#wakeChannel(key, mailbox), true, () => listener());
  }

  async claimReceiver(key: string, token: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    return (await this.#eval('claimReceiver', CLAIM, this.#allKeys(key), [token, now, now + ttlMs, key])) === 1;
  }

  async bury(key: string, closeCode: number, closeReason: string, ttlMs: number): Promise<void> {
    await this.#eval('bury', BURY, this.#allKeys(key), [closeCode, closeReason, ttlMs, key, SessionState.CLOSED]);
  }

  async releaseReceiver(key: string, token: string): Promise<void> {
    await this.#eval('releaseReceiver', RELEASE, this.#allKeys(key), [token, this.#now(), key]);
  }

  async publish(topic: string, payload: string): Promise<void> {
    await this.#run(this.#client, 'publish', () => this.#client.publish(this.#topicChannel(topic), payload));
  }

  async subscribe(topic: string, listener: (payload: string) => void): Promise<Unsubscribe> {
    return this.#listen(this.#topicChannel(topic), false, listener);
  }

  async count(): Promise<number> {
    return Number(await this.#eval('count', COUNT, [this.#index], [this.#now()]));
  }

  async *keys(): AsyncIterable<string> {
    const now = this.#now();
    const keys = await this.#run(this.#client, 'keys', () => this.#client.zrangebyscore(this.#index, `(${now}`, '+inf'));
    for (const key of keys) yield key;
  }

  /** Redis drops nothing by capacity (configure `maxmemory-policy noeviction`), so this never fires. */
  onEvict(_listener: (key: string, record: SessionRecord) => void): void {}

  /** Deregisters this process, stops its timer, and closes the connections the store opened. */
  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#liveness);
    // The client may be the application's: leave no listener of ours on it.
    this.#client.off('ready', this.#onClientReady);
    this.#client.off('close', this.#onConnectionLost);
    this.#client.off('ready', this.#onConnectionBack);
    if (this.#client.status === 'ready') {
      // A clean shutdown: other processes may adopt our sessions at once.
      try {
        await this.#client.del(this.#nodeKey);
      } catch (error) {
        log('deregistering %s failed: %O', this.nodeId, error);
      }
    }
    this.#closed = true;
    this.#subscriptions.clear();
    this.#sub.disconnect();
    if (this.#ownsClient) {
      if (this.#client.status === 'ready') {
        try {
          await this.#client.quit();
        } catch (error) {
          log('quit failed: %O', error);
        }
      }
      this.#client.disconnect();
    }
  }

  // ---- internals ----

  #recordKey(key: string): string {
    return `${this.keyPrefix}session:${key}`;
  }

  #mailboxKey(key: string, mailbox: Mailbox): string {
    return `${this.keyPrefix}${mailbox}:${key}`;
  }

  #allKeys(key: string): string[] {
    return [this.#recordKey(key), this.#mailboxKey(key, 'outgoing'), this.#mailboxKey(key, 'incoming'), this.#index];
  }

  #wakeChannel(key: string, mailbox: Mailbox): string {
    return `${this.keyPrefix}wake:${mailbox}:${key}`;
  }

  #topicChannel(topic: string): string {
    return `${this.keyPrefix}topic:${topic}`;
  }

  /** Marks this process alive for nodeTtl. */
  async #register(): Promise<void> {
    await this.#run(this.#client, 'register node', () => this.#client.set(this.#nodeKey, String(this.#now()), 'PX', this.nodeTtl), false);
    this.#registered = true;
  }

  /** Before its first operation a process must count as alive, or a peer could adopt its sessions. */
  async #ensureRegistered(): Promise<void> {
    if (this.#registered) return;
    this.#registration ??= this.#register();
    try {
      await this.#registration;
    } catch (error) {
      // Try again on the next operation.
      this.#registration = undefined;
      throw error;
    }
  }

  /**
   * Runs a script. Redis runs the commands of one connection in the order they were sent, and
   * the store relies on it (a push and the take sent after it must meet in that order). A
   * script first tried by SHA1 and re-sent whole on NOSCRIPT breaks that order: the re-sent
   * command runs after everything sent behind it meanwhile — a take overtook the first push of
   * a process and the pushed message waited for the next poll. So each script goes whole
   * (EVAL, which also caches it) the first time on a connection, and by SHA1 after; a new
   * connection (after a restart, say) starts over. NOSCRIPT can then only follow a SCRIPT FLUSH
   * on a live connection, and is still answered by sending the script whole.
   */
  async #eval(what: string, script: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    return this.#run(this.#client, what, async () => {
      if (!this.#scriptsSent.has(script)) {
        this.#scriptsSent.add(script);
        return this.#client.eval(script.source, keys.length, ...keys, ...args);
      }
      try {
        return await this.#client.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!messageOf(error).startsWith('NOSCRIPT')) throw error;
        this.#scriptsSent.clear();
        return this.#client.eval(script.source, keys.length, ...keys, ...args);
      }
    });
  }

  /**
   * Runs one operation: waits (bounded) for a lost connection, and turns every failure into a
   * RedisStoreError naming the operation.
   */
  async #run<T>(client: Redis, what: string, operation: () => Promise<T>, needsRegistration = true): Promise<T> {
    if (this.#closed) throw new RedisStoreError(`cannot ${what}: the store is closed`);
    if (needsRegistration && !this.#registered) await this.#ensureRegistered();
    if (client.status !== 'ready') await this.#waitReady(client, what);
    try {
      return await operation();
    } catch (error) {
      if (error instanceof RedisStoreError) throw error;
      throw new RedisStoreError(`${what} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  /**
   * Resolves when `client` is ready. A connection that was lost gets `commandTimeout` from the
   * moment it was lost to come back: a blip is ridden out, while during an outage every
   * operation fails at once instead of each waiting its own timeout.
   */
  #waitReady(client: Redis, what: string): Promise<void> {
    if (client.status === 'ready') return Promise.resolve();
    if (client.status === 'end' || this.#closed) {
      return Promise.reject(new RedisStoreError(`cannot ${what}: the connection is closed`));
    }
    const downFor = Date.now() - (this.#downSince.get(client) ?? Date.now());
    if (downFor >= this.commandTimeout) {
      return Promise.reject(new RedisStoreError(`cannot ${what}: Redis has been unreachable for ${downFor} ms (connection ${client.status})`));
    }
    let wait = this.#readyWaits.get(client);
    if (!wait) {
      wait = new Promise<void>((resolve, reject) => {
        const onReady = (): void => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          client.off('ready', onReady);
          reject(new RedisStoreError(`Redis is unreachable (connection ${client.status} for ${this.commandTimeout} ms)`));
        }, this.commandTimeout - downFor);
        timer.unref();
        client.once('ready', onReady);
      });
      const forget = (): void => {
        if (this.#readyWaits.get(client) === wait) this.#readyWaits.delete(client);
      };
      wait.then(forget, forget);
      this.#readyWaits.set(client, wait);
    }
    return wait.catch((error: unknown) => {
      throw error instanceof RedisStoreError ? new RedisStoreError(`cannot ${what}: ${error.message.replace(/^koa-sockjs: Redis store: /, '')}`, { cause: error }) : error;
    });
  }

  /** Adds a listener to a channel of the subscriber connection, subscribing on first use. */
  async #listen(channel: string, wake: boolean, listener: (payload: string) => void): Promise<Unsubscribe> {
    let subscription = this.#subscriptions.get(channel);
    if (!subscription) {
      const created: Subscription = { wake, listeners: new Set(), subscribed: Promise.resolve() };
      created.subscribed = this.#run(this.#sub, 'subscribe', async () => {
        await this.#sub.subscribe(channel);
      });
      created.subscribed.catch(() => {
        if (this.#subscriptions.get(channel) === created) this.#subscriptions.delete(channel);
      });
      this.#subscriptions.set(channel, created);
      subscription = created;
    }
    subscription.listeners.add(listener);
    try {
      await subscription.subscribed;
    } catch (error) {
      subscription.listeners.delete(listener);
      throw error;
    }
    const owned = subscription;
    let stopped = false;
    return async () => {
      if (stopped) return;
      stopped = true;
      owned.listeners.delete(listener);
      if (owned.listeners.size > 0 || this.#subscriptions.get(channel) !== owned) return;
      this.#subscriptions.delete(channel);
      if (this.#closed || this.#sub.status !== 'ready') return;
      try {
        await this.#sub.unsubscribe(channel);
      } catch (error) {
        log('unsubscribe %s failed: %O', channel, error);
      }
    };
  }

  #dispatch(channel: string, payload: string): void {
    const subscription = this.#subscriptions.get(channel);
    if (!subscription) return;
    for (const listener of [...subscription.listeners]) {
      try {
        listener(payload);
      } catch (error) {
        log('listener on %s threw: %O', channel, error);
      }
    }
  }

  /** After a reconnect: subscribe again, then wake every watcher, since pushes may be missed. */
  #subscriberReady(): void {
    if (!this.#subConnectedBefore) {
      this.#subConnectedBefore = true;
      return;
    }
    const channels = [...this.#subscriptions.keys()];
    if (channels.length === 0) return;
    log('subscriber reconnected: resubscribing %d channel(s)', channels.length);
    this.#sub.subscribe(...channels).then(
      () => {
        for (const [channel, subscription] of this.#subscriptions) if (subscription.wake) this.#dispatch(channel, '');
      },
      (error: unknown) => log('resubscribing failed: %O', error),
    );
  }
}
