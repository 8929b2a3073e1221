/**
 * xhr-polling echo: `sessions` sessions, each with a long-poll connection
 * (POST .../xhr, re-issued as soon as it answers) and a send connection
 * (POST .../xhr_send `["msg"]` -> 204), as sockjs-client runs them. Each session
 * keeps one message in flight: the next is sent when the echo has been polled.
 */
import { echoMessage } from '../../shared/messages.js';
import { LatencyHistogram } from '../../shared/stats.js';
import { Failures, newSessionId, sleep, xhrPath, type Control, type LoadParams, type ScenarioResult, measureWindow } from '../common.js';
import { buildRequest, HttpConn, LineSplitter, type ResponseHandler } from '../http-client.js';
import { countMessages, decodeMessages, describe, FRAME_ARRAY, FRAME_CLOSE, FRAME_HEARTBEAT, FRAME_OPEN } from '../sockjs-frames.js';

/** What all sessions of a run share. */
interface Run {
  port: number;
  verify: boolean;
  sessions: number;
  failures: Failures;
  running: boolean;
  measuring: boolean;
  counted: number;
  opened: number;
  histogram: LatencyHistogram;
  onAllOpen: (() => void) | null;
}

class PollSession {
  readonly poll: HttpConn;
  readonly send: HttpConn;
  opened = false;
  sent = 0;
  received = 0;
  readonly #run: Run;
  readonly #index: number;
  readonly #pollRequest: Buffer;
  readonly #sendPath: string;
  readonly #lines: LineSplitter;
  #sentAt = 0;
  /** The echo came back while the previous xhr_send was still waiting for its 204. */
  #sendWanted = false;
  #pollStatus = 0;
  #sendStatus = 0;
  readonly #pollHandler: ResponseHandler;
  readonly #sendHandler: ResponseHandler;

