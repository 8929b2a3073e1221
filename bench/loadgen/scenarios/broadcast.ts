/**
 * Broadcast fan-out: `sessions` websocket sessions on the broadcast route; one
 * of them (session 0, the designated sender) sends `messages` messages at once,
 * and the server sends each to every session. Measures the time until every
 * session has every message, `bursts` times over the same sessions.
 */
import { broadcastMessage } from '../../shared/messages.js';
import { median } from '../../shared/stats.js';
import {
  decodePayload,
  encodePayload,
  Failures,
  newSessionId,
  openSessions,
  sessionHandlers,
  sleep,
  wsPath,
  type Control,
  type LoadParams,
  type ScenarioResult,
} from '../common.js';
import { maskedFrame, WsClient } from '../ws-client.js';

const BURST_TIMEOUT_MS = 60_000;

export async function broadcast(p: LoadParams, control: Control): Promise<ScenarioResult> {
  const failures = new Failures();
  const n = p.sessions;
  const m = p.messages;
  const nextSeq = new Float64Array(n);
  const openCallbacks: Array<() => void> = [];
  let target = 0; // messages every session must have by the end of this burst
  let done = 0;
  let finished = false;
  let burstDone: ((at: number) => void) | null = null;

  const handlers = sessionHandlers(
    p.protocol,
    {
      onOpen: (client) => openCallbacks[client.index]?.(),
      onMessages: (client, payload, k) => {
        const i = client.index;
        const first = nextSeq[i]!;
        if (p.verify) {
          let messages: unknown[] = [];
          try {
            messages = decodePayload(p.protocol, payload);
          } catch (error) {
            failures.add(`session ${i}: undecodable frame: ${(error as Error).message}`);
          }
          if (messages.length !== k) failures.add(`session ${i}: frame holds ${messages.length} messages, counted ${k}`);
          messages.forEach((message, j) => {
            const expected = broadcastMessage(first + j);
            if (message !== expected) {
              failures.add(`session ${i}: broadcast ${first + j} is ${JSON.stringify(message)}, expected ${JSON.stringify(expected)}`);
            }
          });
        }
        const now = first + k;
        nextSeq[i] = now;
        if (now > target) failures.add(`session ${i}: ${now} broadcasts received, only ${target} sent`);
        if (first < target && now >= target) {
          done++;
          if (done === n) burstDone?.(performance.now());
        }
      },
      onClose: (client, error) => {
        if (!finished) failures.add(`session ${client.index} closed early${error ? `: ${error.message}` : ''}`);
      },
    },
    failures,
  );

  // The sender's frames, built before the clock starts.
  const bursts: Buffer[] = [];
  for (let b = 0; b < p.bursts; b++) {
    const frames: Buffer[] = [];
    for (let j = 0; j < m; j++) frames.push(maskedFrame(encodePayload(p.protocol, broadcastMessage(b * m + j))));
    bursts.push(Buffer.concat(frames));
  }

  const clients = await openSessions(n, p.concurrency, 120_000, (index, opened) => {
    openCallbacks[index] = opened;
    return new WsClient(p.port, wsPath('/broadcast', p.protocol, newSessionId()), index, handlers);
  });
  const sender = clients[0]!;
  await sleep(200); // let the server settle after the connection storm

  const times: number[] = [];
  control.mark('start');
  for (let b = 0; b < p.bursts && !failures.any; b++) {
    done = 0;
    target = (b + 1) * m;
    const finishedAt = new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), BURST_TIMEOUT_MS);
      burstDone = (at) => {
        clearTimeout(timer);
        resolve(at);
      };
    });
    const t0 = performance.now();
    sender.write(bursts[b]!);
    const t1 = await finishedAt;
    burstDone = null;
    if (t1 === null) {
      failures.add(`burst ${b}: only ${done} of ${n} sessions had all ${m} messages after ${BURST_TIMEOUT_MS} ms`);
      break;
    }
    times.push(t1 - t0);
    await sleep(100);
  }
  control.mark('end');
  finished = true;
  for (const client of clients) client.destroy();

  const burstMs = median(times);
  return {
    ok: !failures.any && times.length === p.bursts,
    errors: failures.summary(),
    metrics: {
      completionMs: burstMs,
      deliveriesPerSec: (n * m) / (burstMs / 1000),
    },
    ops: n * m * times.length,
    details: { burstMs: times },
  };
}
