/**
 * Broadcasts and rooms as the channel sees them: a shared frame to every receiver, a poll that
 * ends on it, sessions without a receiver, a close in the same tick, and room membership by
 * session state. FakeReceivers on a fake clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SockjsArgumentError } from '../../src/errors.js';
import { SessionState } from '../../src/store/session-state.js';
import { FakeReceiver } from '../helpers/fake-receiver.js';
import { Harness, settle } from '../helpers/session-harness.js';

describe('broadcast through the channel', () => {
  it('reaches a stream, a waiting poll (which ends) and a session without a receiver (queued)', async () => {
    const harness = new Harness();
    const stream = new FakeReceiver();
    await harness.connect('stream', stream);
    await harness.connect('poll', new FakeReceiver({ kind: 'polling' }));
    const waiting = new FakeReceiver({ kind: 'polling' });
    await harness.connect('poll', waiting);
    await harness.connect('idle', new FakeReceiver({ kind: 'polling' }));
    harness.manager.broadcast('one');
    harness.manager.broadcast('two');
    await settle();
    assert.deepEqual(stream.frames, ['o', 'a["one","two"]']);
    assert.deepEqual(waiting.frames, ['a["one","two"]']);
    assert.equal(waiting.ended, true);
    // The poll ended on the first broadcast: the next one is queued for its session.
    harness.manager.broadcast('three');
    await settle();
    const pollAgain = new FakeReceiver({ kind: 'polling' });
    await harness.connect('poll', pollAgain);
    assert.deepEqual(pollAgain.frames, ['a["three"]']);
    const idle = new FakeReceiver({ kind: 'polling' });
    await harness.connect('idle', idle);
    assert.deepEqual(idle.frames, ['a["one","two","three"]']);
    await harness.close();
  });

  it('a broadcast, then close() in the same tick: the broadcast goes out before the close frame', async () => {
    const harness = new Harness();
    const stream = new FakeReceiver();
    await harness.connect('k', stream);
    const session = harness.session;
    await session.join('room');
    harness.manager.to('room').broadcast('to the room');
    harness.manager.broadcast('to all');
    session.close(4000, 'after them');
    await settle();
    assert.deepEqual(stream.frames, ['o', 'a["to the room","to all"]', 'c[4000,"after them"]']);
    await harness.close();
  });

  it('a websocket that refuses the shared frame ends as interrupted; the other members still get it', async () => {
    const harness = new Harness();
    const refusing = new FakeReceiver({ kind: 'websocket', frameLimit: 1 });
    const closing = harness.openWebsocket(refusing).session;
    await closing.join('room');
    const streams = [new FakeReceiver(), new FakeReceiver()];
    await harness.connect('a', streams[0]!);
    await harness.connect('b', streams[1]!);
    for (const session of harness.sessions.slice(1)) await session.join('room');
    closing.send('pending in this tick');
    harness.manager.to('room').broadcast('news');
    await settle();
    assert.deepEqual(
      streams.map((stream) => stream.frames),
      [
        ['o', 'a["news"]'],
        ['o', 'a["news"]'],
      ],
    );
    assert.deepEqual(refusing.frames, ['o']);
    assert.equal(closing.state, SessionState.CLOSED);
    assert.equal(harness.manager.in('room').size, 2);
    assert.equal(harness.errors.length, 0);
    await harness.close();
  });

  it('reaches only open sessions: a closed one gets nothing more', async () => {
    const harness = new Harness();
    const open = new FakeReceiver();
    await harness.connect('open', open);
    await harness.connect('closed', new FakeReceiver({ kind: 'polling' }));
    harness.sessions[1]!.close(4000, 'gone');
    harness.manager.broadcast('news');
    await settle();
    assert.deepEqual(open.frames, ['o', 'a["news"]']);
    const late = new FakeReceiver({ kind: 'polling' });
    await harness.connect('closed', late);
    assert.deepEqual(late.frames, ['c[4000,"gone"]']);
    await harness.close();
  });
});

describe('rooms by session state', () => {
  it('an open session joins and leaves; closing leaves every room (rooms still names them, for goodbyes)', async () => {
    const harness = new Harness();
    await harness.connect('k', new FakeReceiver());
    const session = harness.session;
    await session.join('a');
    await session.join('b');
    assert.deepEqual([...session.rooms], ['a', 'b']);
    assert.equal(harness.manager.in('a').size, 1);
    assert.equal(session.leave('a'), true);
    assert.equal(session.leave('a'), false);
    session.close();
    assert.deepEqual([...session.rooms], ['b']);
    assert.equal(harness.manager.in('b').size, 0);
    assert.equal(session.leave('b'), false);
    await harness.close();
  });

  it('join() does nothing unless the session is open; bad room names throw SockjsArgumentError', async () => {
    const harness = new Harness();
    await harness.connect('k', new FakeReceiver());
    const session = harness.session;
    for (const room of ['', 7, undefined]) {
      assert.throws(() => void session.join(room as string), (error: unknown) => error instanceof SockjsArgumentError && error instanceof TypeError);
      assert.throws(() => session.leave(room as string), SockjsArgumentError);
    }
    session.close();
    await session.join('late');
    assert.deepEqual([...session.rooms], []);
    assert.equal(harness.manager.in('late').size, 0);
    await session.join('later');
    assert.equal(harness.manager.in('late').size, 0);
    await harness.close();
  });
});
