// Starts an example after checking what it needs, so a missing piece is named instead of
// surfacing as a stack trace:
//
//   npm run example -- <name>        # npm start is `npm run example -- chat`
//
// It checks Node's version, the installed packages, that dist/ (what the examples import as
// `koa-sockjs`) is built and not older than src/, and, for the cluster, that Redis answers at
// REDIS_URL, and that the ports it will listen on are free. Then it runs the example with tsx,
// in this process's terminal.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Each example's entry file, and what it needs beyond the common checks. */
const EXAMPLES = {
  chat: { entry: 'server.ts', port: 8080 },
  echo: { entry: 'server.ts', port: 8081 },
  'broadcast-route': { entry: 'server.ts', port: 8082 },
  'custom-store': { entry: 'server.ts', port: 8083 },
  prometheus: { entry: 'server.ts', port: 8082, packages: ['@opentelemetry/exporter-prometheus', '@opentelemetry/sdk-metrics'] },
  firehose: { entry: 'server.ts', port: 8083 },
  'cookie-auth': { entry: 'server.ts', port: 8083, packages: ['koa-session', 'koa-helmet'] },
  'token-auth': { entry: 'server.ts', port: 8084 },
  // The proxy on PORT, the chat processes on the NODES ports after it.
  cluster: { entry: 'cluster.ts', port: 8080, extraPorts: () => Number(process.env.NODES ?? 3), packages: ['ioredis'], redis: true },
};

function fail(message) {
  console.error(`Cannot start the example: ${message}`);
  process.exit(1);
}

function newestFile(dir) {
  let newest = { path: '', mtimeMs: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const candidate = entry.isDirectory() ? newestFile(path) : { path, mtimeMs: statSync(path).mtimeMs };
    if (candidate.mtimeMs > newest.mtimeMs) newest = candidate;
  }
  return newest;
}

/** Resolves when `port` can be listened on (and is free again), rejects with the reason. */
function probePort(port, host) {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** Resolves with Redis's answer to PING, or rejects naming what went wrong. */
function pingRedis(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port || 6379), hostname || '127.0.0.1');
    socket.setTimeout(2000, () => socket.destroy(new Error('no answer within 2 s')));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.end();
      resolve(String(data).trim());
    });
    socket.once('error', reject);
  });
}

const name = process.argv[2];
const example = EXAMPLES[name];
if (!example) fail(`say which one: npm run example -- <${Object.keys(EXAMPLES).join('|')}>${name ? ` (there is no "${name}")` : ''}`);

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) fail(`koa-sockjs needs Node.js 20 or later; this is ${process.version}`);

const require = createRequire(join(ROOT, 'package.json'));
// Looked for where npm installs them, not resolved: some packages export no package.json.
for (const pkg of ['koa', 'tsx', 'sockjs-client', ...(example.packages ?? [])]) {
  if (!existsSync(join(ROOT, 'node_modules', pkg, 'package.json'))) {
    fail(`the package "${pkg}" is not installed: run \`npm install\` in ${ROOT}`);
  }
}

if (!existsSync(join(ROOT, 'dist/esm/index.js'))) {
  fail('dist/ is not built (the examples import it as `koa-sockjs`): run `npm run build`');
}
const source = newestFile(join(ROOT, 'src'));
if (source.mtimeMs > statSync(join(ROOT, 'dist/esm/index.js')).mtimeMs) {
  fail(`dist/ is older than ${relative(ROOT, source.path)}: run \`npm run build\` so the example runs the current code`);
}

if (example.redis) {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const answer = await pingRedis(url).catch((error) =>
    fail(`no Redis at ${url} (${error.message}). Start one that writes nothing to disk:\n` +
      `  redis-server --port 6379 --save '' --appendonly no\n` +
      'or point REDIS_URL at yours.'),
  );
  if (answer !== '+PONG' && !answer.startsWith('-NOAUTH')) fail(`${url} does not answer like Redis (PING got ${JSON.stringify(answer)})`);
}

const host = process.env.HOST ?? '127.0.0.1';
const firstPort = Number(process.env.PORT ?? example.port);
if (firstPort !== 0) {
  const ports = Array.from({ length: 1 + (example.extraPorts?.() ?? 0) }, (_, i) => firstPort + i);
  for (const port of ports) {
    await probePort(port, host).catch((error) =>
      fail(error.code === 'EADDRINUSE' ? `port ${port} on ${host} is taken: stop what uses it, or set PORT (PORT=0 picks free ports)` : `cannot listen on ${host}:${port}: ${error.message}`),
    );
  }
}

const tsx = require.resolve('tsx/cli');
const child = spawn(process.execPath, [tsx, join(ROOT, 'examples', name, example.entry)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
