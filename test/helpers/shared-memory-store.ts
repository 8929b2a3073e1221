/**
 * A MemoryStore that declares itself shared (a SharedSessionStore without `watch`), with
 * in-process publish/subscribe: what tests use to play "another process sharing the store"
 * (they publish on it what a peer would) and to watch the route's subscriptions. The route
 * wakes its watchers over publish/subscribe, as for any shared store without `watch`.
 */
import { randomUUID } from 'node:crypto';
import { MemoryStore, type Mailbox, type MemoryStoreOptions, type SharedSessionStore, type Unsubscribe } from '../../src/index.js';

export class SharedMemoryStore extends MemoryStore implements SharedSessionStore {
  readonly nodeId = `shared-memory-${randomUUID()}`;
  readonly #topics = new Map<string, Set<(payload: string) => void>>();

  constructor(options: MemoryStoreOptions = {}) {
    super(options);
  }

  isAlive(nodeId: string): boolean {
    return nodeId === this.nodeId;
  }

  publish(topic: string, payload: string): void {
    for (const listener of [...(this.#topics.get(topic) ?? [])]) listener(payload);
  }

  subscribe(topic: string, listener: (payload: string) => void): Unsubscribe {
    return listen(this.#topics, topic, listener);
  }

  override close(): void {
    this.#topics.clear();
    super.close();
  }
}

/**
 * A SharedMemoryStore with a native `watch`, as RedisStore has: a push wakes the watchers of
 * its mailbox whoever made it, so a test can play another process pushing straight into the
 * store.
 */
export class WatchingMemoryStore extends SharedMemoryStore {
  readonly #watchers = new Map<string, Set<() => void>>();

  override push(key: string, mailbox: Mailbox, messages: readonly string[]): void {
    super.push(key, mailbox, messages);
    if (messages.length) for (const watcher of [...(this.#watchers.get(`${mailbox}\n${key}`) ?? [])]) watcher();
  }

  watch(key: string, mailbox: Mailbox, listener: () => void): Unsubscribe {
    return listen(this.#watchers, `${mailbox}\n${key}`, listener);
  }
}

/** Adds `listener` to the set under `name` in `sets`; the answer removes it (and an emptied set). */
function listen<L>(sets: Map<string, Set<L>>, name: string, listener: L): Unsubscribe {
  let listeners = sets.get(name);
  if (!listeners) sets.set(name, (listeners = new Set()));
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) sets.delete(name);
  };
}
