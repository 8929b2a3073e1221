/**
 * `npm run soak -- [--duration 60] [--rate 20] [--messages 10] [--redis]`: see ./soak.ts.
 * Prints the server's figures at start, middle and end and a verdict; exits 1 on a bad one.
 */
import { parseArgs } from 'node:util';
import { runSoak } from './soak.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    rate: { type: 'string', default: '20' },
    messages: { type: 'string', default: '10' },
    redis: { type: 'boolean', default: false },
    'disconnect-delay': { type: 'string', default: '1000' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`npm run soak -- [options]
  --duration <s>   seconds of traffic (default 60); the run then waits for the server to settle
  --rate <n>       new sessions per second (default 20), spread over every transport
  --messages <n>   messages each session sends and expects echoed (default 10)
  --disconnect-delay <ms>
                   the server's disconnectDelay (default 1000): a session whose next poll takes
                   longer than this to reach the server (a loaded machine) is timed out
  --redis          two server processes on a RedisStore (a redis-server of its own on a free
                   port) behind a round-robin proxy, and a Redis restart in the middle`);
  process.exit(0);
}

const durationMs = Number(values.duration) * 1000;
const rate = Number(values.rate);
const messagesPerSession = Number(values.messages);
const disconnectDelayMs = Number(values['disconnect-delay']);
for (const [name, value] of [['duration', durationMs], ['rate', rate], ['messages', messagesPerSession], ['disconnect-delay', disconnectDelayMs]] as const) {
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} must be a positive number`);
    process.exit(2);
  }
}

console.log(`soak: ${values.duration} s at ${rate} sessions/s, ${messagesPerSession} messages each, disconnectDelay ${disconnectDelayMs} ms, ${values.redis ? 'two processes on Redis (restarted midway)' : 'memory store'}`);
const report = await runSoak({ durationMs, rate, messagesPerSession, disconnectDelayMs, redis: values.redis, log: (line) => console.log(line) });
console.log(`sessions ${report.sessions}, messages echoed ${report.messages}, in ${(report.elapsedMs / 1000).toFixed(1)} s`);
console.log(`by transport: ${Object.entries(report.byTransport).map(([name, count]) => `${name} ${count}`).join(', ')}`);
console.log(`by ending: ${Object.entries(report.byEnding).map(([name, count]) => `${name} ${count}`).join(', ')}`);
if (values.redis) console.log(`sessions cut short by the Redis restart (in order, no duplicates): ${report.interruptedByRestart}`);
if (report.ok) {
  console.log('verdict: OK (nothing lost, duplicated or reordered; no growth after settling; hooks balanced)');
} else {
  console.log(`verdict: FAILED\n  ${report.problems.slice(0, 30).join('\n  ')}`);
  process.exitCode = 1;
}
