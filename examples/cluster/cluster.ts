// The cluster example: NODES chat processes (default 3) sharing one Redis, behind a round-robin
// proxy with no sticky sessions.
//
//   npx tsx examples/cluster/cluster.ts      # http://127.0.0.1:8080
//   REDIS_URL=redis://host:6379 NODES=2 PORT=3000 npx tsx examples/cluster/cluster.ts
import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createRoundRobinProxy } from './proxy.js';

const SERVER_FILE = fileURLToPath(new URL('./server.ts', import.meta.url));
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const nodes = Number(process.env.NODES ?? 3);
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
if (!Number.isInteger(nodes) || nodes < 1) throw new TypeError(`NODES must be a positive integer, got ${process.env.NODES}`);

const children: ChildProcess[] = [];

interface Started {
  pid: number;
  port: number;
}

/** Resolves once the process is connected to Redis and listening; rejects if it exits first. */
function startProcess(index: number): Promise<Started> {
  // Each process on the port after the proxy's (or any free one when PORT=0).
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_FILE], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, REDIS_URL: redisUrl, PORT: String(port === 0 ? 0 : port + 1 + index), HOST: host },
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    // The process has already said why (no Redis, port taken) on the shared stderr.
    child.once('exit', (code) => reject(new Error(`chat process ${index + 1} (pid ${child.pid}) exited with code ${code} before it was ready`)));
    child.on('message', (message: { type?: string; pid?: number; port?: number }) => {
      if (message.type === 'ready') resolve({ pid: message.pid!, port: message.port! });
    });
  });
}

function stopAll(): void {
  for (const child of children) child.kill('SIGTERM');
}

try {
  const started = await Promise.all(Array.from({ length: nodes }, (_, i) => startProcess(i)));
  const proxy = createRoundRobinProxy(started.map((process) => process.port), host);
  proxy.on('error', (error: NodeJS.ErrnoException) => {
    console.error(`The proxy cannot listen on port ${port}: ${error.code === 'EADDRINUSE' ? 'it is taken (set PORT)' : error.message}`);
    stopAll();
    process.exitCode = 1;
  });
  proxy.listen(port, host, () => {
    const address = proxy.address() as AddressInfo;
    const processes = started.map(({ pid, port }) => `pid ${pid} on port ${port}`).join(', ');
    console.log(`Cluster running at http://${host}:${address.port}/ (proxy pid ${process.pid}; chat processes: ${processes}; Redis at ${redisUrl})`);
  });
  const shutdown = (): void => {
    proxy.close();
    proxy.closeAllConnections();
    stopAll();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
} catch (error) {
  console.error(`The cluster did not start: ${error instanceof Error ? error.message : String(error)}`);
  stopAll();
  process.exitCode = 1;
}
