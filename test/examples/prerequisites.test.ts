// `npm run example -- <name>` (scripts/example.mjs) names what is missing instead of starting
// an example that cannot work; the cluster example refuses to start without Redis.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUNNER = join(ROOT, 'scripts/example.mjs');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}, timeout = 30_000): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** A port nothing listens on: listened on, then closed. */
async function closedPort(): Promise<number> {
  const server = await listening();
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function listening(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe('npm run example', () => {
  // A copy of the runner in a checkout of its own, sharing this one's node_modules, so each
  // check is tested alone, whatever state this checkout's dist/ is in.
  let checkout: string;
  let runner: string;
  before(() => {
    checkout = mkdtempSync(join(tmpdir(), 'koa-sockjs-examples-'));
    mkdirSync(join(checkout, 'scripts'));
    runner = join(checkout, 'scripts/example.mjs');
    copyFileSync(RUNNER, runner);
    writeFileSync(join(checkout, 'package.json'), '{ "name": "koa-sockjs", "type": "module" }\n');
    symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
    mkdirSync(join(checkout, 'src/session'), { recursive: true });
    writeFileSync(join(checkout, 'src/session/session.ts'), '');
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(join(checkout, 'src/session/session.ts'), hourAgo, hourAgo);
  });
  after(() => rmSync(checkout, { recursive: true, force: true }));

  const built = (): void => {
    mkdirSync(join(checkout, 'dist/esm'), { recursive: true });
    writeFileSync(join(checkout, 'dist/esm/index.js'), '');
  };

  it('lists every example when none or an unknown one is named', async () => {
    const examples = readdirSync(join(ROOT, 'examples'), { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    assert.ok(examples.includes('chat') && examples.includes('cluster'));
    for (const args of [[], ['nope']]) {
      const outcome = await run([runner, ...args]);
      assert.equal(outcome.code, 1);
      const listed = /^Cannot start the example: say which one: npm run example -- <([^>]+)>/.exec(outcome.stderr)?.[1]?.split('|');
      assert.deepEqual(listed?.sort(), examples.sort(), 'the runner knows every folder in examples/');
    }
  });

  it('says which package is not installed', async () => {
    const bare = mkdtempSync(join(tmpdir(), 'koa-sockjs-examples-'));
    try {
      mkdirSync(join(bare, 'scripts'));
      mkdirSync(join(bare, 'node_modules'));
      copyFileSync(RUNNER, join(bare, 'scripts/example.mjs'));
      const outcome = await run([join(bare, 'scripts/example.mjs'), 'echo']);
      assert.equal(outcome.code, 1);
      assert.match(outcome.stderr, /the package "koa" is not installed: run `npm install` in /);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('says to build when dist/ is not there', async () => {
    const outcome = await run([runner, 'echo']);
    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /dist\/ is not built \(the examples import it as `koa-sockjs`\): run `npm run build`/);
  });

  it('says to rebuild when src/ changed after the build', async () => {
    built();
    const twoHoursAgo = new Date(Date.now() - 7_200_000);
    utimesSync(join(checkout, 'dist/esm/index.js'), twoHoursAgo, twoHoursAgo);
    const outcome = await run([runner, 'echo']);
    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /dist\/ is older than src\/session\/session\.ts: run `npm run build`/);
  });

  it('says that Redis is missing, and how to start one that leaves nothing on disk', async () => {
    built();
    const outcome = await run([runner, 'cluster'], { REDIS_URL: `redis://127.0.0.1:${await closedPort()}`, PORT: '0' });
    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /no Redis at redis:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED/);
    assert.match(outcome.stderr, /redis-server --port 6379 --save '' --appendonly no/);
  });

  it('says which port is taken', async () => {
    built();
    const busy = await listening();
    try {
      const { port } = busy.address() as { port: number };
      const outcome = await run([runner, 'echo'], { PORT: String(port), HOST: '127.0.0.1' });
      assert.equal(outcome.code, 1);
      assert.match(outcome.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is taken: stop what uses it, or set PORT`));
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});

describe('examples/cluster without Redis', () => {
  it('exits saying so, never "Cluster running"', { timeout: 60_000 }, async () => {
    const outcome = await run(['--import', 'tsx', 'examples/cluster/cluster.ts'], { REDIS_URL: `redis://127.0.0.1:${await closedPort()}`, PORT: '0', NODES: '1' }, 50_000);
    assert.equal(outcome.code, 1, `exit code; stdout: ${outcome.stdout}`);
    assert.doesNotMatch(outcome.stdout, /Cluster running/);
    assert.match(outcome.stderr, /Chat process \d+: no Redis at redis:\/\/127\.0\.0\.1:\d+ .*unreachable/);
    assert.match(outcome.stderr, /The cluster did not start: chat process 1 \(pid \d+\) exited with code 1 before it was ready/);
  });
});
