/**
 * One Redis connection as RedisStore uses it.
 *
 * Failing fast: a command issued while Redis is unreachable waits at most `commandTimeout`
 * for the connection to come back, then rejects with RedisStoreError (HTTP status 503), so a
 * request never hangs on a queue that grows while Redis is down.
 */
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { RedisStoreError, messageOf } from './error.js';
import type { Script } from './scripts.js';

/**
 * Client options for failing fast. Commands never wait in ioredis's offline queue (which grows
 * without bound while Redis is down): {@link Connection.run} waits, bounded, for the
 * connection instead.
 */
export function failFastOptions(commandTimeout: number): Partial<RedisOptions> {
  return {
    enableOfflineQueue: false,
    commandTimeout,
    connectTimeout: commandTimeout,
    maxRetriesPerRequest: 0,
    // Keep reconnecting (quickly at first) for as long as the store is open.
    retryStrategy: (times) => Math.min(50 * times, 1000),
  };
}

/** The client a store makes for itself from a URL (and closes in `close()`). */
export function createClient(url: string, commandTimeout: number, log: (format: string, ...args: unknown[]) => void): Redis {
  // Commands issued in the same tick (a poll's claim and take, many sessions' at once) leave
  // in one write: a syscall each was the largest cost of a message on this store.
  const client = new Redis(url, { ...failFastOptions(commandTimeout), enableAutoPipelining: true });
  client.on('error', (error: unknown) => log('redis client: %s', messageOf(error)));
  return client;
}

/** A client the store can run commands on: one Redis (maybe found through Sentinel), or a Redis Cluster. */
export type Client = Redis | Cluster;

/**
 * Something to wait for before an operation (registering the process, say), or undefined when
 * there is nothing to wait for: then no extra turn of the event loop is taken, so operations
 * keep the order they were issued in.
 */
export type Gate = () => Promise<void> | undefined;

/**
 * The most listeners one store adds to its client for one event: 'ready' for this connection,
 * for a pending {@link Connection.waitReady}, and for the store's re-registration.
 */
const LISTENERS_PER_EVENT = 3;

/**
 * An ioredis client with bounded waits for a lost connection, failures turned into
 * RedisStoreError naming the operation, and scripts sent by SHA1 once sent whole.
 */
export class Connection {
  /**
   * Scripts sent whole on this connection since it (re)connected, by shard and SHA1; see
   * {@link eval}. On a cluster each shard's slot is on one master, whose cache is its own.
   */
  readonly #scriptsSent = new Set<string>();
  /** One wait for a lost connection to come back, shared by every operation. */
  #readyWait: Promise<void> | undefined;
  /** Since when this connection has been down (epoch ms), while it is. */
  #downSince: number | undefined;
  readonly #onClose = (): void => {
    if (this.client.status !== 'ready' && this.#downSince === undefined) this.#downSince = Date.now();
  };
  readonly #onReady = (): void => {
    // A new connection, maybe to a Redis that restarted empty: scripts go whole again. This is
    // the first 'ready' listener, so it runs before any operation waiting for it sends a command.
    this.#scriptsSent.clear();
    this.#downSince = undefined;
  };
  /** A cluster node came or went: slots may have moved to a master that lacks the scripts. */
  readonly #onTopology = (): void => this.#scriptsSent.clear();

  constructor(
    readonly client: Client,
    /** Milliseconds an operation may take, waiting for a lost connection included. */
    readonly commandTimeout: number,
    /** True once the store is closed: operations fail at once. */
    readonly isClosed: () => boolean,
  ) {
    client.on('ready', this.#onReady);
    client.on('close', this.#onClose);
    client.on('+node', this.#onTopology);
    client.on('-node', this.#onTopology);
    // The application may share one client among the stores of several routes: raise its
    // listener limit by what each store adds, so Node's leak warning keeps its meaning.
    const max = client.getMaxListeners();
    if (max !== 0) client.setMaxListeners(max + LISTENERS_PER_EVENT);
  }

  /** Removes this connection's listeners from the client (which may be the application's). */
  detach(): void {
    this.client.off('ready', this.#onReady);
    this.client.off('close', this.#onClose);
    this.client.off('+node', this.#onTopology);
    this.client.off('-node', this.#onTopology);
    const max = this.client.getMaxListeners();
    if (max !== 0) this.client.setMaxListeners(Math.max(1, max - LISTENERS_PER_EVENT));
  }

  /**
   * Runs one operation: waits for `gate` if it gives something to wait for, waits (bounded)
   * for a lost connection, and turns every failure into a RedisStoreError naming the operation.
   */
  async run<T>(what: string, operation: () => Promise<T>, gate?: Gate): Promise<T> {
    if (this.isClosed()) throw new RedisStoreError(`cannot ${what}: the store is closed`);
    const before = gate?.();
    if (before) await before;
    if (this.client.status !== 'ready') await this.waitReady(what);
    try {
      return await operation();
    } catch (error) {
      if (error instanceof RedisStoreError) throw error;
      throw new RedisStoreError(`${what} failed: ${messageOf(error)}`, { cause: error });
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
   *
   * On a cluster, `shard` names the hash slot the keys are in (see keys.ts): the script goes
   * whole the first time for each, since each master has its own cache; a node joining or
   * leaving (slots may move) starts over too.
   */
  eval(what: string, script: Script, keys: string[], args: (string | number)[], shard: string, gate?: Gate): Promise<unknown> {
    const sent = `${shard}\0${script.sha}`;
    return this.run(
      what,
      async () => {
        if (!this.#scriptsSent.has(sent)) {
          this.#scriptsSent.add(sent);
          return this.client.eval(script.source, keys.length, ...keys, ...args);
        }
        try {
          return await this.client.evalsha(script.sha, keys.length, ...keys, ...args);
        } catch (error) {
          if (!messageOf(error).startsWith('NOSCRIPT')) throw error;
          this.#scriptsSent.clear();
          return this.client.eval(script.source, keys.length, ...keys, ...args);
        }
      },
      gate,
    );
  }

  /**
   * Resolves when the client is ready. A connection that was lost gets `commandTimeout` from
   * the moment it was lost to come back: a blip is ridden out, while during an outage every
   * operation fails at once instead of each waiting its own timeout.
   */
  waitReady(what: string): Promise<void> {
    const client = this.client;
    if (client.status === 'ready') return Promise.resolve();
    if (client.status === 'end' || this.isClosed()) {
      return Promise.reject(new RedisStoreError(`cannot ${what}: the connection is closed`));
    }
    const downFor = Date.now() - (this.#downSince ?? Date.now());
    if (downFor >= this.commandTimeout) {
      return Promise.reject(new RedisStoreError(`cannot ${what}: Redis has been unreachable for ${downFor} ms (connection ${client.status})`));
    }
    let wait = this.#readyWait;
    if (!wait) {
      const created = new Promise<void>((resolve, reject) => {
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
        if (this.#readyWait === created) this.#readyWait = undefined;
      };
      created.then(forget, forget);
      this.#readyWait = created;
      wait = created;
    }
    return wait.catch((error: unknown) => {
      throw error instanceof RedisStoreError ? new RedisStoreError(`cannot ${what}: ${error.message.replace(/^koa-sockjs: Redis store: /, '')}`, { cause: error }) : error;
    });
  }
}
