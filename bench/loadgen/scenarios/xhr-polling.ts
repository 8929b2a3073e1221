/**
 * xhr-polling echo: `sessions` sessions, each with a long-poll connection
 * (POST .../xhr, re-issued as soon as it answers) and a send connection
 * (POST .../xhr_send `["msg"]` -> 204), as sockjs-client runs them. Each session
 * keeps one message in flight: the next is sent when the echo has been polled.
 */
import { echoMessage } from '../../shared/messages.js';
import { LatencyHistogram } from '../../shared/stats.js';
import { Failures, newSessionId, sleep, xhrPath, type Control, type LoadParams, type ScenarioResult } from '../common.js';
import { buildRequest, HttpConn, LineSplitter, type ResponseHandler } from '../http-client.js';
import { countMessages, decodeMessages, describe, FRAME_ARRAY, FRAME_CLOSE, FRAME_HEARTBEAT, FRAME_OPEN } from '../sockjs-frames.js';

interface PollSession {
  index: number;
  poll: HttpConn;
  send: HttpConn;
  pollRequest: Buffer;
  sendPath: string;
  opened: boolean;
  sent: number;
  received: number;
  sentAt: number;
  /** The echo came back while the previous xhr_send was still waiting for its 204. */
  sendWanted: boolean;
}

export async function xhrPolling(p: LoadParams, control: Control): Promise<ScenarioResult> {
  const failures = new Failures();
  let histogram = new LatencyHistogram();
  let running = true;
  let measuring = false;
  let counted = 0;
  let opened = 0;
  let onAllOpen: (() => void) | null = null;

  const sendNext = (s: PollSession): void => {
    if (!running) return;
    if (s.send.busy) {
      s.sendWanted = true;
      return;
    }
    s.sendWanted = false;
    const request = buildRequest('POST', s.sendPath, p.port, JSON.stringify([echoMessage(s.index, s.sent)]));
    s.sent++;
    s.sentAt = performance.now();
    let status = 0;
    s.send.send(request, {
      onHead: (code) => {
        status = code;
      },
      onBody: () => {},
      onEnd: () => {
        if (status !== 204) failures.add(`session ${s.index}: xhr_send answered ${status}, expected 204`);
        if (s.sendWanted) sendNext(s);
      },
      onError: (error) => {
        if (running) failures.add(`session ${s.index}: xhr_send failed: ${error.message}`);
      },
    });
  };

  const onLine = (s: PollSession, line: Buffer, now: number): void => {
    switch (line[0]) {
      case FRAME_OPEN:
        if (s.opened) failures.add(`session ${s.index}: second open frame`);
        s.opened = true;
        opened++;
        if (opened === p.sessions) onAllOpen?.();
        break;
      case FRAME_HEARTBEAT:
        break;
      case FRAME_ARRAY: {
        const k = countMessages(line);
        if (p.verify) {
          let messages: unknown[] = [];
          try {
            messages = decodeMessages(line);
          } catch (error) {
            failures.add(`session ${s.index}: undecodable frame: ${(error as Error).message}`);
          }
          if (messages.length !== k) failures.add(`session ${s.index}: frame holds ${messages.length} messages, counted ${k}`);
          messages.forEach((message, j) => {
            const expected = echoMessage(s.index, s.received + j);
            if (message !== expected) failures.add(`session ${s.index}: got ${JSON.stringify(message)}, expected ${JSON.stringify(expected)}`);
          });
        }
        s.received += k;
        if (s.received > s.sent) failures.add(`session ${s.index}: ${s.received} messages received, only ${s.sent} sent`);
        if (measuring) {
          counted += k;
          histogram.recordMs(now - s.sentAt);
        }
        if (s.received === s.sent) sendNext(s);
        break;
      }
      case FRAME_CLOSE:
        failures.add(`session ${s.index}: server closed the session: ${describe(line)}`);
        break;
      default:
        failures.add(`session ${s.index}: unknown frame ${describe(line)}`);
    }
  };

  const poll = (s: PollSession): void => {
    // After the window, keep polling only for echoes still owed (what --verify waits for).
    if (!running && (!s.opened || s.received >= s.sent)) return;
    let status = 0;
    const lines = new LineSplitter((line) => onLine(s, line, performance.now()));
    const handler: ResponseHandler = {
      onHead: (code) => {
        status = code;
      },
      onBody: (chunk) => {
        if (status === 200) lines.push(chunk);
      },
      onEnd: () => {
        if (status !== 200) failures.add(`session ${s.index}: xhr answered ${status}`);
        else if (lines.leftover !== 0) failures.add(`session ${s.index}: xhr response ends without a newline`);
        else poll(s);
      },
      onError: (error) => {
        if (running) failures.add(`session ${s.index}: xhr poll failed: ${error.message}`);
      },
    };
    s.poll.send(s.pollRequest, handler);
  };

  const sessions: PollSession[] = [];
  for (let index = 0; index < p.sessions; index++) {
    const id = newSessionId();
    sessions.push({
      index,
      poll: new HttpConn(p.port),
      send: new HttpConn(p.port),
      pollRequest: buildRequest('POST', xhrPath('/echo', id, 'xhr'), p.port, ''),
      sendPath: xhrPath('/echo', id, 'xhr_send'),
      opened: false,
      sent: 0,
      received: 0,
      sentAt: 0,
      sendWanted: false,
    });
  }
  const allOpen = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 30_000);
    onAllOpen = () => {
      clearTimeout(timer);
      resolve(true);
    };
  });
  // The first poll answers `o`; the next poll (issued by onEnd) then waits for messages.
  for (const s of sessions) poll(s);
  if (!(await allOpen)) failures.add(`only ${opened} of ${p.sessions} sessions opened within 30 s`);
  else for (const s of sessions) sendNext(s);

  await sleep(p.warmupSec * 1000);
  histogram = new LatencyHistogram();
  counted = 0;
  measuring = true;
  control.mark('start');
  const t0 = performance.now();
  await sleep(p.durationSec * 1000);
  const t1 = performance.now();
  control.mark('end');
  measuring = false;
  running = false;
  const messages = counted;
  if (p.verify) {
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline && sessions.some((s) => s.received < s.sent)) await sleep(20);
    for (const s of sessions) if (s.received < s.sent) failures.add(`session ${s.index}: ${s.sent - s.received} messages never echoed`);
  }
  for (const s of sessions) {
    s.poll.destroy();
    s.send.destroy();
  }

  return {
    ok: !failures.any && messages > 0,
    errors: messages > 0 ? failures.summary() : [...failures.summary(), 'no message echoed in the window'],
    metrics: {
      msgsPerSec: messages / ((t1 - t0) / 1000),
      p50Ms: histogram.percentileMs(50),
      p99Ms: histogram.percentileMs(99),
    },
    details: { messages, reconnects: sessions.reduce((a, s) => a + s.poll.connects + s.send.connects - 2, 0) },
  };
}
