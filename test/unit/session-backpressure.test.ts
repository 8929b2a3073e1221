/**
 * The channel's bounds, both ways, with FakeReceivers on a fake clock: outgoing, a reader too
 * slow for what the session sends (maxBufferedBytes, a new poll while the last answer is unread:
 * 1013) and what `bufferedBytes` and `drain()` report; incoming, messages waiting for an async
 * onMessage (a websocket paused and resumed, HTTP sends held back, 1008 past the hard limit).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SockjsRangeError } from '../../src/errors.js';
import { DEFAULTS } from '../../src/index.js';
import { SessionState } from '../../src/store/session-state.js';
import { FakeReceiver } from '../helpers/fake-receiver.js';
import { Harness, settle } from '../helpers/session-harness.js';

const { OPEN, CLOSED } = SessionState;
const TOO_SLOW = 'c[1013,"Client too slow to receive"]';

/** A polling session: the first poll got `o` and ended; no receiver is attached. */
async function pollingSession(harness: Harness, key = 'k'): Promise<void> {
  await harness.connect(key, new FakeReceiver({ kind: 'polling' }));
}

/** Settles with the promise's outcome, or 'pending' if it has none after a turn of the loop. */
async function outcome<T>(promise: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([promise, settle().then(() => 'pending' as const)]);
}

describe('outgoing: maxBufferedBytes', () => {
  it('a streaming reader with more than maxBufferedBytes unread gets 1013 after the tick', async () => {
    const harness = new Harness({ maxBufferedBytes: 100 });
    const stream = new FakeReceiver({ slowReader: true });
    await harness.connect('k', stream);
    const session = harness.session;
    // `o` (1 byte) + `a["…"]` (94 + 5 bytes): exactly 100 unread is allowed.
    session.send('x'.repeat(94));
    await settle();
    assert.equal(stream.backlog, 100);
    assert.equal(session.state, OPEN);
    stream.read();
    // 101 bytes unread: too many.
    session.send('y'.repeat(100));
    assert.equal(session.state, OPEN);
    await settle();
    assert.equal(session.state, CLOSED);
    assert.deepEqual(stream.frames, ['o', `a["${'x'.repeat(94)}"]`, `a["${'y'.repeat(100)}"]`, TOO_SLOW]);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3']);
    await harness.close();
  });

  it('messages piling up in the store for a poller that does not come back count too', async () => {
    const harness = new Harness({ maxBufferedBytes: 100 });
    await pollingSession(harness);
    const session = harness.session;
    session.send('x'.repeat(98));
    await settle();
    // '"xx…"' is 100 bytes: at the limit, allowed.
    assert.equal(session.bufferedBytes, 100);
    assert.equal(session.state, OPEN);
    session.send('y');
    await settle();
    assert.equal(session.state, CLOSED);
    // What was sent before the close is delivered, then the close frame.
    const poll = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', poll);
    assert.deepEqual(poll.frames, [`a["${'x'.repeat(98)}","y"]`]);
    const last = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', last);
    assert.deepEqual(last.frames, [TOO_SLOW]);
    await harness.close();
  });

  it('a new poll while the previous answer is still unread: the reader is stalled (1013), the unread one dropped', async () => {
    const harness = new Harness();
    await pollingSession(harness);
    const answered = new FakeReceiver({ kind: 'polling', slowReader: true });
    await harness.connect('k', answered);
    harness.session.send('unread');
    await settle();
    assert.deepEqual(answered.frames, ['a["unread"]']);
    assert.equal(answered.flushed, false);
    const next = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', next);
    // Looked at again after a turn of the event loop, then closed in a microtask.
    await settle();
    await settle();
    assert.equal(answered.destroyed, true);
    assert.deepEqual(next.frames, [TOO_SLOW]);
    assert.equal(harness.session.state, CLOSED);
    await harness.close();
  });

  it('a new poll after the previous answer was read is served as usual', async () => {
    const harness = new Harness();
    await pollingSession(harness);
    const answered = new FakeReceiver({ kind: 'polling', slowReader: true });
    await harness.connect('k', answered);
    harness.session.send('read');
    await settle();
    const next = new FakeReceiver({ kind: 'polling' });
    const connecting = harness.connect('k', next);
    // The client's read lands within the turn the session layer waits before the new poll
    // claims the session (the unread answer held the claim until then).
    answered.read();
    await connecting;
    await settle();
    await settle();
    assert.equal(answered.destroyed, false);
    assert.deepEqual(next.frames, []);
    assert.equal(harness.session.state, OPEN);
    await harness.close();
  });
});

