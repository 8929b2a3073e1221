/**
 * A send (xhr_send, jsonp_send) is answered only once its messages are in line behind what the
 * client sent earlier through other processes: the take of the store's incoming mailbox has
 * answered. Answered sooner, the client sends its next batch, maybe through another process,
 * whose push can reach a networked store before that take (commands on two connections have no
 * order), and the later messages were delivered first: the 120 s Redis soak saw an htmlfile
 * session's echoes arrive as 1..9, 0.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Mailbox } from '../../src/store/store.js';
import { FakeReceiver } from '../helpers/fake-receiver.js';
import { Harness, overriding, settle } from '../helpers/session-harness.js';

/** Takes of the incoming mailbox wait while held, until `open()`, as a networked store's answer does. */
class IncomingTakes {
  held = false;
  readonly #waiting: Array<() => void> = [];

  get pending(): number {
    return this.#waiting.length;
  }

  harness(): Harness {
    return new Harness({
      wrapStore: (store) =>
        overriding(store, {
          take: (take, key: string, mailbox: Mailbox) => {
            if (!this.held || mailbox !== 'incoming') return take(key, mailbox);
            return new Promise<string[]>((resolve) => this.#waiting.push(() => resolve(take(key, mailbox))));
          },
        }),
    });
  }

  open(): void {
    this.held = false;
    for (const resolve of this.#waiting.splice(0)) resolve();
  }
}

describe('a send to a session of this process, with a store that answers later', () => {
  it('is answered once the incoming mailbox was taken, not before', async () => {
    const takes = new IncomingTakes();
    const harness = takes.harness();
    await harness.connect('k', new FakeReceiver({ kind: 'polling' }));
    takes.held = true;
    let answered: boolean | undefined;
    const sent = harness.sendFromClient('k', ['first']).then((ok) => (answered = ok));
    await settle();
    await settle();
    assert.equal(takes.pending, 1, 'the take is under way');
    assert.equal(answered, undefined, 'no answer while the take is under way');
    takes.open();
    await sent;
    assert.equal(answered, true);
    await settle();
    assert.deepEqual(
      harness.log.filter((line) => line.startsWith('onMessage')),
      ['onMessage "first" 1'],
    );
    await harness.close();
  });

  it('with an in-memory store answers at once, as before', async () => {
    const harness = new Harness();
    await harness.connect('k', new FakeReceiver({ kind: 'polling' }));
    assert.equal(await harness.sendFromClient('k', ['x']), true);
    assert.deepEqual(
      harness.log.filter((line) => line.startsWith('onMessage')),
      ['onMessage "x" 1'],
    );
    await harness.close();
  });
});
