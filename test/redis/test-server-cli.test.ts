// `npm run test-server -- --redis URL` in two processes: pointed at one Redis they share the
// sessions (the default key prefix is fixed), so a session opened on one is served by the
// other; `--redis-prefix` keeps a server apart.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { POST, sessionPart } from '../conformance/helpers.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const TSX = createRequire(import.meta.url).resolve('tsx/cli');
const SCRIPT = fileURLToPath(new URL('../server/conformance-server.ts', import.meta.url));

interface TestServer {
  readonly url: string;
  readonly output: string;
  stop(): Promise<void>;
}

async function startTestServer(redisUrl: string, extra: string[] = []): Promise<TestServer> {
  const child: ChildProcess = spawn(process.execPath, [TSX, SCRIPT, '--port', '0', '--redis', redisUrl, ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)[\s\S]*session store: /.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`test server exited early (${code}): ${output}`)));
  });
  return {
    url,
    get output() {
      return output;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('npm run test-server -- --redis, in two processes', () => {
  let redis: RedisServer;
  const servers: TestServer[] = [];
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    for (const server of servers) await server.stop();
    await redis?.stop();
  });

  it('shares sessions under the default prefix, and keeps a server with another prefix apart', { timeout: 60_000 }, async () => {
    const [a, b, apart] = await Promise.all([
      startTestServer(redis.url),
      startTestServer(redis.url),
      startTestServer(redis.url, ['--redis-prefix', 'someone-else:']),
    ]);
    servers.push(a, b, apart);
    assert.match(a.output, /session store: Redis at redis:\/\/127\.0\.0\.1:\d+, keys under koa-sockjs-test-server:/);
    assert.match(apart.output, /keys under someone-else:/);

    const session = `/echo${sessionPart()}`;
    assert.equal((await POST(`${a.url}${session}/xhr`)).body, 'o\n', 'opened on the first process');
    assert.equal((await POST(`${b.url}${session}/xhr_send`, { body: '["through b"]' })).status, 204, 'a send on the second is accepted');
    assert.equal((await POST(`${b.url}${session}/xhr`)).body, 'a["through b"]\n', 'and the second polls it');

    // Another prefix, another set of sessions: this one does not know the session.
    assert.equal((await POST(`${apart.url}${session}/xhr_send`, { body: '["lost"]' })).status, 404);
  });
});
