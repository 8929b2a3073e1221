/**
 * Idle memory: the server's RSS growth per idle websocket session. The server
 * is garbage-collected and measured before and after `sessions` sessions open
 * on the echo route (one session is opened and closed first so that code
 * loaded on first use is not charged to the sessions). The growth of V8's young
 * generation is left out (it is bounded, about 4 KB per session at 5 000 in
 * every server) and reported beside.
 */
import {
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
import { WsClient } from '../ws-client.js';

export async function idleMemory(p: LoadParams, control: Control): Promise<ScenarioResult> {
  const failures = new Failures();
  const openCallbacks: Array<() => void> = [];
  let finished = false;
  const closing = new WeakSet<WsClient>();
  const handlers = sessionHandlers(
    p.protocol,
    {
      onOpen: (client) => openCallbacks[client.index]?.(),
      onMessages: (client) => failures.add(`session ${client.index}: unexpected message on an idle session`),
      onClose: (client, error) => {
        if (!finished && !closing.has(client)) failures.add(`session ${client.index} closed early${error ? `: ${error.message}` : ''}`);
      },
    },
    failures,
  );
  const open = (count: number): Promise<WsClient[]> =>
    openSessions(count, p.concurrency, 120_000, (index, opened) => {
      openCallbacks[index] = opened;
      return new WsClient(p.port, wsPath('/echo', p.protocol, newSessionId()), index, handlers);
    });

  const warm = await open(1);
  for (const client of warm) {
    closing.add(client);
    client.close();
  }
  for (let i = 0; i < 100 && warm.some((c) => !c.closed); i++) await sleep(20);
  await sleep(200);

  const before = await control.serverMem();
  if (before === null) {
    return { ok: false, errors: ['idle-memory needs the orchestrator (npm run bench) to ask the server for its memory'], metrics: {} };
  }
  control.mark('start');
  const clients = await open(p.sessions);
  await sleep(1000);
  const after = await control.serverMem();
  control.mark('end');
  finished = true;
  for (const client of clients) client.destroy();
  if (after === null) return { ok: false, errors: ['server memory unavailable'], metrics: {} };

  return {
    ok: !failures.any,
    errors: failures.summary(),
    metrics: {
      // Less the growth of V8's young generation, as for the idle receivers (idle-receivers.ts):
      // opening thousands of connections enlarges it in every server alike, up to its bounded
      // size, and a full GC empties it without giving it back; the RSS with it stays beside.
      rssPerSessionBytes: (after.rss - after.youngGen - (before.rss - before.youngGen)) / p.sessions,
      rssWithYoungGenPerSessionBytes: (after.rss - before.rss) / p.sessions,
      heapPerSessionBytes: (after.heapUsed - before.heapUsed) / p.sessions,
    },
    details: { before, after },
  };
}
