/**
 * The receiving channel (src/session/channel.ts) and the manager's receiver rules, with
 * FakeReceivers on a fake clock: what each receiver is written, when heartbeats go out, when a
 * session without a receiver is removed, the second-receiver rule, queueing while no receiver
 * is attached, and the outgoing bounds (maxBufferedBytes, a reader that stalls).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionState } from '../../src/store/session-state.js';
import { FakeReceiver } from '../helpers/fake-receiver.js';
import { Harness, settle } from '../helpers/session-harness.js';

const { OPEN, CLOSED } = SessionState;

/** A polling session: the first poll got `o` and ended; no receiver is attached. */
async function pollingSession(harness: Harness, key = 'k'): Promise<FakeReceiver> {
  const first = new FakeReceiver({ kind: 'polling' });
  await harness.connect(key, first);
  assert.deepEqual(first.frames, ['o']);
  assert.equal(first.ended, true);
  return first;
}

describe('channel: frames to the receiver', () => {
  it('a streaming receiver gets o, then one a[...] frame per tick', async () => {
    const harness = new Harness();
    const receiver = new FakeReceiver();
    await harness.connect('k', receiver);
    const session = harness.session;
    session.send(1);
    session.send('two');
    await settle();
    session.send({ three: 3 });
    await settle();
    assert.deepEqual(receiver.frames, ['o', 'a[1,"two"]', 'a[{"three":3}]']);
    assert.equal(receiver.ended, false);
    assert.equal(session.transport, 'xhr-streaming');
    await harness.close();
  });

  it('what onOpen sends reaches the first receiver after o', async () => {
    const harness = new Harness({ hooks: { onOpen: (session) => void session.send('welcome') } });
    const receiver = new FakeReceiver();
    await harness.connect('k', receiver);
    await settle();
    assert.deepEqual(receiver.frames, ['o', 'a["welcome"]']);
    await harness.close();
  });

  it('a waiting poll takes the next frame and ends; later messages wait for the next poll', async () => {
    const harness = new Harness();
    await pollingSession(harness);
    const poll = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', poll);
    assert.deepEqual(poll.frames, []);
    harness.session.send('a');
    await settle();
    assert.deepEqual(poll.frames, ['a["a"]']);
    assert.equal(poll.ended, true);
    harness.session.send('b');
    await settle();
    const next = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', next);
    assert.deepEqual(next.frames, ['a["b"]']);
    assert.deepEqual(harness.log, ['onOpen 1']);
    await harness.close();
  });
});

describe('channel: messages queued while no receiver is attached', () => {
  it('go to the next receiver in one frame, in the order sent, and count as buffered meanwhile', async () => {
    const harness = new Harness();
    await pollingSession(harness);
    const session = harness.session;
    session.send('a');
    await settle();
    session.send('b');
    session.send('ç');
    await settle();
    // '"a"' + '"b"' + '"ç"' in UTF-8.
    assert.equal(session.bufferedBytes, 3 + 3 + 4);
    const poll = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', poll);
    assert.deepEqual(poll.frames, ['a["a","b","ç"]']);
    assert.equal(session.bufferedBytes, 0);
    await harness.close();
  });

  it('a streaming receiver gets what was queued first, then stays attached for more', async () => {
    const harness = new Harness();
    await pollingSession(harness);
    harness.session.send('queued');
    await settle();
    const stream = new FakeReceiver();
    await harness.connect('k', stream);
    harness.session.send('live');
    await settle();
    assert.deepEqual(stream.frames, ['a["queued"]', 'a["live"]']);
    assert.equal(stream.ended, false);
    await harness.close();
  });
});

