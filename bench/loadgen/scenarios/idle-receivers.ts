/**
 * Idle memory per streaming receiver (issue 17): the server's RSS growth per
 * session held open by an idle xhr-streaming (POST .../xhr_streaming) or
 * eventsource (GET .../eventsource) response. Like idle-memory, the server is
 * garbage-collected and measured before and after `sessions` receivers open on
 * the echo route, after one receiver was opened and dropped to load code first.
 * The RSS per receiver leaves out the growth of V8's young generation: opening
 * thousands of connections makes V8 enlarge it (by 15–20 MB, about 9 KB per
 * receiver at 2 000 of them, for every server), which a full GC empties but does
 * not give back. That growth is bounded, not a cost of each receiver: it
 * would be about 1 KB per receiver at 20 000. It is reported beside
 * (`rssWithYoungGenPerSessionBytes`, what round two's runs measured).
 */
import { Failures, newSessionId, sleep, type Control, type LoadParams, type ScenarioResult } from '../common.js';
import { buildRequest, HttpConn, type ResponseHandler } from '../http-client.js';

/** What tells the receiver its session is open: the `o` frame in the transport's framing. */
const OPEN_MARK: Record<string, string> = {
  xhr_streaming: '\no\n', // after the 2 048-byte `h` prelude line
  eventsource: 'data: o\r\n\r\n',
};

function openReceiver(p: LoadParams, index: number, failures: Failures, onOpen: () => void): HttpConn {
  const conn = new HttpConn(p.port);
  const id = newSessionId();
  const path = `/echo/000/${id}/${p.transport}`;
  const request = p.transport === 'eventsource' ? buildRequest('GET', path, p.port) : buildRequest('POST', path, p.port, '');
  const mark = OPEN_MARK[p.transport]!;
  let status = 0;
  let seen = '';
  let opened = false;
  const handler: ResponseHandler = {
    onHead: (code) => {
      status = code;
      if (code !== 200) failures.add(`receiver ${index}: ${p.transport} answered ${code}`);
    },
    onBody: (chunk) => {
      if (opened || status !== 200) return; // heartbeats later on are fine
      seen += chunk.toString('latin1');
      if (seen.includes(mark)) {
        opened = true;
        seen = '';
        onOpen();
      } else if (seen.length > 8192) failures.add(`receiver ${index}: no open frame in the first ${seen.length} bytes`);
    },
    onEnd: () => failures.add(`receiver ${index}: the ${p.transport} response ended while idle`),
    onError: (error) => {
      if (!opened) failures.add(`receiver ${index}: ${error.message}`);
    },
  };
  conn.send(request, handler);
  return conn;
}

/** Opens `count` receivers, `concurrency` at a time; resolves when all are open (or a failure/timeout). */
async function openAll(p: LoadParams, count: number, failures: Failures, timeoutMs: number): Promise<HttpConn[]> {
  const conns: HttpConn[] = [];
  let opened = 0;
  let started = 0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      failures.add(`only ${opened} of ${count} receivers opened within ${timeoutMs} ms`);
      resolve();
    }, timeoutMs);
    const next = (): void => {
      if (started >= count || failures.any) return;
      const index = started++;
      conns.push(
        openReceiver(p, index, failures, () => {
          opened++;
          if (opened === count) {
            clearTimeout(timer);
            resolve();
          } else next();
        }),
      );
    };
    for (let i = 0; i < Math.min(p.concurrency, count); i++) next();
    const poll = setInterval(() => {
      if (failures.any) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 50);
    poll.unref();
  });
  return conns;
}

export async function idleReceivers(p: LoadParams, control: Control): Promise<ScenarioResult> {
  const failures = new Failures();
  for (const conn of await openAll(p, 1, failures, 30_000)) conn.destroy();
  await sleep(300);
  const before = await control.serverMem();
  if (before === null) {
    return { ok: false, errors: ['idle-receivers needs the orchestrator (npm run bench) to ask the server for its memory'], metrics: {} };
  }
  control.mark('start');
  const conns = await openAll(p, p.sessions, failures, 120_000);
  await sleep(1000);
  const after = await control.serverMem();
  control.mark('end');
  for (const conn of conns) conn.destroy();
  if (after === null) return { ok: false, errors: ['server memory unavailable'], metrics: {} };
  return {
    ok: !failures.any,
    errors: failures.summary(),
    metrics: {
      rssPerSessionBytes: (after.rss - after.youngGen - (before.rss - before.youngGen)) / p.sessions,
      rssWithYoungGenPerSessionBytes: (after.rss - before.rss) / p.sessions,
      heapPerSessionBytes: (after.heapUsed - before.heapUsed) / p.sessions,
    },
    details: { transport: p.transport, before, after },
  };
}
