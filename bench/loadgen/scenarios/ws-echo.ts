/**
 * Websocket echo: `sessions` sessions each keep `inflight` 64-byte messages in
 * flight; every echo is answered with the next message. Measures messages/s
 * and the round-trip time of each message over the measured window.
 */
import { echoMessage, ECHO_SEQ_OFFSET, SEQ_DIGITS } from '../../shared/messages.js';
import { LatencyHistogram } from '../../shared/stats.js';
import { decodePayload, encodePayload, Failures, messageOffset, newSessionId, openSessions, sessionHandlers, sleep, wsPath, type Control, type LoadParams, type ScenarioResult, measureWindow } from '../common.js';
import { FrameTemplate, WsClient } from '../ws-client.js';

export async function wsEcho(p: LoadParams, control: Control): Promise<ScenarioResult> {
  const failures = new Failures();
  const n = p.sessions;
  const inflight = p.inflight;
  const templates: FrameTemplate[] = [];
  const sendTimes: Float64Array[] = [];
  const sent = new Float64Array(n);
  const received = new Float64Array(n);
  const openCallbacks: Array<() => void> = [];
  const digitsAt = messageOffset(p.protocol) + ECHO_SEQ_OFFSET;
  for (let i = 0; i < n; i++) {
    templates.push(new FrameTemplate(encodePayload(p.protocol, echoMessage(i, 0)), digitsAt, SEQ_DIGITS));
    sendTimes.push(new Float64Array(inflight));
  }

  let histogram = new LatencyHistogram();
  let running = false;
  let measuring = false;
  let finished = false;
  let counted = 0;

  const sendBatch = (client: WsClient, k: number, now: number): void => {
    const i = client.index;
    const template = templates[i]!;
    const times = sendTimes[i]!;
    const buf = Buffer.allocUnsafe(k * template.length);
    let offset = 0;
    for (let j = 0; j < k; j++) {
      const seq = sent[i]!;
      sent[i] = seq + 1;
      offset = template.writeTo(buf, offset, seq);
      times[seq % inflight] = now;
    }
    client.write(buf);
  };

  const handlers = sessionHandlers(
    p.protocol,
    {
      onOpen: (client) => openCallbacks[client.index]?.(),
      onMessages: (client, payload, k) => {
        const i = client.index;
        const now = performance.now();
        const first = received[i]!;
        if (first + k > sent[i]!) {
          failures.add(`session ${i}: ${first + k} messages received, only ${sent[i]} sent`);
          return;
        }
        if (p.verify) verifyEcho(p, payload, k, i, first, failures);
        received[i] = first + k;
        if (measuring) {
          const times = sendTimes[i]!;
          for (let seq = first; seq < first + k; seq++) histogram.recordMs(now - times[seq % inflight]!);
          counted += k;
        }
        if (running) sendBatch(client, k, now);
      },
      onClose: (client, error) => {
        if (!finished) failures.add(`session ${client.index} closed early${error ? `: ${error.message}` : ''}`);
      },
    },
    failures,
  );

  const clients = await openSessions(n, p.concurrency, 60_000, (index, opened) => {
    openCallbacks[index] = opened;
    return new WsClient(p.port, wsPath('/echo', p.protocol, newSessionId()), index, handlers);
  });

  running = true;
  const start = performance.now();
  for (const client of clients) sendBatch(client, inflight, start);
  const seconds = await measureWindow(control, p.warmupSec, p.durationSec, () => {
    histogram = new LatencyHistogram();
    counted = 0;
    measuring = true;
  });
  measuring = false;
  running = false;
  const messages = counted;

  if (p.verify) {
    // Every message sent must come back: wait (bounded) for the last ones in flight.
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline && received.some((r, i) => r < sent[i]!)) await sleep(20);
    received.forEach((r, i) => {
      if (r < sent[i]!) failures.add(`session ${i}: ${sent[i]! - r} messages never echoed`);
    });
  }
  finished = true;
  for (const client of clients) client.destroy();

  return {
    ok: !failures.any && messages > 0,
    errors: messages > 0 ? failures.summary() : [...failures.summary(), 'no message echoed in the window'],
    metrics: {
      msgsPerSec: messages / seconds,
      p50Ms: histogram.percentileMs(50),
      p99Ms: histogram.percentileMs(99),
    },
    ops: messages,
    details: { messages, seconds, totalSent: sent.reduce((a, b) => a + b, 0) },
  };
}

function verifyEcho(p: LoadParams, payload: Buffer, k: number, session: number, firstSeq: number, failures: Failures): void {
  let messages: unknown[];
  try {
    messages = decodePayload(p.protocol, payload);
  } catch (error) {
    failures.add(`session ${session}: undecodable frame: ${(error as Error).message}`);
    return;
  }
  if (messages.length !== k) failures.add(`session ${session}: frame holds ${messages.length} messages, counted ${k}`);
  messages.forEach((message, j) => {
    const expected = echoMessage(session, firstSeq + j);
    if (message !== expected) {
      failures.add(`session ${session}: message ${firstSeq + j} is ${JSON.stringify(message)}, expected ${JSON.stringify(expected)}`);
    }
  });
}
