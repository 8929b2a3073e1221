/**
 * Answered responses whose client has not read them yet, held in this process, by session key
 * (issue 9, fault 3: a client that polls again without reading what it got).
 *
 * A response (a poll's answer, or a stream ended at its limit) keeps its session's receiver
 * claim until its bytes have left the process (Node's 'finish'; for the usual small answer, at
 * once), or its connection closed: no other
 * receiving request, in this process or in another sharing the store, can take the session's
 * messages meanwhile, so a client that asks again without reading cannot pile up answered
 * responses anywhere, whichever process each request lands on. A new receiving request for the
 * session that finds it still unread one turn of the event loop later (enough for the writes
 * the kernel took meanwhile to complete, see `polled`) marks a stalled reader: the claim is
 * released, the response dropped, and the session closes with 1013 ("a new poll while the
 * previous response is unread counts as a stalled reader").
 *
 * Every kind of receiver goes through here: a session's own (SessionChannel) and one served
 * for a session of another process (RemoteReceiver).
 */
import type { Receiver } from './receiver.js';

interface Held {
  readonly receiver: Receiver;
  readonly release: () => void;
  readonly stalled: () => void;
}

export class UnreadResponses {
  readonly #held = new Map<string, Held>();

  /**
   * True when `receiver`, which has ended (or is about to), has not yet handed everything to
   * its client's connection: it must then keep its claim (see `hold`). Not only its backlog:
   * an answer made while the route still runs is the response's body, not written yet.
   * Receivers that do not end before their session (websockets) never are.
   */
  static unread(receiver: Receiver): boolean {
    return receiver.flushed === false;
  }

  /**
   * Keeps the session's claim until `receiver`'s bytes have left (or its connection closed):
   * then `release` runs. `stalled` runs instead if a new receiving request comes first (see
   * `polled`), after the claim was released and the response dropped.
   */
  hold(key: string, receiver: Receiver, release: () => void, stalled: () => void): void {
    const held: Held = { receiver, release, stalled };
    // A session has one claim, so one held response; a new one can only come after it let go.
    this.#held.get(key)?.release();
    this.#held.set(key, held);
    receiver.onceFlushed(() => {
      if (this.#held.get(key) !== held) return;
      this.#held.delete(key);
      release();
    });
  }

  /** Whether this process holds an unread response of the session under `key`. */
  has(key: string): boolean {
    return this.#held.has(key);
  }

  /**
   * A new receiving request for the session under `key`, here or (told by its claim, which
   * failed) in another process. Undefined when nothing is held; otherwise a promise that settles
   * once the held response was looked at again, after this turn of the event loop: read by then,
   * it let go of the claim; still unread, the client asked again without reading, and the
   * reader is stalled: the claim is released first, so the new request can claim and get the
   * close frame.
   */
  polled(key: string): Promise<void> | undefined {
    const held = this.#held.get(key);
    if (!held) return undefined;
    return new Promise((resolve) =>
      setImmediate(() => {
        if (this.#held.get(key) === held && held.receiver.flushed === false) {
          this.#held.delete(key);
          held.release();
          // Whatever the response still holds would stay in memory as long as its connection.
          held.receiver.destroy?.();
          held.stalled();
        }
        resolve();
      }),
    );
  }

  /** The route shuts down: every held claim is released (the connections go their way). */
  releaseAll(): void {
    const held = [...this.#held.values()];
    this.#held.clear();
    for (const { release } of held) release();
  }
}
