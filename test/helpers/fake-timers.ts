/** A manual clock implementing koa-sockjs's Timers, so tests of timeouts never sleep. */
import type { TimerHandle, Timers } from '../../src/timers.js';

interface Pending {
  id: number;
  at: number;
  callback: () => void;
}

export class FakeTimers implements Timers {
  #now = 1_700_000_000_000;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#pending.set(id, { id, at: this.#now + ms, callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#pending.delete(handle as number);
  }

  now(): number {
    return this.#now;
  }

  /** Timers still waiting. */
  get size(): number {
    return this.#pending.size;
  }

  /** Moves time forward, firing due timers in order (including ones they schedule). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const pending of this.#pending.values()) if (pending.at <= target && (!next || pending.at < next.at)) next = pending;
      if (!next) break;
      this.#pending.delete(next.id);
      this.#now = next.at;
      next.callback();
    }
    this.#now = target;
  }
}