describe('outgoing: bufferedBytes and drain()', () => {
  it('bufferedBytes counts this tick, then the receiver backlog, then nothing once read', async () => {
    const harness = new Harness();
    const stream = new FakeReceiver({ slowReader: true });
    await harness.connect('k', stream);
    const session = harness.session;
    stream.read();
    session.send('abc');
    // '"abc"' waits in this tick's batch.
    assert.equal(session.bufferedBytes, 5);
    await settle();
    // 'a["abc"]' on the connection.
    assert.equal(session.bufferedBytes, 8);
    stream.read(3);
    assert.equal(session.bufferedBytes, 5);
    stream.read();
    assert.equal(session.bufferedBytes, 0);
    await harness.close();
  });

  it('drain(below) resolves true at once when at most `below` bytes wait, else once the reader caught up', async () => {
    const harness = new Harness();
    const stream = new FakeReceiver({ slowReader: true });
    await harness.connect('k', stream);
    const session = harness.session;
    stream.read();
    session.send('abc');
    await settle();
    assert.equal(await outcome(session.drain(8)), true);
    const all = session.drain();
    const some = session.drain(4);
    assert.equal(await outcome(all), 'pending');
    stream.read(3);
    assert.equal(await outcome(all), 'pending');
    stream.read();
    assert.equal(await outcome(some), true);
    assert.equal(await outcome(all), true);
    await harness.close();
  });

  it('drain() of a polling session resolves once a poll took what waited in the store', async () => {
    const harness = new Harness();
    await pollingSession(harness);
    const session = harness.session;
    session.send('queued');
    await settle();
    const drained = session.drain();
    assert.equal(await outcome(drained), 'pending');
    await harness.connect('k', new FakeReceiver({ kind: 'polling' }));
    assert.equal(await outcome(drained), true);
    await harness.close();
  });

  it('an answered poll the client has not read counts until read: a producer that waits on drain() is never closed with 1013', async () => {
    const harness = new Harness({ maxBufferedBytes: 100 });
    await pollingSession(harness);
    const poll = new FakeReceiver({ kind: 'polling', slowReader: true });
    await harness.connect('k', poll);
    const session = harness.session;
    session.send('x'.repeat(60));
    await settle();
    // 'a["xx…"]' went out with the poll, which ended; the client has not read it.
    assert.equal(poll.backlog, 65);
    assert.equal(session.bufferedBytes, 65);
    const drained = session.drain(40);
    assert.equal(await outcome(drained), 'pending');
    poll.read();
    assert.equal(await outcome(drained), true);
    assert.equal(session.bufferedBytes, 0);
    session.send('y'.repeat(60));
    await settle();
    assert.equal(session.state, OPEN);
    assert.equal(session.bufferedBytes, 62);
    await harness.close();
  });

  it('drain() resolves false when the session closes while waiting, or is not open', async () => {
    const harness = new Harness();
    const stream = new FakeReceiver({ slowReader: true });
    await harness.connect('k', stream);
    const session = harness.session;
    session.send('never read');
    await settle();
    const waiting = session.drain();
    session.close();
    assert.equal(await outcome(waiting), false);
    assert.equal(await outcome(session.drain()), false);
    await harness.close();
  });

  it('drain() refuses a negative or non-number `below` with SockjsRangeError', async () => {
    const harness = new Harness();
    await harness.connect('k', new FakeReceiver());
    for (const below of [-1, Number.NaN, '0', null]) {
      assert.throws(
        () => void harness.session.drain(below as number),
        (error: unknown) => error instanceof SockjsRangeError && error.code === 'SOCKJS_ERR_OUT_OF_RANGE' && error.message === `koa-sockjs: drain(below) takes a number of bytes, 0 or more, got ${String(below)}`,
      );
    }
    await harness.close();
  });
});

describe('outgoing: order with broadcasts', () => {
  it('a send and a broadcast of one tick leave in call order', async () => {
    const harness = new Harness();
    const stream = new FakeReceiver();
    await harness.connect('k', stream);
    harness.session.send('mine first');
    harness.manager.broadcast('everyone second');
    await settle();
    harness.manager.broadcast('everyone first');
    harness.session.send('mine second');
    await settle();
    assert.deepEqual(stream.frames, ['o', 'a["mine first"]', 'a["everyone second"]', 'a["everyone first"]', 'a["mine second"]']);
    await harness.close();
  });

  it('a broadcast to a session without a receiver waits in the store with its own messages, in order', async () => {
    const harness = new Harness();
    await pollingSession(harness);
    harness.session.send('one');
    harness.manager.broadcast('two');
    harness.session.send('three');
    await settle();
    const poll = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', poll);
    assert.deepEqual(poll.frames, ['a["one","two","three"]']);
    await harness.close();
  });
});

