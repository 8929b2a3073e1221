/**
 * RedisStore: the SessionStore for several processes (or machines) serving one SockJS route.
 * Imported from its own entry point, `koa-sockjs/redis`, so only apps that use Redis load a
 * Redis client. The client is ioredis (an optional peer dependency); see docs/scaling.md for why.
 *
 * This file is the store's public face and its operations. Beside it: keys.ts (what lives in
 * Redis, under which names), scripts.ts (the Lua scripts that make every multi-key change
 * atomic), record.ts (a record to and from its hash), connection.ts (failing fast while Redis
 * is unreachable) and pubsub.ts (the one subscriber connection for wake-ups and topics).
 */
import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { DEFAULTS } from '../../defaults.js';
import { SockjsOptionError } from '../../errors.js';
import { describeValue } from '../../util/describe-value.js';
import { MAX_DELAY_HINT, MAX_DELAY_MS } from '../../util/max-delay.js';
import { logger } from '../../log.js';
import { SessionState } from '../session-state.js';
import { keyLabel } from '../../util/key-label.js';
import { rejectUnknownKeys } from '../../util/option-keys.js';
import type { CreateResult, Mailbox, SessionRecord, SessionRecordPatch, SharedSessionStore, Unsubscribe } from '../store.js';
import { type Client, Connection, createClient, type Gate } from './connection.js';
import { RedisStoreError } from './error.js';
import { CLUSTER_SHARDS, RedisKeys, type SessionKeys } from './keys.js';
import { Subscriber, subscriberSource } from './pubsub.js';
import { pairsToObject, recordFields, toRecord } from './record.js';
import { BURY, CLAIM, CLAIM_TAKE, COUNT, CREATE, DELETE, PUSH, RELEASE, type Script, TAKE, TOUCH, UPDATE } from './scripts.js';

export { RedisStoreError } from './error.js';

const log = logger('redis');

/** The options of {@link RedisStore}: all optional. */
export interface RedisStoreOptions {
  /**
   * An ioredis client to use: a `Redis` (for one Redis, or a Sentinel-managed one: a client
   * made with `sentinels` and `name`) or a `Cluster` (Redis Cluster); see docs/scaling.md.
   * The store opens one more connection for pub/sub (a duplicate of a `Redis`; on a cluster,
   * a connection to one of its masters) and never closes the client: you own it. Give it
   * `enableOfflineQueue: false` and a `commandTimeout` if you want commands of your own to fail
   * fast too, and `enableAutoPipelining: true` to send the commands of one tick in one write,
   * as the store's own client does (it halves the syscalls per polling message). Every process
   * of one route must pass the same kind of client: a cluster spreads the keys differently.
   * Ignored fields: none; `url` must not be given with it.
   * @default a client the store creates from `url` (and closes in `close()`)
   */
  client?: Redis | Cluster | undefined;
  /** Redis URL, for a client the store creates (`redis://`, `rediss://`, with auth and db). @default 'redis://127.0.0.1:6379' */
  url?: string | undefined;
  /**
   * Prefix of every key and pub/sub channel. Give each route (and each app sharing a Redis)
   * its own; pub/sub is not separated by Redis database numbers, only by this prefix. On a
   * Redis Cluster it must not contain `{` or `}`: the store puts it in hash tags of its own.
   * @default 'koa-sockjs:'
   */
  keyPrefix?: string | undefined;
  /**
   * Milliseconds after its last sign of life that a process counts as dead, and its sessions
   * may be adopted by another process. The store refreshes its own mark every third of it.
   * Longer rides out longer Redis hiccups without adoption; shorter recovers sooner from a
   * crash.
   * @default 10_000
   */
  nodeTtl?: number | undefined;
  /**
   * Milliseconds any store operation may take, including waiting for a lost connection to
   * come back, before it fails with RedisStoreError.
   * @default 2_000
   */
  commandTimeout?: number | undefined;
  /** Clock for `seenAt`, claims and expiry, in epoch milliseconds. For tests. @default Date.now */
  now?: (() => number) | undefined;
}

/**
 * The defaults of {@link RedisStoreOptions} (koa-sockjs's `DEFAULTS.redisStore`): `url`
 * `'redis://127.0.0.1:6379'`, `keyPrefix` `'koa-sockjs:'`, `nodeTtl` 10 000 ms, `commandTimeout`
 * 2 000 ms.
 */
