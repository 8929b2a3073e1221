/**
 * Connection setup: `concurrency` loops each open a new websocket session
 * (TCP connect, upgrade, and for SockJS the `o` frame), close it, and open the
 * next. Measures new sessions per second and the setup time of each.
 */
import { LatencyHistogram } from '../../shared/stats.js';
import { Failures, newSessionId, sessionHandlers, sleep, wsPath, type Control, type LoadParams, type ScenarioResult, measureWindow } from '../common.js';
import { WsClient } from '../ws-client.js';

/** A run with this many failed handshakes stops: the server is broken, not slow. */
const MAX_FAILURES = 50;

export async function connSetup(p: LoadParams, control: Control): Promise<ScenarioResult> {
  const failures = new Failures();
  let histogram = new LatencyHistogram();
  let running = true;
  let measuring = false;
  let counted = 0;
  const live = new Set<WsClient>();
  let next = 0;
  const startedAt = new Map<number, number>();

  const startOne = (): void => {
    if (!running || failures.count >= MAX_FAILURES) return;
    const index = next++;
    startedAt.set(index, performance.now());
    live.add(new WsClient(p.port, wsPath('/echo', p.protocol, newSessionId()), index, handlers));
  };

  const handlers = sessionHandlers(
    p.protocol,
    {
      onOpen: (client) => {
        const t = startedAt.get(client.index);
        if (t === undefined) return; // a second `o` is reported by sessionHandlers' checks
        startedAt.delete(client.index);
        if (measuring) {
          histogram.recordMs(performance.now() - t);
          counted++;
        }
        // A clean close (close frames both ways, the server ends TCP), then the next session.
        client.close();
        startOne();
      },
      onMessages: (client) => failures.add(`session ${client.index}: unexpected message`),
      onClose: (client, error) => {
        live.delete(client);
        if (startedAt.delete(client.index)) {
          failures.add(`session ${client.index} closed before it opened${error ? `: ${error.message}` : ''}`);
          startOne();
        }
      },
    },
    failures,
  );

  for (let i = 0; i < p.concurrency; i++) startOne();
  const seconds = await measureWindow(control, p.warmupSec, p.durationSec, () => {
    histogram = new LatencyHistogram();
    counted = 0;
    measuring = true;
  });
  measuring = false;
  running = false;
  const sessions = counted;
  // Let the last handshakes and closes finish (bounded), then drop what is left.
  for (let i = 0; i < 100 && live.size > 0; i++) await sleep(20);
  const stillOpenAtEnd = live.size;
  for (const client of live) client.destroy();

  return {
    ok: !failures.any && sessions > 0,
    errors: sessions > 0 ? failures.summary() : [...failures.summary(), 'no session opened in the window'],
    metrics: {
      sessionsPerSec: sessions / seconds,
      p50Ms: histogram.percentileMs(50),
      p99Ms: histogram.percentileMs(99),
    },
    ops: sessions,
    details: { sessions, stillOpenAtEnd },
  };
}
