// A firehose that paces itself: every session gets numbered ticks as fast as its client takes
// them, and no faster. The producer sends while less than HIGH_WATER bytes are buffered, then
// awaits session.drain(): a slow or stalled client makes it wait instead of filling memory,
// so the session never comes near maxBufferedBytes (and is never closed as too slow).
//
//   npx tsx examples/firehose/server.ts     # ws://127.0.0.1:8086/firehose (PORT to change it)
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import Koa from 'koa';
import { sockjs, Session } from 'koa-sockjs';

/** Bytes the producer lets wait for the client before it pauses. */
export const HIGH_WATER = 256 * 1024;
/** The route's hard limit, far above what the producer ever buffers. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Ticks sent between two turns of the event loop, so one fast client cannot hog the process. */
const TICKS_PER_TURN = 64;

const PAYLOAD = 'tick '.repeat(200);

export class FirehoseSession extends Session {
  /** The most bytes this session ever had buffered (for the example's test). */
  maxBuffered = 0;
  /** How often the producer waited for the client. */
  waits = 0;
  sent = 0;

  override onOpen(): void {
    void this.produce();
  }

  async produce(): Promise<void> {
    for (;;) {
      for (let i = 0; i < TICKS_PER_TURN; i++) {
        if (!this.send({ seq: this.sent, payload: PAYLOAD })) return;
        this.sent++;
        if (this.bufferedBytes > this.maxBuffered) this.maxBuffered = this.bufferedBytes;
        if (this.bufferedBytes > HIGH_WATER) {
          this.waits++;
          // Resolves once the client has taken all but HIGH_WATER / 2; false once closed.
          if (!(await this.drain(HIGH_WATER / 2))) return;
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

export function createFirehoseApp(): { app: Koa; sessions: FirehoseSession[] } {
  /** The sessions open now (for the example's test); each leaves the list when it is removed. */
  const sessions: FirehoseSession[] = [];
  class Tracked extends FirehoseSession {
    override onOpen(): void {
      sessions.push(this);
      super.onOpen();
    }

    override onRemove(): void {
      sessions.splice(sessions.indexOf(this), 1);
    }
  }
  const app = new Koa();
  app.use(sockjs({ name: 'firehose', prefix: '/firehose', session: Tracked, maxBufferedBytes: MAX_BUFFERED_BYTES }));
  return { app, sessions };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { app } = createFirehoseApp();
  const server = app.listen(Number(process.env.PORT ?? 8086), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`Firehose at http://${address}:${port}/firehose (try the websocket: ws://${address}:${port}/firehose/websocket)`);
  });
}
