// examples/firehose: a client that stalls makes the producer wait (buffered bytes stay near its
// high-water mark, far under maxBufferedBytes); when the client reads again the ticks go on,
// in sequence, and the session was never closed.
import assert from 'node:assert/strict';
import type http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { createFirehoseApp, HIGH_WATER, MAX_BUFFERED_BYTES, type FirehoseSession } from '../../examples/firehose/server.js';
import { until } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';

describe('examples/firehose', () => {
  let server: Listening;
  let sessions: FirehoseSession[];
  before(async () => {
    const firehose = createFirehoseApp();
    sessions = firehose.sessions;
    server = await listen(firehose.app);
  });
  after(() => server.close());

  it('paces itself to a client that stalls, and resumes in sequence', { timeout: 60_000 }, async () => {
    let socket: net.Socket | undefined;
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/firehose/websocket`, {
      createConnection: (options: http.ClientRequestArgs) => (socket = net.connect(options as net.NetConnectOpts)),
    });
    let next = 0;
    let outOfOrder: string | undefined;
    ws.on('message', (data) => {
      const { seq } = JSON.parse(String(data)) as { seq: number };
      if (seq !== next && outOfOrder === undefined) outOfOrder = `got ${seq}, expected ${next}`;
      next = seq + 1;
    });
    await until(() => next > 1000, 'a thousand ticks', 30_000);

    socket!.pause();
    const session = sessions.at(-1)!;
    const waitsBefore = session.waits;
    // Stalled: the producer stops once the socket buffers and its high-water mark are full.
    let sent = -1;
    await until(() => {
      const stalled = session.sent === sent && session.bufferedBytes > HIGH_WATER / 2;
      sent = session.sent;
      return stalled;
    }, 'the producer to stop', 30_000);
    assert.ok(session.waits > waitsBefore);
    assert.ok(session.maxBuffered < MAX_BUFFERED_BYTES / 4, `${session.maxBuffered} bytes buffered at most`);

    const resumedAt = next;
    socket!.resume();
    await until(() => next > resumedAt + 5000, 'ticks to flow again', 30_000);
    assert.equal(outOfOrder, undefined);
    assert.equal(ws.readyState, WebSocket.OPEN, 'never closed as too slow');
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;
    // The app keeps no session that ended (a long-running firehose would grow without bound).
    await until(() => sessions.length === 0, 'the session to leave the list');
  });
});
