/**
 * The session state machine (src/store/session-state.ts, src/session/session.ts): NEW -> OPEN -> CLOSING ->
 * CLOSED, the hooks in order and each exactly once, what send() and close() do in each state,
 * and hooks that throw or reject. No network: FakeReceivers and a fake clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageEncodingError, SessionStateError, SockjsArgumentError, SockjsRangeError } from '../../src/errors.js';
import { Session, internals, kOpen } from '../../src/session/session.js';
import { SessionState, assertTransition, stateName } from '../../src/store/session-state.js';
import { FakeReceiver } from '../helpers/fake-receiver.js';
import { Harness, REQUEST, settle, type Hooks, type RecordingSession } from '../helpers/session-harness.js';

const { NEW, OPEN, CLOSING, CLOSED } = SessionState;

/** A harness with one open session on a streaming receiver. */
async function openStream(harness = new Harness()): Promise<{ harness: Harness; receiver: FakeReceiver }> {
  const receiver = new FakeReceiver();
  await harness.connect('k', receiver);
  return { harness, receiver };
}

describe('SessionState and transitions', () => {
  it('numbers the states like readyState', () => {
    assert.deepEqual(SessionState, { NEW: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
    assert.equal(stateName(CLOSING), '2 (CLOSING)');
  });

  it('allows every forward move and refuses staying or going back, naming both states', () => {
    for (const from of [NEW, OPEN, CLOSING, CLOSED]) {
      for (const to of [NEW, OPEN, CLOSING, CLOSED]) {
        if (to > from) {
          assert.doesNotThrow(() => assertTransition(from, to));
          continue;
        }
        assert.throws(
          () => assertTransition(from, to),
          (error: unknown) =>
            error instanceof SessionStateError &&
            error.code === 'SOCKJS_ERR_SESSION_STATE' &&
            error.message === `koa-sockjs: session cannot move from state ${stateName(from)} to ${stateName(to)}`,
        );
      }
    }
  });
});

describe('session lifecycle', () => {
  it('goes NEW -> OPEN -> CLOSING -> CLOSED with each hook once, in order, in its state', async () => {
    const harness = new Harness({ disconnectDelay: 5_000 });
    const receiver = new FakeReceiver();
    await harness.connect('k', receiver);
    const session = harness.session;
    assert.equal(session.state, OPEN);
    assert.deepEqual(receiver.frames, ['o']);
    assert.deepEqual(harness.log, ['onOpen 1']);

    assert.equal(await harness.sendFromClient('k', ['a', 'b']), true);
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "a" 1', 'onMessage "b" 1']);

    session.close(3001, 'bye');
    assert.equal(session.state, CLOSED);
    assert.deepEqual(harness.log.slice(3), ['onClose 2', 'onClosed 3']);
    assert.deepEqual(receiver.frames, ['o', 'c[3001,"bye"]']);
    assert.equal(receiver.endFrame, 'c[3001,"bye"]');
    assert.equal(receiver.ended, true);

    // A closed session is kept, serving its close frame, until disconnectDelay passes.
    assert.equal(harness.manager.get(session.id), session);
    harness.timers.advance(4_999);
    assert.equal(harness.log.includes('onRemove 3'), false);
    harness.timers.advance(1);
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "a" 1', 'onMessage "b" 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    assert.equal(harness.manager.get(session.id), undefined);
    assert.equal(harness.manager.size, 0);
    assert.equal(harness.timers.size, 0);

    // Nothing runs twice, whatever is called afterwards.
    session.close();
    session.expire();
    harness.timers.advance(60_000);
    await settle();
    assert.equal(harness.log.length, 6);
    await harness.close();
  });

  it('a session made but not opened is NEW: send() returns false, close() runs onClose and onClosed', async () => {
    const harness = new Harness();
    const session = new (harness.manager.sessionClass)({ id: 'bare', manager: harness.manager, transport: 'xhr', request: REQUEST });
    assert.equal(session.state, NEW);
    assert.equal(session.send('early'), false);
    assert.equal(session.bufferedBytes, 0);
    assert.equal(await session.drain(), false);
    // NEW -> CLOSING -> CLOSED: a session closed before it opened.
    session.close(3000, 'never opened');
    assert.equal(session.state, CLOSED);
    assert.deepEqual(harness.log, ['onClose 2', 'onClosed 3']);
    session.expire();
    assert.deepEqual(harness.log, ['onClose 2', 'onClosed 3', 'onRemove 3']);
  });

  it('a session its constructor closes never opens: the client gets o, then that close frame; nothing leaks', async () => {
    const closeEarly = { created: (session: RecordingSession) => session.close(4001, 'refused early') };
    const stream = new FakeReceiver();
    const streaming = new Harness({ hooks: closeEarly, disconnectDelay: 5_000 });
    await streaming.connect('k', stream);
    await settle();
    assert.deepEqual(stream.frames, ['o', 'c[4001,"refused early"]']);
    assert.deepEqual(streaming.errors, []);
    assert.deepEqual(streaming.log, ['onClose 2', 'onClosed 3']);
    streaming.timers.advance(5_000);
    assert.deepEqual(streaming.log, ['onClose 2', 'onClosed 3', 'onRemove 3']);
    assert.equal(streaming.manager.size, 0);
    await streaming.close();

    const polling = new Harness({ hooks: closeEarly });
    const first = new FakeReceiver({ kind: 'polling' });
    await polling.connect('k', first);
    const next = new FakeReceiver({ kind: 'polling' });
    await polling.connect('k', next);
    assert.deepEqual([...first.frames, ...next.frames], ['o', 'c[4001,"refused early"]']);
    await polling.close();

    const websocket = new Harness({ hooks: closeEarly });
    const socket = new FakeReceiver({ kind: 'websocket' });
    websocket.openWebsocket(socket);
    await settle();
    assert.deepEqual(socket.frames, ['o', 'c[4001,"refused early"]']);
    assert.deepEqual(websocket.log, ['onClose 2', 'onClosed 3', 'onRemove 3']);
    assert.equal(websocket.manager.size, 0);
    await websocket.close();
  });

  it('opening twice is refused with the state named', async () => {
    const { harness } = await openStream();
    assert.throws(() => internals(harness.session)[kOpen](), { name: 'SessionStateError', message: 'koa-sockjs: cannot open a session in state 1 (OPEN)' });
    assert.equal(harness.session.state, OPEN);
    await harness.close();
  });
});

describe('session.send()', () => {
  it('returns true and sends while open; messages of one tick leave in one frame, in order', async () => {
    const { harness, receiver } = await openStream();
    const session = harness.session;
    assert.equal(session.send('a'), true);
    assert.equal(session.send({ b: 1 }), true);
    assert.equal(session.send([2]), true);
    // Batched until the end of the tick.
    assert.deepEqual(receiver.frames, ['o']);
    await settle();
    assert.deepEqual(receiver.frames, ['o', 'a["a",{"b":1},[2]]']);
    session.send('c');
    await settle();
    assert.deepEqual(receiver.frames, ['o', 'a["a",{"b":1},[2]]', 'a["c"]']);
    await harness.close();
  });

  it('returns false and sends nothing while closing (in onClose) and once closed', async () => {
    const results: boolean[] = [];
    const harness = new Harness({ hooks: { onClose: (session) => void results.push(session.send('from onClose')) } });
    const { receiver } = await openStream(harness);
    const session = harness.session;
    session.close();
    assert.deepEqual(results, [false]);
    assert.equal(session.send('after'), false);
    await settle();
    assert.deepEqual(receiver.frames, ['o', 'c[3000,"Go away!"]']);
    await harness.close();
  });

  it('throws MessageEncodingError for values JSON cannot carry, and sends nothing', async () => {
    const { harness, receiver } = await openStream();
    const session = harness.session;
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    for (const value of [10n, cycle, undefined, () => 1, Symbol('s')]) {
      assert.throws(() => session.send(value), (error: unknown) => error instanceof MessageEncodingError && error.code === 'SOCKJS_ERR_ENCODING');
    }
    await settle();
    assert.deepEqual(receiver.frames, ['o']);
    assert.equal(session.state, OPEN);
    await harness.close();
  });

  it('messages sent before close() leave before the close frame', async () => {
    const { harness, receiver } = await openStream();
    harness.session.send('last');
    harness.session.send('words');
    harness.session.close(4000, 'done');
    assert.deepEqual(receiver.frames, ['o', 'a["last","words"]', 'c[4000,"done"]']);
    await harness.close();
  });
});

describe('session.close()', () => {
  it('defaults to c[3000,"Go away!"] and escapes the reason as JSON', async () => {
    const first = await openStream();
    first.harness.session.close();
    assert.equal(first.receiver.endFrame, 'c[3000,"Go away!"]');
    await first.harness.close();

    const second = await openStream();
    second.harness.session.close(1000, 'say "bye"\n\u2028');
    assert.equal(second.receiver.endFrame, 'c[1000,"say \\"bye\\"\\n\\u2028"]');
    await second.harness.close();
  });

  it('accepts codes 1000 and 4999, and refuses anything but an integer from 1000 to 4999 with SockjsRangeError', async () => {
    const { harness, receiver } = await openStream();
    const session = harness.session;
    for (const code of [999, 5000, 0, -3000, 3000.5, Number.NaN, Infinity, '3000', null]) {
      assert.throws(
        () => session.close(code as number),
        (error: unknown) => error instanceof SockjsRangeError && error.code === 'SOCKJS_ERR_OUT_OF_RANGE' && error.message === `koa-sockjs: close code must be an integer from 1000 to 4999, got ${String(code)}`,
      );
    }
    // Nothing happened: the session is open and the receiver got nothing.
    assert.equal(session.state, OPEN);
    assert.deepEqual(receiver.frames, ['o']);
    assert.deepEqual(harness.log, ['onOpen 1']);
    session.close(4999, 'highest');
    assert.equal(receiver.endFrame, 'c[4999,"highest"]');
    const low = await openStream();
    low.harness.session.close(1000, 'lowest');
    assert.equal(low.receiver.endFrame, 'c[1000,"lowest"]');
    await low.harness.close();
    await harness.close();
  });

  it('refuses a reason that is not a string with SockjsArgumentError, sending nothing', async () => {
    const { harness, receiver } = await openStream();
    const session = harness.session;
    for (const [reason, got] of [
      [42, 'number'],
      [null, 'null'],
      [{ text: 'bye' }, 'object'],
    ] as const) {
      assert.throws(
        () => session.close(3000, reason as unknown as string),
        (error: unknown) =>
          error instanceof SockjsArgumentError && error.code === 'SOCKJS_ERR_INVALID_ARGUMENT' && error.message === `koa-sockjs: close reason must be a string, got ${got}`,
      );
    }
    assert.equal(session.state, OPEN);
    assert.deepEqual(receiver.frames, ['o']);
    // Left out, it is the default.
    session.close(3000, undefined);
    assert.equal(receiver.endFrame, 'c[3000,"Go away!"]');
    await harness.close();
  });

  it('checks its arguments even when the session is already closed', async () => {
    const { harness } = await openStream();
    harness.session.close();
    assert.throws(() => harness.session.close(42), SockjsRangeError);
    assert.doesNotThrow(() => harness.session.close(3000));
    await harness.close();
  });

  it('a second close() does nothing: the first close frame stays, no hook runs again', async () => {
    const harness = new Harness();
    const { receiver } = await openStream(harness);
    harness.session.close(4001, 'first');
    harness.session.close(4002, 'second');
    assert.deepEqual(receiver.frames, ['o', 'c[4001,"first"]']);
    // A later receiver is told the first close too.
    const late = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', late);
    assert.deepEqual(late.frames, ['c[4001,"first"]']);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3']);
    await harness.close();
  });
});

describe('session.expire()', () => {
  it('closes with c[3001,"Session expired"] and forgets the session at once', async () => {
    const { harness, receiver } = await openStream();
    const session = harness.session;
    session.send('pending');
    session.expire();
    assert.deepEqual(receiver.frames, ['o', 'a["pending"]', 'c[3001,"Session expired"]']);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    assert.equal(harness.manager.size, 0);
    assert.equal(harness.timers.size, 0);
    // Its URL answers with the close frame (a tombstone): no new session, no `o`.
    const late = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', late);
    assert.deepEqual(late.frames, ['c[3001,"Session expired"]']);
    assert.equal(harness.sessions.length, 1);
    await harness.close();
  });

  it('of a session already closed keeps its close frame and just forgets it', async () => {
    const { harness } = await openStream();
    harness.session.close(4100, 'app');
    harness.session.expire();
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    assert.equal(harness.timers.size, 0);
    const late = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', late);
    assert.deepEqual(late.frames, ['c[4100,"app"]']);
    await harness.close();
  });
});

describe('re-entrant closes', () => {
  it('expire() in onClose: the client still gets the close frame asked for, later receivers too, and no timer stays', async () => {
    const harness = new Harness({ hooks: { onClose: (session) => session.expire() } });
    const { receiver } = await openStream(harness);
    harness.session.close(4000, 'app close');
    assert.deepEqual(receiver.frames, ['o', 'c[4000,"app close"]']);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    assert.equal(harness.manager.size, 0);
    assert.equal(harness.timers.size, 0);
    const late = new FakeReceiver({ kind: 'polling' });
    await harness.connect('k', late);
    assert.deepEqual(late.frames, ['c[4000,"app close"]']);
    await harness.close();
  });

  it('close() when the flush finds a websocket that takes no more frames: the session ends as interrupted, nothing throws', async () => {
    const harness = new Harness();
    // The peer is closing: its websocket refuses every frame after `o`.
    const socket = new FakeReceiver({ kind: 'websocket', frameLimit: 1 });
    const { session } = harness.openWebsocket(socket);
    session.send('last words');
    assert.doesNotThrow(() => session.close(4000, 'app close'));
    assert.equal(session.state, CLOSED);
    await settle();
    assert.deepEqual(socket.frames, ['o']);
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 2', 'onClosed 3', 'onRemove 3']);
    await harness.close();
  });

  it('manager shutdown with such a websocket resolves and closes the other sessions too', async () => {
    const harness = new Harness();
    const { session } = harness.openWebsocket(new FakeReceiver({ kind: 'websocket', frameLimit: 1 }));
    const stream = new FakeReceiver();
    await harness.connect('k', stream);
    session.send('pending');
    await harness.close();
    assert.deepEqual(stream.frames, ['o', 'c[1001,"Server is shutting down"]']);
    assert.deepEqual(
      harness.sessions.map((each) => each.state),
      [CLOSED, CLOSED],
    );
  });
});

describe('re-entrant calls from every hook, on every transport', () => {
  const cases: Array<[string, Hooks, string]> = [
    ['expire() in onOpen', { onOpen: (session) => session.expire() }, 'c[3001,"Session expired"]'],
    ['manager.clear() in onMessage', { onMessage: (session) => session.manager.clear() }, 'c[3001,"Session expired"]'],
    ['send() and close() in onClose', { onClose: (session) => (session.send('late'), session.close(4001, 'again')) }, 'c[4000,"first"]'],
    ['expire() in onClosed', { onClosed: (session) => session.expire() }, 'c[4000,"first"]'],
    ['close() and expire() in onRemove', { onRemove: (session) => (session.close(4001, 'again'), session.expire()) }, 'c[4000,"first"]'],
  ];
  for (const [name, hooks, closeFrame] of cases) {
    for (const kind of ['streaming', 'polling', 'websocket'] as const) {
      it(`${name} on a ${kind} session: every hook once, in order; no error; nothing left`, async () => {
        const harness = new Harness({ hooks, disconnectDelay: 5_000 });
        const receiver = new FakeReceiver({ kind });
        if (kind === 'websocket') harness.openWebsocket(receiver).receive(['m']);
        else {
          await harness.connect('k', receiver);
          await harness.sendFromClient('k', ['m']);
        }
        const session = harness.session;
        if (session.state === OPEN) session.close(4000, 'first');
        harness.timers.advance(5_000);
        await settle();
        const opened = hooks.onOpen ? ['onOpen 1'] : ['onOpen 1', 'onMessage "m" 1'];
        assert.deepEqual(harness.log, [...opened, 'onClose 2', 'onClosed 3', 'onRemove 3']);
        assert.deepEqual(harness.errors, []);
        // A poll took `o` and ended; the others got the close frame on their connection.
        assert.deepEqual(receiver.frames, kind === 'polling' ? ['o'] : ['o', closeFrame]);
        await harness.close();
      });
    }
  }
});

describe('hooks', () => {
  it('onMessage waits for an async onOpen; later hooks wait for earlier ones', async () => {
    let finishOpen!: () => void;
    const harness = new Harness({
      hooks: {
        onOpen: () =>
          new Promise<void>((resolve) => {
            finishOpen = () => {
              harness.log.push('onOpen done');
              resolve();
            };
          }),
      },
    });
    await openStream(harness);
    await harness.sendFromClient('k', ['m1', 'm2']);
    harness.session.close();
    await settle();
    assert.deepEqual(harness.log, ['onOpen 1']);
    finishOpen();
    await settle();
    // Messages that wait behind onOpen are dropped once the session left OPEN: onMessage
    // never runs after the session left OPEN. The state moves at once and the hooks follow, so
    // a deferred onClose already sees CLOSED.
    assert.deepEqual(harness.log, ['onOpen 1', 'onOpen done', 'onClose 3', 'onClosed 3']);
    await harness.close();
  });

  it('a session removed while an async onOpen runs: onClose, onClosed, onRemove follow it, once each, in order', async () => {
    let finishOpen!: () => void;
    const harness = new Harness({
      disconnectDelay: 5_000,
      hooks: {
        onOpen: () => new Promise<void>((resolve) => (finishOpen = resolve)),
        onClosed: async () => {
          await Promise.resolve();
          harness.log.push('onClosed done');
        },
      },
    });
    await harness.connect('k', new FakeReceiver({ kind: 'polling' }));
    harness.timers.advance(5_000);
    assert.equal(harness.session.state, CLOSED);
    assert.equal(harness.manager.size, 0);
    await settle();
    assert.deepEqual(harness.log, ['onOpen 1']);
    finishOpen();
    await settle();
    assert.deepEqual(harness.log, ['onOpen 1', 'onClose 3', 'onClosed 3', 'onClosed done', 'onRemove 3']);
    await harness.close();
  });

  it('messages received while an async onMessage runs are delivered after it, in order', async () => {
    const releases: Array<() => void> = [];
    const harness = new Harness({
      hooks: {
        onMessage: (_session, message) =>
          new Promise<void>((resolve) => {
            releases.push(() => {
              harness.log.push(`done ${JSON.stringify(message)}`);
              resolve();
            });
          }),
      },
    });
    await openStream(harness);
    await harness.sendFromClient('k', ['a']);
    await harness.sendFromClient('k', ['b', 'c']);
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "a" 1']);
    releases.shift()!();
    await settle();
    assert.deepEqual(harness.log.slice(2), ['done "a"', 'onMessage "b" 1']);
    releases.shift()!();
    await settle();
    releases.shift()!();
    await settle();
    assert.deepEqual(harness.log.slice(2), ['done "a"', 'onMessage "b" 1', 'done "b"', 'onMessage "c" 1', 'done "c"']);
    await harness.close();
  });

  it('a session that closes itself in onMessage gets no onMessage for the rest of the batch', async () => {
    const harness = new Harness({ hooks: { onMessage: (session, message) => (message === 'stop' ? session.close(4000, 'stopped') : undefined) } });
    const { receiver } = await openStream(harness);
    assert.equal(await harness.sendFromClient('k', ['a', 'stop', 'b']), true);
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "a" 1', 'onMessage "stop" 1', 'onClose 2', 'onClosed 3']);
    assert.equal(receiver.endFrame, 'c[4000,"stopped"]');
    // Later sends are refused (the transport answers 404).
    assert.equal(await harness.sendFromClient('k', ['c']), false);
    assert.equal(harness.log.length, 5);
    await harness.close();
  });

  it('an async onMessage that closes the session drops the messages queued behind it', async () => {
    const harness = new Harness({
      hooks: {
        onMessage: async (session, message) => {
          await Promise.resolve();
          if (message === 'stop') session.close();
        },
      },
    });
    await openStream(harness);
    await harness.sendFromClient('k', ['stop', 'x', 'y']);
    await settle();
    // onClose waited for the onMessage that closed: it runs after the move to CLOSED.
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "stop" 1', 'onClose 3', 'onClosed 3']);
    await harness.close();
  });

  it('a hook that throws or rejects is reported to onError; the session goes on', async () => {
    const harness = new Harness({
      hooks: {
        onOpen: () => {
          throw new Error('open failed');
        },
        onMessage: async (session, message) => {
          if (message === 'reject') throw new Error('message failed');
          session.send(`echo ${String(message)}`);
        },
        onClose: () => Promise.reject(new TypeError('close failed')),
      },
    });
    const { receiver } = await openStream(harness);
    const session = harness.session;
    await harness.sendFromClient('k', ['reject', 'ok']);
    await settle();
    assert.equal(session.state, OPEN);
    assert.deepEqual(receiver.frames, ['o', 'a["echo ok"]']);
    session.close();
    await settle();
    assert.deepEqual(harness.log, ['onOpen 1', 'onMessage "reject" 1', 'onMessage "ok" 1', 'onClose 2', 'onClosed 3']);
    assert.deepEqual(
      harness.errors.map(({ error, context }) => [error.message, context, (error as Error & { sockjs: { sessionId: string } }).sockjs.sessionId]),
      [
        ['open failed', `onOpen of session ${session.id}`, session.id],
        ['message failed', `onMessage of session ${session.id}`, session.id],
        ['close failed', `onClose of session ${session.id}`, session.id],
      ],
    );
    assert.ok(harness.errors[2]!.error instanceof TypeError);
    await harness.close();
  });

  it('a thrown non-Error reaches onError wrapped, as its cause', async () => {
    const harness = new Harness({
      hooks: {
        onMessage: () => {
          throw 'plain string';
        },
      },
    });
    await openStream(harness);
    await harness.sendFromClient('k', ['x']);
    assert.equal(harness.errors.length, 1);
    assert.ok(harness.errors[0]!.error instanceof Error);
    assert.equal(harness.errors[0]!.error.cause, 'plain string');
    assert.equal(harness.session.state, OPEN);
    await harness.close();
  });
});