/** Hooks whose onMessage waits until the test releases it, one message at a time. */
function heldMessages(): { release: () => void; hooks: { onMessage: () => Promise<void> } } {
  const waiting: Array<() => void> = [];
  return {
    release: () => waiting.shift()!(),
    hooks: { onMessage: () => new Promise<void>((resolve) => waiting.push(resolve)) },
  };
}

describe('incoming: messages waiting for an async onMessage', () => {
  it('a websocket is paused past the high water mark and resumed at the low one', async () => {
    const held = heldMessages();
    const harness = new Harness({ hooks: held.hooks });
    const socket = new FakeReceiver({ kind: 'websocket' });
    const { receive } = harness.openWebsocket(socket);
    receive(['a'], DEFAULTS.incomingHighWaterMark * 0.6);
    assert.equal(socket.paused, false);
    receive(['b'], DEFAULTS.incomingHighWaterMark * 0.6);
    assert.deepEqual(socket.events, ['send o', 'pause']);
    // 'a' done: 0.6 of the high water mark still waits, above the low one (0.5).
    held.release();
    await settle();
    assert.equal(socket.paused, true);
    held.release();
    await settle();
    assert.deepEqual(socket.events, ['send o', 'pause', 'resume']);
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "a" 1', 'onMessage "b" 1']);
    await harness.close();
  });

  it('an HTTP send past the high water mark is answered once onMessage caught up', async () => {
    const held = heldMessages();
    const harness = new Harness({ hooks: held.hooks });
    await pollingSession(harness);
    assert.equal(await harness.sendFromClient('k', ['big'], DEFAULTS.incomingHighWaterMark + 1), true);
    const next = harness.sendFromClient('k', ['small'], 10);
    assert.equal(await outcome(next), 'pending');
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "big" 1']);
    held.release();
    assert.equal(await outcome(next), true);
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "big" 1', 'onMessage "small" 1']);
    held.release();
    await harness.close();
  });

  it('one send larger than maxIncomingBacklog is taken when nothing waits (maxMessageSize may allow it); the next is held back, not refused', async () => {
    const held = heldMessages();
    const harness = new Harness({ hooks: held.hooks });
    await pollingSession(harness);
    assert.equal(await harness.sendFromClient('k', ['huge'], DEFAULTS.maxIncomingBacklog + 1), true);
    assert.equal(harness.session.state, OPEN);
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "huge" 1']);
    // While it waits for onMessage, the client's next send is held back, not refused.
    const next = harness.sendFromClient('k', ['next'], 1);
    assert.equal(await outcome(next), 'pending');
    assert.equal(harness.session.state, OPEN);
    held.release();
    assert.equal(await outcome(next), true);
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "huge" 1', 'onMessage "next" 1']);
    held.release();
    await harness.close();
  });

  it('sends that keep coming past maxIncomingBacklog close the session with 1008 and are refused', async () => {
    const held = heldMessages();
    const harness = new Harness({ hooks: held.hooks });
    await pollingSession(harness);
    const poll = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', poll);
    assert.equal(await harness.sendFromClient('k', ['first'], DEFAULTS.incomingHighWaterMark + 1), true);
    // Held back, its body counted toward the limit.
    const waiting = harness.sendFromClient('k', ['second'], DEFAULTS.incomingHighWaterMark);
    assert.equal(await outcome(waiting), 'pending');
    const over = DEFAULTS.maxIncomingBacklog - 2 * DEFAULTS.incomingHighWaterMark;
    assert.equal(await harness.sendFromClient('k', ['third'], over), false);
    assert.equal(harness.session.state, CLOSED);
    assert.deepEqual(poll.frames, ['c[1008,"Too many messages waiting"]']);
    // The held send is answered (refused): its session closed.
    assert.equal(await outcome(waiting), false);
    // onClose waits for the onMessage still running (hooks never overlap).
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "first" 1']);
    held.release();
    await settle();
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "first" 1', 'onClose 3', 'onClosed 3']);
    await harness.close();
  });
});
