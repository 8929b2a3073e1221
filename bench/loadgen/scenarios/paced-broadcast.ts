/**
 * Paced broadcast (issue 17): `sessions` websocket sessions on the broadcast
 * route; one sender (session 0) sends a message, and the next one only once
 * every session has received the previous. Nothing can be coalesced on the
 * server (one broadcast per tick), so this measures what one broadcast costs
 * per recipient. Reports deliveries/s over the measured window and the fan-out
 * latency: for each message, the time from the sender's write until the last
 * session has it (p50 and p99 over the window).
 */
import { broadcastMessage, SEQ_DIGITS } from '../../shared/messages.js';
import { LatencyHistogram } from '../../shared/stats.js';
import {
  decodePayload,
  encodePayload,
  Failures,
  measureWindow,
  messageOffset,
  newSessionId,
  openSessions,
  sessionHandlers,
  sleep,
  wsPath,
  type Control,
  type LoadParams,
  type ScenarioResult,
} from '../common.js';
import { FrameTemplate, WsClient } from '../ws-client.js';

/** A message that has not reached every session after this long fails the run. */
const MESSAGE_TIMEOUT_MS = 30_000;

export async function pacedBroadcast(p: LoadParams, control: Control): Promise<ScenarioResult> {
  const failures = new Failures();
  const n = p.sessions;
  const received = new Float64Array(n); // messages each session has had
  const openCallbacks: Array<() => void> = [];
  // The broadcast message layout puts the sequence digits right after the kind letter.
  const template = new FrameTemplate(encodePayload(p.protocol, broadcastMessage(0)), messageOffset(p.protocol) + 1, SEQ_DIGITS);
  const frame = Buffer.allocUnsafe(template.length);
  let sent = 0; // messages sent so far; the one in flight is sent - 1
  let complete = 0; // sessions that have the message in flight
  let sentAt = 0;
  let running = false;
  let measuring = false;
  let finished = false;
  let counted = 0; // messages fully delivered inside the window
  let histogram = new LatencyHistogram();
  let sender: WsClient | null = null;
  let watchdog: NodeJS.Timeout | null = null;
  let stalled: (() => void) | null = null;

  const sendNext = (): void => {
    if (!running || sender === null) return;
    complete = 0;
    template.writeTo(frame, 0, sent);
    sent++;
    sentAt = performance.now();
    sender.write(frame);
  };

  const handlers = sessionHandlers(
    p.protocol,
    {
      onOpen: (client) => openCallbacks[client.index]?.(),
      onMessages: (client, payload, k) => {
        const i = client.index;
        const first = received[i]!;
        if (p.verify) {
          let messages: unknown[] = [];
          try {
            messages = decodePayload(p.protocol, payload);
          } catch (error) {
            failures.add(`session ${i}: undecodable frame: ${(error as Error).message}`);
          }
          messages.forEach((message, j) => {
            const expected = broadcastMessage(first + j);
            if (message !== expected) failures.add(`session ${i}: broadcast ${first + j} is ${JSON.stringify(message)}, expected ${JSON.stringify(expected)}`);
          });
        }
        received[i] = first + k;
        if (first + k > sent) {
          failures.add(`session ${i}: ${first + k} broadcasts received, only ${sent} sent`);
          return;
        }
        if (first + k === sent && ++complete === n) {
          // Every session has the message in flight: record its fan-out time, send the next.
          if (measuring) {
            histogram.recordMs(performance.now() - sentAt);
            counted++;
          }
          watchdog?.refresh();
          sendNext();
        }
      },
      onClose: (client, error) => {
        if (!finished) failures.add(`session ${client.index} closed early${error ? `: ${error.message}` : ''}`);
      },
    },
    failures,
  );

  const clients = await openSessions(n, p.concurrency, 120_000, (index, opened) => {
    openCallbacks[index] = opened;
    return new WsClient(p.port, wsPath('/broadcast', p.protocol, newSessionId()), index, handlers);
  });
  sender = clients[0]!;
  await sleep(200); // let the server settle after the connection storm

  const stall = new Promise<void>((resolve) => {
    stalled = resolve;
  });
  watchdog = setTimeout(() => {
    failures.add(`broadcast ${sent - 1} reached only ${complete} of ${n} sessions within ${MESSAGE_TIMEOUT_MS} ms`);
    running = false;
    stalled?.();
  }, MESSAGE_TIMEOUT_MS);
  running = true;
  sendNext();
  const seconds = await Promise.race([
    measureWindow(control, p.warmupSec, p.durationSec, () => {
      histogram = new LatencyHistogram();
      counted = 0;
      measuring = true;
    }),
    stall.then(() => Number.NaN),
  ]);
  measuring = false;
  running = false;
  // The message in flight at the end of the window: let it arrive (bounded) before closing.
  const deadline = performance.now() + 10_000;
  while (!failures.any && complete < n && performance.now() < deadline) await sleep(10);
  clearTimeout(watchdog);
  finished = true;
  for (const client of clients) client.destroy();

  const deliveries = counted * n;
  return {
    ok: !failures.any && counted > 0,
    errors: counted > 0 ? failures.summary() : [...failures.summary(), 'no broadcast completed in the window'],
    metrics: {
      deliveriesPerSec: deliveries / seconds,
      p50Ms: histogram.percentileMs(50),
      p99Ms: histogram.percentileMs(99),
    },
    ops: deliveries,
    details: { broadcasts: counted, seconds, sent },
  };
}
