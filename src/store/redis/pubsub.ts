/**
 * RedisStore's subscriber side: wake-ups and topics share ONE subscriber connection per store,
 * however many sessions it watches. Publishing goes over the store's command connection.
 */
import type { Redis } from 'ioredis';
import type { Unsubscribe } from '../store.js';
import { Connection, failFastOptions, type Gate } from './connection.js';
import { messageOf } from './error.js';

/** One pub/sub channel of the subscriber connection, shared by all its listeners. */
interface Subscription {
  /** Wake-ups may be repeated after a reconnect (spuriously, as the contract allows); topics not. */
  readonly wake: boolean;
  readonly listeners: Set<(payload: string) => void>;
  subscribed: Promise<void>;
}

/** The subscriber connection of one store and the listeners of its channels. */
export class Subscriber {
  /** The connection in subscriber mode. */
  readonly connection: Connection;
  readonly #sub: Redis;
  readonly #subscriptions = new Map<string, Subscription>();
  #connectedBefore = false;

  constructor(
    /** The store's command client, duplicated for the subscriber connection. */
    client: Redis,
    commandTimeout: number,
    readonly isClosed: () => boolean,
    /** Waited for before subscribing (the store's registration). */
    readonly gate: Gate,
    readonly log: (format: string, ...args: unknown[]) => void,
  ) {
    // The store resubscribes itself after a reconnect, then wakes every watcher (a push may
    // have come while the subscription was down).
    this.#sub = client.duplicate({ ...failFastOptions(commandTimeout), enableAutoPipelining: false, autoResubscribe: false, lazyConnect: false });
    this.connection = new Connection(this.#sub, commandTimeout, isClosed);
    this.#sub.on('error', (error: unknown) => this.log('redis subscriber: %s', messageOf(error)));
    this.#sub.on('message', (channel: string, payload: string) => this.#dispatch(channel, payload));
    this.#sub.on('ready', () => this.#ready());
  }

  /** Adds a listener to a channel of the subscriber connection, subscribing on first use. */
  async listen(channel: string, wake: boolean, listener: (payload: string) => void): Promise<Unsubscribe> {
    let subscription = this.#subscriptions.get(channel);
    if (!subscription) {
      const created: Subscription = { wake, listeners: new Set(), subscribed: Promise.resolve() };
      created.subscribed = this.connection.run(
        'subscribe',
        async () => {
          await this.#sub.subscribe(channel);
        },
        this.gate,
      );
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
      if (this.isClosed() || this.#sub.status !== 'ready') return;
      try {
        await this.#sub.unsubscribe(channel);
      } catch (error) {
        this.log('unsubscribe %s failed: %O', channel, error);
      }
    };
  }

  /** Drops every listener and disconnects (the store is closing). */
  close(): void {
    this.#subscriptions.clear();
    this.#sub.disconnect();
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
  #ready(): void {
    if (!this.#connectedBefore) {
      this.#connectedBefore = true;
      return;
    }
    const channels = [...this.#subscriptions.keys()];
    if (channels.length === 0) return;
    this.log('subscriber reconnected: resubscribing %d channel(s)', channels.length);
    this.#sub.subscribe(...channels).then(
      () => {
        for (const [channel, subscription] of this.#subscriptions) if (subscription.wake) this.#dispatch(channel, '');
      },
      (error: unknown) => this.log('resubscribing failed: %O', error),
    );
  }
}
