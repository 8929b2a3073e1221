/**
 * HeartbeatQueue: a route's heartbeats on one timer must fall due exactly when a timer per
 * session would have, in arming order, and leave no timer behind once empty. Fake clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeartbeatQueue, HeartbeatSlot } from '../../src/session/heartbeat-queue.js';
import { FakeTimers } from '../helpers/fake-timers.js';

/** A slot that records when (relative to `start`) its heartbeats fell due, and may re-arm. */
function recorder(timers: FakeTimers, queue: HeartbeatQueue, name: string, log: string[], rearm = false): HeartbeatSlot {
  const start = timers.now();
  const slot: HeartbeatSlot = new HeartbeatSlot({
    heartbeatDue() {
      log.push(`${name}@${timers.now() - start}`);
      if (rearm) queue.arm(slot);
    },
  });
  return slot;
}

describe('HeartbeatQueue', () => {
  it('fires each slot delay ms after it was armed, in arming order, on one timer', () => {
    const timers = new FakeTimers();
    const queue = new HeartbeatQueue(timers, 100);
    const log: string[] = [];
    const a = recorder(timers, queue, 'a', log, true);
    const b = recorder(timers, queue, 'b', log, true);
    const c = recorder(timers, queue, 'c', log);
    queue.arm(a);
    timers.advance(30);
    queue.arm(b);
    queue.arm(c);
    assert.equal(timers.size, 1, 'one timer for the whole queue');
    timers.advance(99);
    assert.deepEqual(log, ['a@100'], 'b and c not before 130');
    timers.advance(1);
    assert.deepEqual(log, ['a@100', 'b@130', 'c@130']);
    timers.advance(100);
    assert.deepEqual(log, ['a@100', 'b@130', 'c@130', 'a@200', 'b@230']);
    queue.disarm(a);
    queue.disarm(b);
    assert.equal(timers.size, 0, 'an empty queue keeps no timer');
  });

  it('keeps the next slot exact when the head is taken out, and re-arming moves a slot to the back', () => {
    const timers = new FakeTimers();
    const queue = new HeartbeatQueue(timers, 100);
    const log: string[] = [];
    const a = recorder(timers, queue, 'a', log);
    const b = recorder(timers, queue, 'b', log);
    queue.arm(a);
    timers.advance(10);
    queue.arm(b);
    timers.advance(40);
    queue.disarm(a);
    queue.arm(b);
    timers.advance(60);
    assert.deepEqual(log, [], 'a was taken out; b was armed again at 50');
    timers.advance(40);
    assert.deepEqual(log, ['b@150']);
    assert.equal(timers.size, 0);
  });

  it('disarming a slot that is not queued does nothing', () => {
    const timers = new FakeTimers();
    const queue = new HeartbeatQueue(timers, 100);
    const log: string[] = [];
    const a = recorder(timers, queue, 'a', log);
    queue.disarm(a);
    queue.arm(a);
    timers.advance(100);
    queue.disarm(a);
    assert.deepEqual(log, ['a@100']);
    assert.equal(timers.size, 0);
  });
});
