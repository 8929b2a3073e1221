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

function startProcess(index: number): Promise<number> {
  // Each process on the port after the proxy's (or any free one when PORT=0).
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_FILE], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, REDIS_URL: redisUrl, PORT: String(port === 0 ? 0 : port + 1 + index), HOST: host },
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`chat process ${index} exited (${code}); is Redis running at ${redisUrl}?`)));
    child.on('message', (message: { type?: string; port?: number }) => {
      if (message.type === 'ready') resolve(message.port!);
    });
  });
}

function stopAll(): void {
  for (const child of children) child.kill('SIGTERM');
}

try {
  const ports = await Promise.all(Array.from({ length: nodes }, (_, i) => startProcess(i)));
  const proxy = createRoundRobinProxy(ports, host);
  proxy.listen(port, host, () => {
    const address = proxy.address() as AddressInfo;
    console.log(`Cluster running at http://${host}:${address.port}/ (chat processes on ports ${ports.join(', ')}, Redis at ${redisUrl})`);
  });
  const shutdown = (): void => {
    proxy.close();
    proxy.closeAllConnections();
    stopAll();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  stopAll();
  process.exitCode = 1;
}
