/**
 * Websocket sessions in the session layer: they live exactly as long as their one connection
 * (no store mailbox, no disconnectDelay), and a session closed in onOpen, on any transport, still
 * gives its client `o` and then the close frame. FakeReceivers on a fake clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionState } from '../../src/store/session-state.js';
import { FakeReceiver } from '../helpers/fake-receiver.js';
import { Harness, settle } from '../helpers/session-harness.js';

const { OPEN, CLOSED } = SessionState;

describe('websocket sessions', () => {
  it('get o, their messages in order, and replies in one frame per tick', async () => {
    const harness = new Harness({ hooks: { onMessage: (session, message) => void session.send(message) } });
    const socket = new FakeReceiver({ kind: 'websocket' });
    const { session, receive } = harness.openWebsocket(socket);
    assert.equal(session.state, OPEN);
    assert.equal(session.transport, 'websocket');
    receive(['a', 'b']);
    receive([{ c: 3 }]);
    await settle();
    assert.deepEqual(socket.frames, ['o', 'a["a","b",{"c":3}]']);
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "a" 1', 'onMessage "b" 1', 'onMessage {"c":3} 1']);
    await harness.close();
  });

  it('closed by the server: the close frame ends the connection, and the session is removed at once', async () => {
    const harness = new Harness({ disconnectDelay: 5_000 });
    const socket = new FakeReceiver({ kind: 'websocket' });
    const { session } = harness.openWebsocket(socket);
    session.send('bye');
    session.close(4000, 'done');
    assert.deepEqual(socket.frames, ['o', 'a["bye"]', 'c[4000,"done"]']);
    assert.equal(socket.ended, true);
    await settle();
    // Nobody can come back to a websocket session: it does not wait for disconnectDelay.
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    assert.equal(harness.manager.size, 0);
    assert.equal(harness.timers.size, 0);
    await harness.close();
  });

  it('messages that arrive after the close are dropped', async () => {
    const harness = new Harness();
    const socket = new FakeReceiver({ kind: 'websocket' });
    const { session, receive } = harness.openWebsocket(socket);
    session.close();
    receive(['late']);
    await settle();
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    await harness.close();
  });

  it('a dead peer: no pong within pingTimeout drops the connection, and the session ends as interrupted', async () => {
    const harness = new Harness({ heartbeatDelay: 1_000, pingTimeout: 500 });
    const socket = new FakeReceiver({ kind: 'websocket' });
    harness.openWebsocket(socket);
    harness.timers.advance(1_000);
    assert.deepEqual(socket.events, ['send o', 'send h', 'ping 500']);
    // The receiver owns the pong deadline (WebsocketReceiver); here the peer is found dead.
    socket.abort();
    await settle();
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    assert.equal(harness.timers.size, 0);
    await harness.close();
  });

  it('are shut down with 1001 by manager.close()', async () => {
    const harness = new Harness();
    const socket = new FakeReceiver({ kind: 'websocket' });
    harness.openWebsocket(socket);
    await harness.close();
    assert.deepEqual(socket.frames, ['o', 'c[1001,"Server is shutting down"]']);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
  });
});

describe('a session closed in onOpen', () => {
  const closeInOpen = { onOpen: (session: { close(code: number, reason: string): void }) => session.close(3003, 'not today') };

  it('on a stream: o, then the close frame, on the same response', async () => {
    const harness = new Harness({ hooks: closeInOpen });
    const stream = new FakeReceiver();
    await harness.connect('k', stream);
    await settle();
    assert.deepEqual(stream.frames, ['o', 'c[3003,"not today"]']);
    assert.equal(stream.ended, true);
    assert.equal(harness.session.state, CLOSED);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3']);
    await harness.close();
  });

  it('on a poll: o, and the next poll gets the close frame', async () => {
    const harness = new Harness({ hooks: closeInOpen });
    const first = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', first);
    assert.deepEqual(first.frames, ['o']);
    const next = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', next);
    assert.deepEqual(next.frames, ['c[3003,"not today"]']);
    await harness.close();
  });

  it('on a websocket: o, then the close frame', async () => {
    const harness = new Harness({ hooks: closeInOpen });
    const socket = new FakeReceiver({ kind: 'websocket' });
    harness.openWebsocket(socket);
    await settle();
    assert.deepEqual(socket.frames, ['o', 'c[3003,"not today"]']);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    await harness.close();
  });
});
