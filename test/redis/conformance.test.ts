/**
 * The conformance tests (test/conformance/, the SockJS protocol suite and more) once more, with
 * every route on a RedisStore: they run in a child `node --test` with KOA_SOCKJS_TEST_REDIS
 * set, which test/conformance/helpers.ts honours. Also: the conformance server's `--redis URL`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFORMANCE_DIR = fileURLToPath(new URL('../conformance/', import.meta.url));

interface Run {
  code: number | null;
  output: string;
}

function run(args: string[], env: NodeJS.ProcessEnv, onOutput?: (text: string, stop: () => void) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      onOutput?.(output, () => child.kill('SIGTERM'));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('conformance on RedisStore', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.stop();
  });

  it('the whole conformance suite passes with every route on a RedisStore', { timeout: 10 * 60_000 }, async () => {
    const files = readdirSync(CONFORMANCE_DIR)
      .filter((name) => name.endsWith('.test.ts'))
      .sort()
      .map((name) => `test/conformance/${name}`);
    assert.ok(files.length > 0, 'conformance tests found');
    // Without NODE_TEST_CONTEXT the child is a test runner of its own, not a child of ours.
    const { code, output } = await run(['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...files], {
      KOA_SOCKJS_TEST_REDIS: redis.url,
      NODE_TEST_CONTEXT: undefined,
    });
    const summary = output.split('\n').filter((line) => /^# (tests|pass|fail) /.test(line));
    const failures = output.split('\n').filter((line) => /^\s*not ok /.test(line));
    assert.equal(code, 0, `conformance on Redis failed:\n${failures.join('\n')}\n${summary.join('\n')}\n\n${output.slice(-4000)}`);
    assert.ok(summary.some((line) => /^# pass [1-9]/.test(line)), `tests ran:\n${summary.join('\n')}`);
  });

  it('the conformance server takes --redis URL', async () => {
    let url: string | undefined;
    let stopServer: (() => void) | undefined;
    const running = run(['--import', 'tsx', 'test/server/conformance-server.ts', '--port', '0', '--redis', redis.url], {}, (output, stop) => {
      stopServer = stop;
      url ??= /listening on (http:\/\/\S+)/.exec(output)?.[1];
    });
    try {
      const deadline = Date.now() + 20_000;
      while (url === undefined) {
        assert.ok(Date.now() < deadline, 'the server started');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const session = `${url}/echo/000/${Date.now()}`;
      assert.equal(await (await fetch(`${session}/xhr`, { method: 'POST' })).text(), 'o\n');
      assert.equal((await fetch(`${session}/xhr_send`, { method: 'POST', body: '["over redis"]' })).status, 204);
      assert.equal(await (await fetch(`${session}/xhr`, { method: 'POST' })).text(), 'a["over redis"]\n');
    } finally {
      stopServer?.();
    }
    const { output } = await running;
    assert.match(output, /session store: Redis at redis:\/\//);
  });
});
