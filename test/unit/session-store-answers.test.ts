/**
 * The channel with a store that answers later (a networked store) or fails, and with what a
 * store hands back: messages written while a new receiver's mailbox is being taken, a receiver
 * that leaves or a session that closes meanwhile, a take that fails, corrupt entries, and
 * eviction. FakeReceivers on a fake clock; the store is a MemoryStore with some methods replaced.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreError } from '../../src/errors.js';
import type { Mailbox } from '../../src/store/store.js';
import { SessionState } from '../../src/store/session-state.js';
import { FakeReceiver } from '../helpers/fake-receiver.js';
import { Harness, overriding, settle } from '../helpers/session-harness.js';

const { OPEN, CLOSED } = SessionState;

/** Takes of the outgoing mailbox wait while the gate is shut, until `open()` or `fail()`. */
class TakeGate {
  shut = false;
  #waiting: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  get pending(): number {
    return this.#waiting.length;
  }

  harness(options: ConstructorParameters<typeof Harness>[0] = {}): Harness {
    return new Harness({
      ...options,
      // A store without claimAndTake: a poll's claim leaves the mailbox to attach()'s take, the
      // path these tests hold back (a store with it takes the mailbox with the claim).
      wrapStore: (store) =>
        overriding(Object.defineProperty(store, 'claimAndTake', { value: undefined }), {
          take: (take, key: string, mailbox: Mailbox) => {
            if (!this.shut || mailbox !== 'outgoing') return take(key, mailbox);
            // Taken when the answer comes, as a networked store would.
            return new Promise<string[]>((resolve, reject) => {
              this.#waiting.push({ resolve: () => resolve(take(key, mailbox)), reject });
            });
          },
        }),
    });
  }

  open(): void {
    this.shut = false;
    for (const { resolve } of this.#waiting.splice(0)) resolve();
  }

  fail(error: Error): void {
    this.shut = false;
    for (const { reject } of this.#waiting.splice(0)) reject(error);
  }
}

/** A polling session with `queued` waiting in the store for the next receiver. */
async function withQueued(harness: Harness, ...queued: string[]): Promise<void> {
  await harness.connect('k', new FakeReceiver({ kind: 'polling' }));
  for (const message of queued) harness.session.send(message);
  await settle();
}

describe('store: the mailbox of a new receiver answers later', () => {
  it('messages written meanwhile go out after the queued ones, in one frame', async () => {
    const gate = new TakeGate();
    const harness = gate.harness();
    await withQueued(harness, 'queued');
    gate.shut = true;
    const stream = new FakeReceiver();
    await harness.connect('k', stream);
    assert.equal(gate.pending, 1);
    harness.session.send('meanwhile');
    await settle();
    assert.deepEqual(stream.frames, []);
    // '"queued"' in the store and '"meanwhile"' waiting for the take.
    assert.equal(harness.session.bufferedBytes, 8 + 11);
    gate.open();
    await settle();
    assert.deepEqual(stream.frames, ['a["queued","meanwhile"]']);
    assert.equal(harness.session.bufferedBytes, 0);
    harness.session.send('after');
    await settle();
    assert.deepEqual(stream.frames, ['a["queued","meanwhile"]', 'a["after"]']);
    await harness.close();
  });

  it('no heartbeat goes out before the queued messages', async () => {
    const gate = new TakeGate();
    const harness = gate.harness({ heartbeatDelay: 1_000 });
    await withQueued(harness, 'queued');
    gate.shut = true;
    const stream = new FakeReceiver();
    await harness.connect('k', stream);
    harness.timers.advance(5_000);
    assert.deepEqual(stream.frames, []);
    gate.open();
    await settle();
    harness.timers.advance(1_000);
    assert.deepEqual(stream.frames, ['a["queued"]', 'h']);
    await harness.close();
  });

  it('a receiver gone meanwhile: everything goes back to the store, in order, for the next one', async () => {
    const gate = new TakeGate();
    const harness = gate.harness();
    await withQueued(harness, 'queued');
    gate.shut = true;
    const stream = new FakeReceiver();
    await harness.connect('k', stream);
    harness.session.send('meanwhile');
    await settle();
    stream.abort();
    assert.equal(harness.session.state, CLOSED);
    gate.open();
    await settle();
    assert.deepEqual(stream.frames, []);
    const poll = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', poll);
    assert.deepEqual(poll.frames, ['a["queued","meanwhile"]']);
    const last = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', last);
    assert.deepEqual(last.frames, ['c[1002,"Connection interrupted"]']);
    await harness.close();
  });

  it('a session closed meanwhile: the receiver gets what was queued, then the close frame; removed after disconnectDelay', async () => {
    const gate = new TakeGate();
    const harness = gate.harness({ disconnectDelay: 5_000 });
    await withQueued(harness, 'queued');
    gate.shut = true;
    const stream = new FakeReceiver();
    await harness.connect('k', stream);
    harness.session.close(4000, 'closed while attaching');
    gate.open();
    await settle();
    assert.deepEqual(stream.frames, ['a["queued"]', 'c[4000,"closed while attaching"]']);
    assert.equal(stream.ended, true);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3']);
    harness.timers.advance(5_000);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    assert.equal(harness.manager.size, 0);
    await harness.close();
  });

  it('a take that fails: reported, the session ends with 3503 (store unavailable), and the receiver is told (not left hanging)', async () => {
    const gate = new TakeGate();
    const harness = gate.harness();
    await withQueued(harness, 'queued');
    gate.shut = true;
    const stream = new FakeReceiver();
    await harness.connect('k', stream);
    const id = harness.session.id;
    gate.fail(new Error('store down'));
    await settle();
    assert.deepEqual(
      harness.errors.map(({ error, context }) => [error.message, context]),
      [['store down', `store take for session ${id}`]],
    );
    assert.equal(harness.session.state, CLOSED);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3']);
    assert.equal(stream.ended, true);
    assert.deepEqual(stream.frames, ['c[3503,"Session store unavailable"]']);
    await harness.close();
  });
  it('a take that fails after the session closed: the receiver gets that close frame', async () => {
    const gate = new TakeGate();
    const harness = gate.harness();
    await withQueued(harness);
    gate.shut = true;
    const stream = new FakeReceiver();
    await harness.connect('k', stream);
    harness.session.close(4001, 'closed first');
    gate.fail(new Error('store down'));
    await settle();
    assert.equal(harness.errors.length, 1);
    assert.deepEqual(stream.frames, ['c[4001,"closed first"]']);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3']);
    await harness.close();
  });
});

describe('store: what it hands back', () => {
  it('a corrupt outgoing entry is dropped and reported; the good ones go out in order', async () => {
    const harness = new Harness();
    await withQueued(harness, 'one');
    harness.store.push('k', 'outgoing', ['{broken', '"two"']);
    const poll = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', poll);
    assert.deepEqual(poll.frames, ['a["one","two"]']);
    assert.equal(harness.errors.length, 1);
    assert.ok(harness.errors[0]!.error instanceof StoreError);
    assert.equal(harness.errors[0]!.error.message, 'koa-sockjs: dropped 1 corrupt outgoing message(s)');
    await harness.close();
  });

  it('messages another process left in the incoming mailbox reach onMessage, corrupt ones dropped and reported', async () => {
    const harness = new Harness({ shared: true });
    await harness.connect('k', new FakeReceiver({ kind: 'polling' }));
    // Another process took a send for this session and queued it (the watch wakes the owner).
    harness.store.push('k', 'incoming', ['"from elsewhere"', 'not json', '{"n":2}']);
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "from elsewhere" 1', 'onMessage {"n":2} 1']);
    assert.equal(harness.errors[0]!.error.message, 'koa-sockjs: dropped 1 corrupt incoming message(s)');
    // A send here comes after them.
    await harness.sendFromClient('k', ['here']);
    assert.deepEqual(harness.log.slice(3), ['onMessage "here" 1']);
    await harness.close();
  });
});

describe('store: the incoming mailbox', () => {
  it('answers that come back out of order still reach onMessage in the order the client sent', async () => {
    const answers: Array<() => void> = [];
    let held = false;
    const harness = new Harness({
      // A store without claimAndTake: a poll's claim leaves the mailbox to attach()'s take, the
      // path these tests hold back (a store with it takes the mailbox with the claim).
      wrapStore: (store) =>
        overriding(Object.defineProperty(store, 'claimAndTake', { value: undefined }), {
          take: (take, key: string, mailbox: Mailbox) => {
            if (!held || mailbox !== 'incoming') return take(key, mailbox);
            return new Promise<string[]>((resolve) => answers.push(() => resolve(take(key, mailbox))));
          },
        }),
    });
    await harness.connect('k', new FakeReceiver({ kind: 'polling' }));
    held = true;
    // Not awaited: a send is answered once its take answered (a client waits for that before
    // its next send; these two come as if from two clients sharing the session).
    const first = harness.sendFromClient('k', ['first']);
    const second = harness.sendFromClient('k', ['second', 'third']);
    await settle();
    assert.equal(answers.length, 2);
    answers[1]!();
    await settle();
    assert.deepEqual(harness.log, ['onOpen 1']);
    answers[0]!();
    assert.deepEqual(await Promise.all([first, second]), [true, true]);
    await settle();
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "first" 1', 'onMessage "second" 1', 'onMessage "third" 1']);
    await harness.close();
  });

  it('a take that fails is reported; the messages of the send itself are still delivered', async () => {
    let failing = false;
    const harness = new Harness({
      // A store without claimAndTake: a poll's claim leaves the mailbox to attach()'s take, the
      // path these tests hold back (a store with it takes the mailbox with the claim).
      wrapStore: (store) =>
        overriding(Object.defineProperty(store, 'claimAndTake', { value: undefined }), {
          take: (take, key: string, mailbox: Mailbox) => (failing && mailbox === 'incoming' ? Promise.reject(new Error('store down')) : take(key, mailbox)),
        }),
    });
    await harness.connect('k', new FakeReceiver({ kind: 'polling' }));
    failing = true;
    assert.equal(await harness.sendFromClient('k', ['mine']), true);
    await settle();
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "mine" 1']);
    assert.deepEqual(
      harness.errors.map(({ error, context }) => [error.message, context]),
      [['store down', `store take for session ${harness.session.id}`]],
    );
    await harness.close();
  });

  it("the client's messages renew the record at most once per 5 s", async () => {
    const touches: number[] = [];
    const harness = new Harness({
      disconnectDelay: 60_000,
      // A store without claimAndTake: a poll's claim leaves the mailbox to attach()'s take, the
      // path these tests hold back (a store with it takes the mailbox with the claim).
      wrapStore: (store) =>
        overriding(Object.defineProperty(store, 'claimAndTake', { value: undefined }), {
          touch: (touch, key: string, ttl: number) => {
            touches.push(harness.timers.now() - start);
            return touch(key, ttl);
          },
        }),
    });
    const start = harness.timers.now();
    await harness.connect('k', new FakeReceiver({ kind: 'polling' }));
    for (let second = 0; second < 12; second++) {
      await harness.sendFromClient('k', [second]);
      harness.timers.advance(1_000);
    }
    assert.deepEqual(touches, [0, 5_000, 10_000]);
    await harness.close();
  });
});

describe('store: eviction', () => {
  it('a session the store evicts is closed with 3001 and forgotten; a live receiver gets the close frame', async () => {
    const harness = new Harness({ maxSessions: 1 });
    const stream = new FakeReceiver();
    await harness.connect('a', stream);
    const first = harness.session;
    // The store is full: the next session evicts the first.
    await harness.connect('b', new FakeReceiver({ kind: 'polling' }));
    assert.equal(first.state, CLOSED);
    assert.deepEqual(stream.frames, ['o', 'c[3001,"Session expired"]']);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3', 'onOpen 1']);
    assert.equal(harness.manager.get(first.id), undefined);
    assert.equal(harness.sessions[1]!.state, OPEN);
    await harness.close();
  });
  it('a session that expires itself in onClose while evicted is forgotten once', async () => {
    const harness = new Harness({ maxSessions: 1, hooks: { onClose: (session) => session.expire() } });
    const stream = new FakeReceiver();
    await harness.connect('a', stream);
    await harness.connect('b', new FakeReceiver({ kind: 'polling' }));
    assert.deepEqual(stream.frames, ['o', 'c[3001,"Session expired"]']);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3', 'onOpen 1']);
    const { open, closed } = harness.manager.stats().sessions;
    assert.deepEqual({ open, closed }, { open: 1, closed: 1 });
    await harness.close();
  });
});

describe('manager shutdown', () => {
  it('close() ends every session with 1001 and leaves no timer', async () => {
    const harness = new Harness();
    const stream = new FakeReceiver();
    await harness.connect('a', stream);
    await harness.connect('b', new FakeReceiver({ kind: 'polling' }));
    await harness.close();
    assert.deepEqual(stream.frames, ['o', 'c[1001,"Server is shutting down"]']);
    assert.deepEqual(
      harness.sessions.map((session) => session.state),
      [CLOSED, CLOSED],
    );
    assert.deepEqual(harness.log, ['onOpen 1', 'onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    assert.equal(harness.manager.size, 0);
    assert.equal(harness.timers.size, 0);
  });

  it('close({ timeout }) waits for a slow reader to take its backlog, then closes with 1001', async () => {
    const harness = new Harness();
    const stream = new FakeReceiver({ slowReader: true });
    await harness.connect('a', stream);
    harness.session.send('backlog');
    await settle();
    let closed = false;
    const closing = harness.manager.close({ timeout: 10_000 }).then(() => (closed = true));
    await settle();
    assert.equal(closed, false);
    assert.equal(harness.session.state, SessionState.OPEN);
    stream.read();
    await closing;
    assert.deepEqual(stream.frames, ['o', 'a["backlog"]', 'c[1001,"Server is shutting down"]']);
    await harness.close();
  });

  it('close({ timeout }) stops waiting after timeout ms of the clock', async () => {
    const harness = new Harness();
    const stream = new FakeReceiver({ slowReader: true });
    await harness.connect('a', stream);
    harness.session.send('never read');
    await settle();
    let closed = false;
    const closing = harness.manager.close({ timeout: 10_000 }).then(() => (closed = true));
    harness.timers.advance(9_999);
    await settle();
    assert.equal(closed, false);
    harness.timers.advance(1);
    await closing;
    assert.equal(harness.session.state, SessionState.CLOSED);
    assert.equal(stream.endFrame, 'c[1001,"Server is shutting down"]');
    await harness.close();
  });

  it('clear() expires every session: 3001, every hook, nothing kept', async () => {
    const harness = new Harness();
    const stream = new FakeReceiver();
    await harness.connect('a', stream);
    harness.manager.clear();
    assert.deepEqual(stream.frames, ['o', 'c[3001,"Session expired"]']);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    assert.equal(harness.manager.size, 0);
    assert.equal(harness.timers.size, 0);
    await harness.close();
  });
});
