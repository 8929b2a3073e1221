/**
 * The next poll of a session this process holds (issue 17: store round trips per polling echo):
 * the store is asked only for the receiver claim, not for the record, and what the session sends
 * while that claim is under way waits in memory for the poll instead of going through the
 * store's outgoing mailbox (a push, its wake-up and a take: three Redis round trips). A claim
 * that is refused leaves those messages in the store for the next receiver, in order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Mailbox } from '../../src/store/store.js';
import { FakeReceiver } from '../helpers/fake-receiver.js';
import { Harness, overriding, settle } from '../helpers/session-harness.js';

/**
 * A harness whose store counts its calls. After `hold()`, claims wait for `answer(granted)`;
 * after `answer(false)`, every claim is refused (the manager retries a refused claim once).
 */
function claimsHeld(): { harness: Harness; calls: string[]; answer: (granted: boolean) => void; hold: () => void } {
  const calls: string[] = [];
  const waiting: Array<(granted: boolean) => void> = [];
  let mode: 'pass' | 'hold' | 'refuse' = 'pass';
  const harness = new Harness({
    wrapStore: (store) =>
      overriding(store, {
        create: (create, ...args) => {
          calls.push('create');
          return create(...args);
        },
        get: (get, key: string) => {
          calls.push('get');
          return get(key);
        },
        push: (push, key: string, mailbox: Mailbox, messages: readonly string[]) => {
          calls.push(`push ${mailbox}`);
          return push(key, mailbox, messages);
        },
        claimReceiver: (claim, key: string, token: string, ttl: number) => {
          calls.push('claim');
          if (mode === 'pass') return claim(key, token, ttl);
          if (mode === 'refuse') return Promise.resolve(false);
          return new Promise<boolean>((resolve) => waiting.push((granted) => resolve(granted && claim(key, token, ttl))));
        },
        // The store's claim that takes the outgoing mailbox with it: the same claim, as the poll path uses it.
        claimAndTake: (claimAndTake, key: string, token: string, ttl: number) => {
          calls.push('claim');
          if (mode === 'pass') return claimAndTake(key, token, ttl);
          if (mode === 'refuse') return Promise.resolve(null);
          return new Promise<string[] | null>((resolve) => waiting.push((granted) => resolve(granted ? claimAndTake(key, token, ttl) : null)));
        },
      }),
  });
  return {
    harness,
    calls,
    answer: (granted) => {
      mode = granted ? 'pass' : 'refuse';
      for (const resolve of waiting.splice(0)) resolve(granted);
    },
    hold: () => {
      mode = 'hold';
    },
  };
}

describe('the next poll of a session held here', () => {
  it('asks the store for the claim only, not for the record', async () => {
    const { harness, calls } = claimsHeld();
    await harness.connect('k', new FakeReceiver({ kind: 'polling' }));
    calls.length = 0;
    const poll = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', poll);
    harness.session.send('hi');
    await settle();
    assert.deepEqual(poll.frames, ['a["hi"]']);
    assert.deepEqual(calls, ['claim']);
    await harness.close();
  });

  it('what the session sends while the claim is under way goes to that poll, not through the store', async () => {
    const { harness, calls, answer, hold } = claimsHeld();
    await harness.connect('k', new FakeReceiver({ kind: 'polling' }));
    hold();
    calls.length = 0;
    const poll = new FakeReceiver({ kind: 'polling' });
    const connecting = harness.connect('k', poll);
    await settle();
    harness.session.send('meanwhile');
    await settle();
    assert.deepEqual(poll.frames, []);
    assert.equal(harness.session.bufferedBytes, Buffer.byteLength('"meanwhile"'), 'held bytes count as buffered');
    answer(true);
    await connecting;
    await settle();
    assert.deepEqual(poll.frames, ['a["meanwhile"]']);
    assert.ok(!calls.includes('push outgoing'), `no push: ${calls.join(', ')}`);
    await harness.close();
  });

  it('a refused claim leaves what was held in the store, in order, for the next receiver', async () => {
    const { harness, calls, answer, hold } = claimsHeld();
    await harness.connect('k', new FakeReceiver({ kind: 'polling' }));
    harness.session.send('queued');
    await settle();
    hold();
    const refused = new FakeReceiver({ kind: 'polling' });
    const connecting = harness.connect('k', refused);
    await settle();
    harness.session.send('meanwhile');
    await settle();
    answer(false);
    await connecting;
    assert.deepEqual(refused.frames, ['c[2010,"Another connection still open"]']);
    assert.ok(calls.includes('push outgoing'));
    answer(true);
    const next = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', next);
    await settle();
    assert.deepEqual(next.frames, ['a["queued","meanwhile"]']);
    await harness.close();
  });
});
