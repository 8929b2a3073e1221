/**
 * RedisStore's subscriber side: wake-ups and topics share ONE subscriber connection per store,
 * however many sessions it watches. Publishing goes over the store's command connection.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Unsubscribe } from '../store.js';
import { type Client, Connection, failFastOptions, type Gate } from './connection.js';
import { RedisStoreError, messageOf } from './error.js';

/** Milliseconds before trying again to open a subscriber connection when none could be opened. */
const REOPEN_DELAY = 500;

/** One pub/sub channel of the subscriber connection, shared by all its listeners. */
interface Subscription {
  /** Wake-ups may be repeated after a reconnect (spuriously, as the contract allows); topics not. */
  readonly wake: boolean;
  readonly listeners: Set<(payload: string) => void>;
  subscribed: Promise<void>;
}

/** Opens a new connection for subscriber mode (see {@link subscriberSource}). */
export type OpenSubscriber = () => Redis;

/**
 * Where the subscriber connection comes from. On one Redis: a duplicate of the store's client
 * (through Sentinel if that client uses it), reconnecting to it for as long as the store is
 * open. On a cluster, classic pub/sub reaches every node (the cluster bus carries PUBLISH to
 * all of them), so the subscriber is a plain connection to one master; when that connection
 * ends (its node is gone, a few attempts failed), the next master is tried. The store then
 * resubscribes and wakes every watcher itself, as after any reconnect: ioredis's own cluster
 * subscriber also moves between nodes, but silently, and a push missed meanwhile would wait.
 */
export function subscriberSource(client: Client, commandTimeout: number): OpenSubscriber {
  const options: Partial<RedisOptions> = { ...failFastOptions(commandTimeout), enableAutoPipelining: false, autoResubscribe: false, lazyConnect: false };
  if (client instanceof Redis) return () => client.duplicate(options);
  let next = 0;
  return () => {
    const masters = client.nodes('master');
    const node = masters[next++ % Math.max(1, masters.length)];
    if (!node) throw new RedisStoreError('no master of the cluster is known yet');
    return new Redis({ ...node.options, ...options, readOnly: false, retryStrategy: (times) => (times > 3 ? null : 50 * times) });
  };
}

/** The subscriber connection of one store and the listeners of its channels. */
export class Subscriber {
  #sub: Redis | undefined;
  #connection: Connection | undefined;
  readonly #subscriptions = new Map<string, Subscription>();
  #connectedBefore = false;
  /** The pending retry of {@link reopen}, if any. */
  #retry: NodeJS.Timeout | undefined;

  constructor(
    readonly open: OpenSubscriber,
    readonly commandTimeout: number,
    readonly isClosed: () => boolean,
    /** Waited for before subscribing (the store's registration). */
    readonly gate: Gate,
    readonly log: (format: string, ...args: unknown[]) => void,
  ) {}

  /**
   * The connection in subscriber mode, opened on first use. On one Redis the store opens it at
   * once; on a cluster once the cluster is ready, when its masters are known.
   */
  connection(): Connection {
    if (this.#connection) return this.#connection;
    if (this.isClosed()) throw new RedisStoreError('cannot connect the subscriber: the store is closed');
    // The store resubscribes itself after a reconnect, then wakes every watcher (a push may
    // have come while the subscription was down).
    const sub = this.open();
    this.#sub = sub;
    this.#connection = new Connection(sub, this.commandTimeout, this.isClosed);
    sub.on('error', (error: unknown) => this.log('redis subscriber: %s', messageOf(error)));
    sub.on('message', (channel: string, payload: string) => this.#dispatch(channel, payload));
    sub.on('ready', () => this.#ready(sub));
    // Ends only when it gave up reconnecting (a cluster node gone): the next node takes over.
    sub.once('end', () => {
      if (this.#sub !== sub || this.isClosed()) return;
      this.log('subscriber connection ended: opening another');
      this.#connection?.detach();
      this.#sub = undefined;
      this.#connection = undefined;
      this.#reopen();
    });
    return this.#connection;
  }

  /**
   * Opens the next subscriber connection; its first 'ready' resubscribes every channel. When
   * none can be opened (the cluster knows no master while it reconnects), tries again shortly,
   * so the subscriptions come back without waiting for a new one.
   */
  #reopen(): void {
    if (this.isClosed()) return;
    try {
      this.connection();
    } catch (error) {
      this.log('reopening the subscriber failed: %O', error);
      this.#retry = setTimeout(() => this.#reopen(), REOPEN_DELAY);
      this.#retry.unref();
    }
  }

  /** Resolves when the subscriber connection is ready; see {@link Connection.waitReady}. */
  async waitReady(what: string): Promise<void> {
    await this.connection().waitReady(what);
  }

  /** Adds a listener to a channel of the subscriber connection, subscribing on first use. */
  async listen(channel: string, wake: boolean, listener: (payload: string) => void): Promise<Unsubscribe> {
    let subscription = this.#subscriptions.get(channel);
    if (!subscription) {
      const created: Subscription = { wake, listeners: new Set(), subscribed: Promise.resolve() };
      created.subscribed = (async () => {
        if (this.isClosed()) throw new RedisStoreError('cannot subscribe: the store is closed');
        const gate = this.gate();
        if (gate) await gate;
        const connection = this.connection();
        await connection.run('subscribe', async () => {
          await (connection.client as Redis).subscribe(channel);
        });
      })();
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
      const sub = this.#sub;
      if (this.isClosed() || sub?.status !== 'ready') return;
      try {
        await sub.unsubscribe(channel);
      } catch (error) {
        this.log('unsubscribe %s failed: %O', channel, error);
      }
    };
  }

  /** Drops every listener and disconnects (the store is closing). */
  close(): void {
    clearTimeout(this.#retry);
    this.#subscriptions.clear();
    this.#sub?.disconnect();
  }

  #dispatch(channel: string, payload: string): void {
    const subscription = this.#subscriptions.get(channel);
    if (!subscription) return;
    for (const listener of [...subscription.listeners]) {
      try {
        listener(payload);
      } catch (error) {
        this.log('listener on %s threw: %O', channel, error);
      }
    }
  }

  /** After a reconnect: subscribe again, then wake every watcher, since pushes may be missed. */
  #ready(sub: Redis): void {
    if (sub !== this.#sub) return;
    if (!this.#connectedBefore) {
      this.#connectedBefore = true;
      return;
    }
    const channels = [...this.#subscriptions.keys()];
    if (channels.length === 0) return;
    this.log('subscriber reconnected: resubscribing %d channel(s)', channels.length);
    sub.subscribe(...channels).then(
      () => {
        for (const [channel, subscription] of this.#subscriptions) if (subscription.wake) this.#dispatch(channel, '');
      },
      (error: unknown) => this.log('resubscribing failed: %O', error),
    );
  }
}
