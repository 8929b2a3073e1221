/**
 * The heartbeats of a route's connected sessions, on one timer (issue 17, idle memory and
 * connection setup). Every session of a route waits the same delay between heartbeats, so the
 * order in which they are armed is the order in which they fall due: a queue in arming order,
 * with one timer for its head, does what a timer per session did. A session keeps one slot in
 * it for its life instead of a Node Timeout, a callback and its scope per heartbeat (about
 * 270 bytes per idle websocket session).
 *
 * Timings are those of a timer per session: a slot falls due `delay` ms after it was armed, on
 * the route's clock (`timers`), and slots due at the same moment fire in the order they were
 * armed. With the system clock (`Date.now`), a clock set back by N ms delays the heartbeats
 * armed before the change by up to N ms.
 */
import type { TimerHandle, Timers } from '../timers.js';

/** What a slot's owner does when its heartbeat falls due (SessionChannel). */
export interface HeartbeatOwner {
  heartbeatDue(): void;
}

/** One session's place in the queue: made once, re-armed for every heartbeat. */
export class HeartbeatSlot {
  /** When it falls due, on the queue's clock; meaningful while queued. */
  due = 0;
  queued = false;
  prev: HeartbeatSlot | undefined;
  next: HeartbeatSlot | undefined;

  constructor(readonly owner: HeartbeatOwner) {}
}

export class HeartbeatQueue {
  #head: HeartbeatSlot | undefined;
  #tail: HeartbeatSlot | undefined;
  /** The timer for the head (or for an earlier head since disarmed: it then finds nothing due). */
  #timer: TimerHandle | undefined;
  /** Heartbeats are being run: the timer is set for the new head once they are done. */
  #firing = false;
  readonly #fire = (): void => this.#fired();

  /**
   * @param timers the route's clock
   * @param delay milliseconds from arming a slot to its heartbeat; more than 0
   */
  constructor(
    readonly timers: Timers,
    readonly delay: number,
  ) {}

  /** Queues `slot` to fall due `delay` ms from now (taken out first if queued already). */
  arm(slot: HeartbeatSlot): void {
    if (slot.queued) this.disarm(slot);
    slot.due = this.timers.now() + this.delay;
    slot.queued = true;
    slot.prev = this.#tail;
    slot.next = undefined;
    if (this.#tail) this.#tail.next = slot;
    else this.#head = slot;
    this.#tail = slot;
    if (this.#timer === undefined && !this.#firing) this.#schedule(this.#head!);
  }

  /** Takes `slot` out of the queue, if it is in it. An empty queue keeps no timer. */
  disarm(slot: HeartbeatSlot): void {
    if (!slot.queued) return;
    slot.queued = false;
    const { prev, next } = slot;
    if (prev) prev.next = next;
    else this.#head = next;
    if (next) next.prev = prev;
    else this.#tail = prev;
    slot.prev = undefined;
    slot.next = undefined;
    if (this.#head === undefined && this.#timer !== undefined) {
      this.timers.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #schedule(head: HeartbeatSlot): void {
    this.#timer = this.timers.setTimeout(this.#fire, Math.max(0, head.due - this.timers.now()));
  }

  #fired(): void {
    this.#timer = undefined;
    const now = this.timers.now();
    this.#firing = true;
    try {
      // A heartbeat re-arms its slot `delay` ms after now: at the tail, not due in this loop.
      for (let slot = this.#head; slot && slot.due <= now; slot = this.#head) {
        this.disarm(slot);
        slot.owner.heartbeatDue();
      }
    } finally {
      this.#firing = false;
      if (this.#head && this.#timer === undefined) this.#schedule(this.#head);
    }
  }
}