describe('channel: a receiver that ends mid-stream', () => {
  it('a stream at its limit detaches; what follows is queued for the next receiver', async () => {
    const harness = new Harness();
    // `o` and one more frame: then the response has carried its responseLimit.
    const stream = new FakeReceiver({ frameLimit: 2 });
    await harness.connect('k', stream);
    harness.session.send('a');
    await settle();
    assert.deepEqual(stream.frames, ['o', 'a["a"]']);
    assert.equal(stream.ended, true);
    harness.session.send('b');
    await settle();
    assert.equal(harness.session.state, OPEN);
    const next = new FakeReceiver();
    await harness.connect('k', next);
    assert.deepEqual(next.frames, ['a["b"]']);
    assert.deepEqual(harness.log, ['onOpen 1']);
    await harness.close();
  });

  it('a client gone mid-batch: the session closes 1002; the batch and then the close frame reach later polls', async () => {
    const harness = new Harness();
    const stream = new FakeReceiver();
    await harness.connect('k', stream);
    const session = harness.session;
    session.send('in flight');
    stream.abort();
    assert.equal(session.state, CLOSED);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3']);
    assert.deepEqual(stream.frames, ['o']);
    const poll = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', poll);
    assert.deepEqual(poll.frames, ['a["in flight"]']);
    const again = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', again);
    assert.deepEqual(again.frames, ['c[1002,"Connection interrupted"]']);
    await harness.close();
  });

  it('a websocket session ends with its connection: 1002, and onRemove without waiting for disconnectDelay', async () => {
    const harness = new Harness();
    const socket = new FakeReceiver({ kind: 'websocket' });
    const { session, receive } = harness.openWebsocket(socket);
    assert.deepEqual(socket.frames, ['o']);
    receive(['hi']);
    socket.abort();
    await settle();
    assert.equal(session.state, CLOSED);
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "hi" 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    assert.equal(harness.manager.size, 0);
    assert.equal(harness.timers.size, 0);
    await harness.close();
  });

  it('a websocket that refuses a frame (closing already) ends its session as interrupted', async () => {
    const harness = new Harness();
    const socket = new FakeReceiver({ kind: 'websocket', frameLimit: 1 });
    const { session } = harness.openWebsocket(socket);
    session.send('lost');
    await settle();
    assert.equal(session.state, CLOSED);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    await harness.close();
  });
});

describe('channel: a second receiver', () => {
  it('while one is attached gets c[2010,"Another connection still open"]; the first keeps the session', async () => {
    const harness = new Harness();
    const first = new FakeReceiver();
    await harness.connect('k', first);
    const second = new FakeReceiver();
    await harness.connect('k', second);
    assert.deepEqual(second.frames, ['c[2010,"Another connection still open"]']);
    assert.equal(second.endFrame, 'c[2010,"Another connection still open"]');
    assert.equal(harness.session.state, OPEN);
    harness.session.send('still here');
    await settle();
    assert.deepEqual(first.frames, ['o', 'a["still here"]']);
    assert.deepEqual(harness.log, ['onOpen 1']);
    await harness.close();
  });

  it('after the first one ended is attached as usual', async () => {
    const harness = new Harness();
    await pollingSession(harness);
    const waiting = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', waiting);
    harness.session.send('x');
    await settle();
    const next = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', next);
    assert.deepEqual(next.frames, []);
    assert.equal(next.ended, false);
    await harness.close();
  });
});

describe('channel: heartbeats', () => {
  it('h every heartbeatDelay while a receiver is attached, whatever else is sent', async () => {
    const harness = new Harness({ heartbeatDelay: 25_000 });
    const stream = new FakeReceiver();
    await harness.connect('k', stream);
    harness.timers.advance(20_000);
    harness.session.send('traffic');
    await settle();
    harness.timers.advance(4_999);
    assert.deepEqual(stream.frames, ['o', 'a["traffic"]']);
    harness.timers.advance(1);
    assert.deepEqual(stream.frames, ['o', 'a["traffic"]', 'h']);
    harness.timers.advance(25_000);
    assert.deepEqual(stream.frames, ['o', 'a["traffic"]', 'h', 'h']);
    assert.equal(harness.session.heartbeats, 2);
    // Streams have no ping of their own: only the h frames.
    assert.deepEqual(stream.events, ['send o', 'send a["traffic"]', 'send h', 'send h']);
    await harness.close();
  });

  it('none while no receiver is attached; a long poll is answered with h', async () => {
    const harness = new Harness({ heartbeatDelay: 1_000, disconnectDelay: 60_000 });
    await pollingSession(harness);
    harness.timers.advance(5_000);
    assert.equal(harness.session.heartbeats, 0);
    const poll = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', poll);
    harness.timers.advance(999);
    assert.deepEqual(poll.frames, []);
    harness.timers.advance(1);
    assert.deepEqual(poll.frames, ['h']);
    assert.equal(poll.ended, true);
    // The poll ended with the heartbeat: no more until the next one attaches.
    harness.timers.advance(10_000);
    assert.equal(harness.session.heartbeats, 1);
    await harness.close();
  });

  it('websockets are pinged with every heartbeat (pingTimeout), not with pingTimeout 0', async () => {
    const pinged = new Harness({ heartbeatDelay: 1_000, pingTimeout: 300 });
    const socket = new FakeReceiver({ kind: 'websocket' });
    pinged.openWebsocket(socket);
    pinged.timers.advance(2_000);
    assert.deepEqual(socket.events, ['send o', 'send h', 'ping 300', 'send h', 'ping 300']);
    await pinged.close();

    const quiet = new Harness({ heartbeatDelay: 1_000, pingTimeout: 0 });
    const other = new FakeReceiver({ kind: 'websocket' });
    quiet.openWebsocket(other);
    quiet.timers.advance(2_000);
    assert.deepEqual(other.events, ['send o', 'send h', 'send h']);
    await quiet.close();
  });

  it('heartbeatDelay 0 sends none, but still renews the record while a receiver is attached', async () => {
    const harness = new Harness({ heartbeatDelay: 0, disconnectDelay: 5_000 });
    const stream = new FakeReceiver();
    await harness.connect('k', stream);
    // The record lives disconnectDelay + 2 * heartbeatDelay = 5 s unless renewed.
    harness.timers.advance(60_000);
    assert.deepEqual(stream.frames, ['o']);
    assert.equal(harness.session.heartbeats, 0);
    assert.equal(harness.store.get('k')?.state, OPEN);
    assert.equal(harness.session.state, OPEN);
    await harness.close();
  });

  it('a stream that ends on a heartbeat detaches; the session waits for the next receiver', async () => {
    const harness = new Harness({ heartbeatDelay: 1_000, disconnectDelay: 5_000 });
    const stream = new FakeReceiver({ frameLimit: 2 });
    await harness.connect('k', stream);
    harness.timers.advance(1_000);
    assert.deepEqual(stream.frames, ['o', 'h']);
    assert.equal(stream.ended, true);
    harness.timers.advance(4_999);
    assert.equal(harness.session.state, OPEN);
    const next = new FakeReceiver();
    await harness.connect('k', next);
    harness.timers.advance(60_000);
    assert.equal(harness.session.state, OPEN);
    await harness.close();
  });
});