export const REDIS_STORE_DEFAULTS = DEFAULTS.redisStore;

const REDIS_STORE_OPTION_KEYS = { client: true, url: true, keyPrefix: true, nodeTtl: true, commandTimeout: true, now: true } as const satisfies Record<keyof RedisStoreOptions, true>;

function positive(option: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_DELAY_MS) {
    throw new SockjsOptionError(option, `must be a positive number of milliseconds and ${MAX_DELAY_HINT}, got ${describeValue(value)}`, 'RedisStore');
  }
  return value;
}

/**
 * A shared session store (`SharedSessionStore`) on Redis (6 or later, through ioredis), so
 * that any number of processes serve one application without sticky sessions: a poll or a
 * send may land on any of them (docs/scaling.md). Give every process of one route the same
 * `keyPrefix`. One Redis, a Sentinel-managed one (pass a `Redis` client made with
 * `sentinels`) and a Redis Cluster (pass a `Cluster`) are supported; docs/scaling.md says how,
 * and what is not.
 *
 * Operations fail with {@link RedisStoreError} (Koa answers 503) when Redis is unreachable for
 * longer than `commandTimeout`; `await store.ready()` at startup to fail early instead.
 *
 * @throws `SockjsOptionError` (exported by `koa-sockjs`) from the constructor for a wrong
 *   option (naming it), or for `client` and `url` given together.
 */
export class RedisStore implements SharedSessionStore {
  /** This store instance's id among the processes sharing the Redis: `redis-<uuid>`. */
  readonly nodeId = `redis-${randomUUID()}`;
  /** Prefix of every key and channel (the `keyPrefix` option). */
  readonly keyPrefix: string;
  /** Milliseconds without a sign of life before this process counts as dead (`nodeTtl`). */
  readonly nodeTtl: number;
  /** Milliseconds an operation may take (`commandTimeout`). */
  readonly commandTimeout: number;
  readonly #client: Client;
  readonly #ownsClient: boolean;
  /** The command connection: every operation but subscribing. */
  readonly #commands: Connection;
  /** The one connection in subscriber mode: wake-ups and topics. */
  readonly #subscriber: Subscriber;
  readonly #now: () => number;
  readonly #keys: RedisKeys;
  readonly #nodeKey: string;
  readonly #liveness: NodeJS.Timeout;
  /** The pending first registration of this node; operations wait for it. */
  #registration: Promise<void> | undefined;
  #registered = false;
  #closed = false;
  readonly #isClosed = (): boolean => this.#closed;
  /** Before its first operation a process must count as alive, or a peer could adopt its sessions. */
  readonly #registeredGate: Gate = () => (this.#registered ? undefined : this.#ensureRegistered());
  readonly #onClientReady = (): void => {
    // Redis came back, possibly empty (a restart without persistence): say we are alive at once,
    // before another process mistakes us for dead and adopts our sessions.
    if (this.#registered) void this.#register().catch((error: unknown) => log('re-registering %s failed: %O', this.nodeId, error));
  };

