/**
 * Plain HTTP requests: `concurrency` keep-alive connections each send
 * `GET /` as soon as the previous answer is in. With the bare-http and bare-koa
 * servers it measures what Koa itself costs per request.
 */
import { LatencyHistogram } from '../../shared/stats.js';
import { Failures, sleep, type Control, type LoadParams, type ScenarioResult } from '../common.js';
import { buildRequest, HttpConn } from '../http-client.js';

export async function httpRequests(p: LoadParams, control: Control): Promise<ScenarioResult> {
  const failures = new Failures();
  const request = buildRequest('GET', '/', p.port);
  let histogram = new LatencyHistogram();
  let running = true;
  let measuring = false;
  let counted = 0;

  const loop = (conn: HttpConn): void => {
    if (!running || failures.count > 50) return;
    let status = 0;
    let body = '';
    const t = performance.now();
    conn.send(request, {
      onHead: (code) => {
        status = code;
      },
      onBody: (chunk) => {
        if (p.verify) body += chunk.toString();
      },
      onEnd: () => {
        if (status !== 200) failures.add(`GET / answered ${status}`);
        if (p.verify && body !== 'ok') failures.add(`GET / body ${JSON.stringify(body)}, expected "ok"`);
        if (measuring) {
          counted++;
          histogram.recordMs(performance.now() - t);
        }
        loop(conn);
      },
      onError: (error) => {
        if (running) failures.add(`GET / failed: ${error.message}`);
      },
    });
  };

  const conns = Array.from({ length: p.concurrency }, () => new HttpConn(p.port));
  for (const conn of conns) loop(conn);
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
  const requests = counted;
  for (const conn of conns) conn.destroy();

  return {
    ok: !failures.any && requests > 0,
    errors: requests > 0 ? failures.summary() : [...failures.summary(), 'no request completed in the window'],
    metrics: {
      requestsPerSec: requests / ((t1 - t0) / 1000),
      p50Ms: histogram.percentileMs(50),
      p99Ms: histogram.percentileMs(99),
    },
    details: { requests, reconnects: conns.reduce((a, c) => a + c.connects - 1, 0) },
  };
}
