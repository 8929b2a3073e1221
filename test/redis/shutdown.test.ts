/**
 * Graceful shutdown on Redis, two real processes: the process that closes refuses new sessions
 * at once, and its polling session, with a message queued for it, is adopted by the other
 * process when the client comes back there: the message arrives, and the session goes on.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { post } from '../helpers/http-client.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const NODE_SCRIPT = fileURLToPath(new URL('./drain-node.ts', import.meta.url));

interface Event {
  type: string;
  [key: string]: unknown;
}

class DrainNode {
  readonly events: Event[] = [];
  port = 0;
  constructor(readonly child: ChildProcess) {
    child.on('message', (event: Event) => this.events.push(event));
  }

  static async start(redisUrl: string, keyPrefix: string): Promise<DrainNode> {
    const child = spawn(process.execPath, ['--import', 'tsx', NODE_SCRIPT], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, REDIS_URL: redisUrl, KEY_PREFIX: keyPrefix },
    });
    const node = new DrainNode(child);
    node.port = ((await node.next('ready')).port as number) ?? 0;
    return node;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/echo`;
  }

  /** The next event of this type (one already received counts). */
  next(type: string): Promise<Event> {
    const found = this.events.find((event) => event.type === type);
    if (found) {
      this.events.splice(this.events.indexOf(found), 1);
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const onMessage = (event: Event): void => {
        if (event.type !== type) return;
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        this.events.splice(this.events.indexOf(event), 1);
        resolve(event);
      };
      const onExit = (): void => reject(new Error(`the process exited before "${type}"`));
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
  }

  command(command: Record<string, unknown>): void {
    this.child.send(command);
  }

  hooks(): Event[] {
    return this.events.filter((event) => event.type === 'hook');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }
}

describe('route.close({ timeout }) on Redis, two processes', () => {
  let redis: RedisServer;
  let leaving: DrainNode;
  let staying: DrainNode;

  before(async () => {
    redis = await startRedisServer();
    const prefix = `drain:${randomUUID()}:`;
    [leaving, staying] = await Promise.all([DrainNode.start(redis.url, prefix), DrainNode.start(redis.url, prefix)]);
  });
  after(async () => {
    await Promise.all([leaving?.stop(), staying?.stop()]);
    await redis?.stop();
  });

  it('hands its sessions over without losing a queued message', { timeout: 60_000 }, async () => {
    // A polling session opened on the process that will leave.
    const session = `${leaving.url}/000/${randomUUID()}`;
    assert.equal((await post(`${session}/xhr`)).body, 'o\n');
    const opened = await leaving.next('hook');
    assert.equal(opened.hook, 'onOpen');

    // A message for it while no poll is outstanding: it waits in Redis.
    leaving.command({ cmd: 'send', message: 'queued before the shutdown' });
    assert.equal((await leaving.next('sent')).count, 1);

    // Shutdown, with room for receivers to take what is queued; meanwhile no new session here.
    leaving.command({ cmd: 'close', timeout: 1500 });
    await leaving.next('closing');
    const refused = await post(`${leaving.url}/000/${randomUUID()}/xhr`);
    assert.equal(refused.status, 503);
    assert.equal(refused.body, 'Server is shutting down.');
    // Nobody polls: the timeout ends, and the session is handed over, not closed: counted as
    // handed over, not as a session that ended (with no close code, as if it timed out).
    const closed = await leaving.next('closed');
    assert.deepEqual(closed.sessions, { open: 0, openByTransport: {}, created: 1, closed: 0, closedByCode: {}, handedOver: 1, adopted: 0 });
    await once(leaving.child, 'exit');
    assert.deepEqual(
      leaving.hooks().map((event) => event.hook),
      [],
      'no hook ran on the process that left (onOpen was taken above): the session goes on elsewhere',
    );

    // The client's next poll lands on the other process: it adopts the session, and the
    // message queued before the shutdown arrives.
    assert.equal((await post(`${session}/xhr`.replace(String(leaving.port), String(staying.port)))).body, 'a["queued before the shutdown"]\n');
    // The session goes on there: an echo, from the process that adopted it.
    const onStaying = session.replace(String(leaving.port), String(staying.port));
    assert.equal((await post(`${onStaying}/xhr_send`, '["still here"]')).status, 204);
    assert.equal((await post(`${onStaying}/xhr`)).body, 'a["still here"]\n');
    const message = await staying.next('hook');
    assert.deepEqual([message.hook, message.id, message.message], ['onMessage', opened.id, 'still here']);
    assert.equal(staying.hooks().filter((event) => event.hook === 'onOpen').length, 0, 'onOpen does not run again');
    // Counted there as adopted (it was not opened there), and open.
    staying.command({ cmd: 'stats' });
    assert.deepEqual((await staying.next('stats')).sessions, {
      open: 1,
      openByTransport: { 'xhr-polling': 1 },
      created: 0,
      closed: 0,
      closedByCode: {},
      handedOver: 0,
      adopted: 1,
    });
  });
});
