/**
 * A short soak (./soak.ts) as part of `npm test`: every transport, every way of ending, checked
 * for lost, duplicated or reordered messages, hook balance and growth after settling. The long
 * runs are `npm run soak` (docs/reliability.md has the figures of a 10-minute one).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSnapshot, runSoak, type SoakReport } from './soak.js';

function explain(report: SoakReport): string {
  return [...report.problems.slice(0, 10), ...report.snapshots.map(formatSnapshot)].join('\n');
}

describe('soak (short)', () => {
  it('memory store: 10 s of churn on every transport, nothing lost, nothing left behind', async () => {
    const report = await runSoak({ durationMs: 10_000, rate: 10, messagesPerSession: 8 });
    assert.ok(report.ok, explain(report));
    // Every transport and every ending was exercised.
    assert.equal(Object.keys(report.byTransport).length, 9);
    assert.deepEqual(Object.keys(report.byEnding).sort(), ['abrupt', 'clean', 'server-close', 'slow-reader']);
    assert.deepEqual(report.snapshots.map((s) => s.label), ['start', 'middle', 'end']);
  });

  it('Redis: two processes, Redis restarted midway; nothing duplicated or reordered, hooks balanced', async () => {
    const report = await runSoak({ durationMs: 6_000, rate: 8, messagesPerSession: 6, redis: true });
    assert.ok(report.ok, explain(report));
    assert.equal(Object.keys(report.byTransport).length, 9);
  });
});
