/**
 * Plain HTTP requests: `concurrency` keep-alive connections each send
 * `GET /` as soon as the previous answer is in. With the bare-http and bare-koa
 * servers it measures what Koa itself costs per request.
 */
import { LatencyHistogram } from '../../shared/stats.js';
import { Failures, type Control, type LoadParams, type ScenarioResult, measureWindow } from '../common.js';
import { buildRequest, HttpConn, type ResponseHandler } from '../http-client.js';

interface Counters {
  running: boolean;
  measuring: boolean;
  counted: number;
  histogram: LatencyHistogram;
}

/** One connection's request loop; the object is its own (reused) response handler. */
class RequestLoop implements ResponseHandler {
  readonly conn: HttpConn;
  #status = 0;
  #body = '';
  #sentAt = 0;

  constructor(
    port: number,
    private readonly request: Buffer,
    private readonly verify: boolean,
    private readonly counters: Counters,
    private readonly failures: Failures,
  ) {
    this.conn = new HttpConn(port);
  }

  next(): void {
    if (!this.counters.running || this.failures.count > 50) return;
    this.#status = 0;
    this.#body = '';
    this.#sentAt = performance.now();
    this.conn.send(this.request, this);
  }

  onHead(status: number): void {
    this.#status = status;
  }

  onBody(chunk: Buffer): void {
    if (this.verify) this.#body += chunk.toString();
  }

  onEnd(): void {
    if (this.#status !== 200) this.failures.add(`GET / answered ${this.#status}`);
    if (this.verify && this.#body !== 'ok') this.failures.add(`GET / body ${JSON.stringify(this.#body)}, expected "ok"`);
    const c = this.counters;
    if (c.measuring) {
      c.counted++;
      c.histogram.recordMs(performance.now() - this.#sentAt);
    }
    this.next();
  }

  onError(error: Error): void {
    if (this.counters.running) this.failures.add(`GET / failed: ${error.message}`);
  }
}

export async function httpRequests(p: LoadParams, control: Control): Promise<ScenarioResult> {
  const failures = new Failures();
  const request = buildRequest('GET', '/', p.port);
  const counters: Counters = { running: true, measuring: false, counted: 0, histogram: new LatencyHistogram() };
  const loops = Array.from({ length: p.concurrency }, () => new RequestLoop(p.port, request, p.verify, counters, failures));
  for (const loop of loops) loop.next();
  const seconds = await measureWindow(control, p.warmupSec, p.durationSec, () => {
    counters.histogram = new LatencyHistogram();
    counters.counted = 0;
    counters.measuring = true;
  });
  counters.measuring = false;
  counters.running = false;
  const requests = counters.counted;
  for (const loop of loops) loop.conn.destroy();

  return {
    ok: !failures.any && requests > 0,
    errors: requests > 0 ? failures.summary() : [...failures.summary(), 'no request completed in the window'],
    metrics: {
      requestsPerSec: requests / seconds,
      p50Ms: counters.histogram.percentileMs(50),
      p99Ms: counters.histogram.percentileMs(99),
    },
    ops: requests,
    details: { requests, reconnects: loops.reduce((a, l) => a + l.conn.connects - 1, 0) },
  };
}