  constructor(options: RedisStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new SockjsOptionError('options', 'must be an object', 'RedisStore');
    rejectUnknownKeys(options, REDIS_STORE_OPTION_KEYS, 'new RedisStore()', { owner: 'RedisStore' });
    if (options.client !== undefined && options.url !== undefined) {
      throw new SockjsOptionError('client', 'cannot be combined with "url": pass one', 'RedisStore');
    }
    const keyPrefix = options.keyPrefix ?? REDIS_STORE_DEFAULTS.keyPrefix;
    if (typeof keyPrefix !== 'string') throw new SockjsOptionError('keyPrefix', `must be a string, got ${typeof keyPrefix}`, 'RedisStore');
    this.keyPrefix = keyPrefix;
    this.nodeTtl = positive('nodeTtl', options.nodeTtl ?? REDIS_STORE_DEFAULTS.nodeTtl);
    this.commandTimeout = positive('commandTimeout', options.commandTimeout ?? REDIS_STORE_DEFAULTS.commandTimeout);
    this.#now = options.now ?? Date.now;
    if (options.client !== undefined) {
      const client: unknown = options.client;
      if (!(client instanceof Redis) && !(client instanceof Cluster)) {
        throw new SockjsOptionError('client', 'must be an ioredis Redis or Cluster client', 'RedisStore');
      }
      this.#client = options.client;
      this.#ownsClient = false;
    } else {
      const url = options.url ?? REDIS_STORE_DEFAULTS.url;
      if (typeof url !== 'string' || url.length === 0) throw new SockjsOptionError('url', 'must be a non-empty Redis URL', 'RedisStore');
      this.#client = createClient(url, this.commandTimeout, log);
      this.#ownsClient = true;
    }
    const cluster = this.#client instanceof Cluster;
    // A hash tag in the prefix would override the store's own (keys.ts), and a cluster would
    // refuse the scripts of sessions whose keys then land in different slots.
    if (cluster && /[{}]/.test(keyPrefix)) {
      throw new SockjsOptionError('keyPrefix', `must not contain "{" or "}" on a Redis Cluster (the store adds its own hash tags), got ${JSON.stringify(keyPrefix)}`, 'RedisStore');
    }
    this.#keys = new RedisKeys(keyPrefix, cluster ? CLUSTER_SHARDS : 1);
    this.#nodeKey = this.#keys.node(this.nodeId);
    this.#commands = new Connection(this.#client, this.commandTimeout, this.#isClosed);
    this.#client.on('ready', this.#onClientReady);
    this.#subscriber = new Subscriber(subscriberSource(this.#client, this.commandTimeout), this.commandTimeout, this.#isClosed, this.#registeredGate, log);
    // On one Redis the subscriber connects at once; on a cluster once its masters are known.
    if (!cluster) this.#subscriber.connection();

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
    await this.#subscriber.waitReady('connect the subscriber');
  }

  async create(key: string, record: SessionRecord, ttlMs: number): Promise<CreateResult> {
    const now = this.#now();
    const keys = this.#keys.session(key);
    const result = await this.#eval('create', CREATE, keys, [keys.record, keys.index], [ttlMs, now, now + ttlMs, key, ...recordFields(record, ttlMs, now)]);
    if (result === 1) return { record: { ...record }, created: true };
    const existing = toRecord(pairsToObject(result as string[]), now);
    if (!existing) throw new RedisStoreError(`create of ${keyLabel(key)} found a record without an id`);
    return { record: existing, created: false };
  }