  constructor(run: Run, index: number) {
    this.#run = run;
    this.#index = index;
    const id = newSessionId();
    this.poll = new HttpConn(run.port);
    this.send = new HttpConn(run.port);
    this.#pollRequest = buildRequest('POST', xhrPath('/echo', id, 'xhr'), run.port, '');
    this.#sendPath = xhrPath('/echo', id, 'xhr_send');
    this.#lines = new LineSplitter((line) => this.#onLine(line));
    // Two handler objects made once and reused for every request.
    this.#pollHandler = {
      onHead: (status) => {
        this.#pollStatus = status;
      },
      onBody: (chunk) => {
        if (this.#pollStatus === 200) this.#lines.push(chunk);
      },
      onEnd: () => {
        if (this.#pollStatus !== 200) this.#fail(`xhr answered ${this.#pollStatus}`);
        else if (this.#lines.leftover !== 0) this.#fail('xhr response ends without a newline');
        else this.startPoll();
      },
      onError: (error) => {
        if (this.#run.running) this.#fail(`xhr poll failed: ${error.message}`);
      },
    };
    this.#sendHandler = {
      onHead: (status) => {
        this.#sendStatus = status;
      },
      onBody: () => {},
      onEnd: () => {
        if (this.#sendStatus !== 204) this.#fail(`xhr_send answered ${this.#sendStatus}, expected 204`);
        if (this.#sendWanted) this.sendNext();
      },
      onError: (error) => {
        if (this.#run.running) this.#fail(`xhr_send failed: ${error.message}`);
      },
    };
  }

  #fail(message: string): void {
    this.#run.failures.add(`session ${this.#index}: ${message}`);
  }

  startPoll(): void {
    // After the window, keep polling only for echoes still owed (what --verify waits for).
    if (!this.#run.running && (!this.opened || this.received >= this.sent)) return;
    this.#pollStatus = 0;
    this.#lines.reset();
    this.poll.send(this.#pollRequest, this.#pollHandler);
  }

  sendNext(): void {
    if (!this.#run.running) return;
    if (this.send.busy) {
      this.#sendWanted = true;
      return;
    }
    this.#sendWanted = false;
    const request = buildRequest('POST', this.#sendPath, this.#run.port, JSON.stringify([echoMessage(this.#index, this.sent)]));
    this.sent++;
    this.#sentAt = performance.now();
    this.#sendStatus = 0;
    this.send.send(request, this.#sendHandler);
  }

  #onLine(line: Buffer): void {
    const run = this.#run;
    switch (line[0]) {
      case FRAME_OPEN:
        if (this.opened) this.#fail('second open frame');
        this.opened = true;
        run.opened++;
        if (run.opened === run.sessions) run.onAllOpen?.();
        break;
      case FRAME_HEARTBEAT:
        break;
      case FRAME_ARRAY: {
        const k = countMessages(line);
        if (run.verify) this.#verify(line, k);
        this.received += k;
        if (this.received > this.sent) this.#fail(`${this.received} messages received, only ${this.sent} sent`);
        if (run.measuring) {
          run.counted += k;
          run.histogram.recordMs(performance.now() - this.#sentAt);
        }
        if (this.received === this.sent) this.sendNext();
        break;
      }
      case FRAME_CLOSE:
        this.#fail(`server closed the session: ${describe(line)}`);
        break;
      default:
        this.#fail(`unknown frame ${describe(line)}`);
    }
  }

  #verify(line: Buffer, k: number): void {
    let messages: unknown[] = [];
    try {
      messages = decodeMessages(line);
    } catch (error) {
      this.#fail(`undecodable frame: ${(error as Error).message}`);
    }
    if (messages.length !== k) this.#fail(`frame holds ${messages.length} messages, counted ${k}`);
    messages.forEach((message, j) => {
      const expected = echoMessage(this.#index, this.received + j);
      if (message !== expected) this.#fail(`got ${JSON.stringify(message)}, expected ${JSON.stringify(expected)}`);
    });
  }
}

export async function xhrPolling(p: LoadParams, control: Control): Promise<ScenarioResult> {
  const run: Run = {
    port: p.port,
    verify: p.verify,
    sessions: p.sessions,
    failures: new Failures(),
    running: true,
    measuring: false,
    counted: 0,
    opened: 0,
    histogram: new LatencyHistogram(),
    onAllOpen: null,
  };
  const sessions = Array.from({ length: p.sessions }, (_, i) => new PollSession(run, i));
  const allOpen = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 30_000);
    run.onAllOpen = () => {
      clearTimeout(timer);
      resolve(true);
    };
  });
  // The first poll answers `o`; the next poll (issued when it ends) then waits for messages.
  for (const s of sessions) s.startPoll();
  if (!(await allOpen)) run.failures.add(`only ${run.opened} of ${p.sessions} sessions opened within 30 s`);
  else for (const s of sessions) s.sendNext();

  const seconds = await measureWindow(control, p.warmupSec, p.durationSec, () => {
    run.histogram = new LatencyHistogram();
    run.counted = 0;
    run.measuring = true;
  });
  run.measuring = false;
  run.running = false;
  const messages = run.counted;
  if (p.verify) {
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline && sessions.some((s) => s.received < s.sent)) await sleep(20);
    sessions.forEach((s, i) => {
      if (s.received < s.sent) run.failures.add(`session ${i}: ${s.sent - s.received} messages never echoed`);
    });
  }
  for (const s of sessions) {
    s.poll.destroy();
    s.send.destroy();
  }

  return {
    ok: !run.failures.any && messages > 0,
    errors: messages > 0 ? run.failures.summary() : [...run.failures.summary(), 'no message echoed in the window'],
    metrics: {
      msgsPerSec: messages / seconds,
      p50Ms: run.histogram.percentileMs(50),
      p99Ms: run.histogram.percentileMs(99),
    },
    ops: messages,
    details: { messages, reconnects: sessions.reduce((a, s) => a + s.poll.connects + s.send.connects - 2, 0) },
  };
}