describe('channel: disconnectDelay', () => {
  it('removes a session disconnectDelay after its last receiver, with every hook and a 3001 tombstone', async () => {
    const harness = new Harness({ disconnectDelay: 5_000 });
    await pollingSession(harness);
    harness.timers.advance(4_999);
    assert.deepEqual(harness.log, ['onOpen 1']);
    harness.timers.advance(1);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    assert.equal(harness.manager.size, 0);
    assert.equal(harness.timers.size, 0);
    const late = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', late);
    assert.deepEqual(late.frames, ['c[3001,"Session expired"]']);
    await harness.close();
  });

  it('is suspended while a receiver is attached and starts again when it detaches', async () => {
    const harness = new Harness({ heartbeatDelay: 25_000, disconnectDelay: 5_000 });
    await pollingSession(harness);
    harness.timers.advance(4_000);
    const poll = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', poll);
    harness.timers.advance(10_000);
    assert.deepEqual(harness.log, ['onOpen 1']);
    harness.session.send('answer');
    await settle();
    assert.equal(poll.ended, true);
    harness.timers.advance(4_999);
    assert.deepEqual(harness.log, ['onOpen 1']);
    harness.timers.advance(1);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    await harness.close();
  });

  it('a receiver that aborts ends the session (1002) and starts the removal countdown', async () => {
    const harness = new Harness({ disconnectDelay: 5_000 });
    await pollingSession(harness);
    const poll = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', poll);
    harness.timers.advance(1_000);
    poll.abort();
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3']);
    harness.timers.advance(4_999);
    assert.equal(harness.log.length, 3);
    harness.timers.advance(1);
    assert.deepEqual(harness.log.slice(3), ['onRemove 3']);
    await harness.close();
  });

  it('messages the client sends do not postpone it (only receivers do)', async () => {
    const harness = new Harness({ disconnectDelay: 5_000 });
    await pollingSession(harness);
    harness.timers.advance(4_000);
    assert.equal(await harness.sendFromClient('k', ['late']), true);
    harness.timers.advance(1_000);
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "late" 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    await harness.close();
  });

  it('waits while the record names a receiver elsewhere, then counts from its release', async () => {
    const harness = new Harness({ disconnectDelay: 5_000 });
    await pollingSession(harness);
    // A receiving connection served by another process claims the session.
    assert.equal(harness.store.claimReceiver('k', 'other-node/token', 60_000), true);
    harness.timers.advance(12_000);
    assert.deepEqual(harness.log, ['onOpen 1']);
    // Released at 12 s: the session goes 5 s later, at 17 s.
    harness.store.releaseReceiver('k', 'other-node/token');
    harness.timers.advance(4_999);
    assert.deepEqual(harness.log, ['onOpen 1']);
    harness.timers.advance(1);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    await harness.close();
  });
});