  async get(key: string): Promise<SessionRecord | undefined> {
    const fields = await this.#run('get', () => this.#client.hgetall(this.#keys.session(key).record));
    return toRecord(fields, this.#now());
  }

  async update(key: string, patch: SessionRecordPatch, expectedOwner?: string): Promise<boolean> {
    // Compare-and-set when an owner is expected: checked and written in one script.
    const fields: (string | number)[] = expectedOwner === undefined ? ['0', ''] : ['1', expectedOwner];
    for (const field of ['state', 'closeCode', 'closeReason', 'owner'] as const) {
      const value = patch[field];
      if (value !== undefined) fields.push(field, value);
    }
    const keys = this.#keys.session(key);
    return (await this.#eval('update', UPDATE, keys, [keys.record], fields)) === 1;
  }

  async isAlive(nodeId: string): Promise<boolean> {
    if (nodeId === this.nodeId) return true;
    const found = await this.#run('isAlive', () => this.#client.exists(this.#keys.node(nodeId)));
    return found === 1;
  }

  async touch(key: string, ttlMs: number): Promise<void> {
    const now = this.#now();
    await this.#evalAll('touch', TOUCH, key, [ttlMs, now, now + ttlMs, key]);
  }

  async delete(key: string): Promise<void> {
    await this.#evalAll('delete', DELETE, key, [key]);
  }

  async push(key: string, mailbox: Mailbox, messages: readonly string[]): Promise<void> {
    if (messages.length === 0) return;
    const keys = this.#keys.session(key);
    await this.#eval('push', PUSH, keys, [keys.record, keys[mailbox]], [this.#keys.wakeChannel(key, mailbox), ...messages]);
  }

  async take(key: string, mailbox: Mailbox): Promise<string[]> {
    const keys = this.#keys.session(key);
    return (await this.#eval('take', TAKE, keys, [keys[mailbox]], [])) as string[];
  }

  async watch(key: string, mailbox: Mailbox, listener: () => void): Promise<Unsubscribe> {
    return this.#subscriber.listen(this.#keys.wakeChannel(key, mailbox), true, () => listener());
  }

  async claimReceiver(key: string, token: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    return (await this.#evalAll('claimReceiver', CLAIM, key, [token, now, now + ttlMs, key])) === 1;
  }

  /** `claimReceiver` and, when granted, `take(key, 'outgoing')`: one script, one round trip. */
  async claimAndTake(key: string, token: string, ttlMs: number): Promise<string[] | null> {
    const now = this.#now();
    return (await this.#evalAll('claimAndTake', CLAIM_TAKE, key, [token, now, now + ttlMs, key])) as string[] | null;
  }

  async bury(key: string, closeCode: number, closeReason: string, ttlMs: number): Promise<void> {
    await this.#evalAll('bury', BURY, key, [closeCode, closeReason, ttlMs, key, SessionState.CLOSED]);
  }

  async releaseReceiver(key: string, token: string): Promise<void> {
    await this.#evalAll('releaseReceiver', RELEASE, key, [token, this.#now(), key]);
  }

  async publish(topic: string, payload: string): Promise<void> {
    await this.#run('publish', () => this.#publisher().publish(this.#keys.topicChannel(topic), payload));
  }

  /**
   * Where this process publishes: its client, or on a cluster always the same master. ioredis
   * sends a command without keys (PUBLISH) to a random node, and two masters forward over the
   * cluster bus independently, so a subscriber got some of one process's messages out of order
   * (and rooms, which deliver a message sent to several rooms once by its sender's sequence
   * number, dropped the ones that came after a later one). One master forwards in the order it
   * got them. The first by address, so the choice holds while the cluster's masters do.
   */
  #publisher(): Redis | Cluster {
    const client = this.#client;
    if (!(client instanceof Cluster)) return client;
    let chosen: Redis | undefined;
    let chosenAddress = '';
    for (const master of client.nodes('master')) {
      const address = `${master.options.host ?? ''}:${master.options.port ?? ''}`;
      if (chosen === undefined || address < chosenAddress) {
        chosen = master;
        chosenAddress = address;
      }
    }
    return chosen ?? client;
  }

  async subscribe(topic: string, listener: (payload: string) => void): Promise<Unsubscribe> {
    return this.#subscriber.listen(this.#keys.topicChannel(topic), false, listener);
  }

  /** Live sessions of every process; on a cluster, the sum over its shards' indexes (keys.ts). */
  async count(): Promise<number> {
    const now = this.#now();
    const counts = await Promise.all(this.#keys.indexes().map(({ index, shard }) => this.#eval('count', COUNT, { shard }, [index], [now])));
    return counts.reduce<number>((sum, count) => sum + Number(count), 0);
  }

  /** Deregisters this process, stops its timer, and closes the connections the store opened. */
  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#liveness);
    // The client may be the application's: leave no listener of ours on it.
    this.#client.off('ready', this.#onClientReady);
    this.#commands.detach();
    if (this.#client.status === 'ready') {
      // A clean shutdown: other processes may adopt our sessions at once.
      try {
        await this.#client.del(this.#nodeKey);
      } catch (error) {
        log('deregistering %s failed: %O', this.nodeId, error);
      }
    }
    this.#closed = true;
    this.#subscriber.close();
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

  /** Marks this process alive for nodeTtl. */
  async #register(): Promise<void> {
    await this.#commands.run('register node', () => this.#client.set(this.#nodeKey, String(this.#now()), 'PX', this.nodeTtl));
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

  /** Runs one command operation once this process is registered; see {@link Connection.run}. */
  #run<T>(what: string, operation: () => Promise<T>): Promise<T> {
    return this.#commands.run(what, operation, this.#registeredGate);
  }

  /** Runs a script on keys of one shard once this process is registered; see {@link Connection.eval}. */
  #eval(what: string, script: Script, shard: Pick<SessionKeys, 'shard'>, keys: string[], args: (string | number)[]): Promise<unknown> {
    return this.#commands.eval(what, script, keys, args, shard.shard, this.#registeredGate);
  }

  /** Runs a script on every key of a session: record, outgoing, incoming, its shard's index. */
  #evalAll(what: string, script: Script, key: string, args: (string | number)[]): Promise<unknown> {
    const keys = this.#keys.session(key);
    return this.#eval(what, script, keys, [keys.record, keys.outgoing, keys.incoming, keys.index], args);
  }
}
