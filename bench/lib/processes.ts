/**
 * Process orchestration: every server and every load generator runs in its own
 * process, pinned (when `taskset` exists) to its own core, so that the two never
 * compete for a CPU and the load generator's own CPU can be told apart.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { ServerMem } from '../loadgen/common.js';
import type { LoadResult } from '../loadgen/main.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const LOADGEN = 'bench/loadgen/main.ts';

let tasksetAvailable: boolean | null = null;

/** Whether `taskset` can pin processes here (util-linux). */
export function canPin(): boolean {
  tasksetAvailable ??= spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
  return tasksetAvailable;
}

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ); 100 on every Linux we run on. */
const CLOCK_TICKS = (() => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(out.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** CPU time (user + system, in ms) a process has used so far, read from /proc; null off Linux. */
export function cpuTimeMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)"; comm may contain spaces, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / CLOCK_TICKS;
  } catch {
    return null; // not Linux, or the process is gone: the run reports no server CPU
  }
}

function nodeCommand(cpu: number | null, nodeArgs: string[], script: string, args: string[]): { command: string; argv: string[] } {
  const node = [...nodeArgs, '--import', 'tsx', script, ...args];
  if (cpu !== null && canPin()) return { command: 'taskset', argv: ['-c', String(cpu), process.execPath, ...node] };
  return { command: process.execPath, argv: node };
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export interface ServerOptions {
  script: string;
  args: string[];
  /** Core to pin to, or null for no pinning. */
  cpu: number | null;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  startTimeoutMs?: number;
}

export class ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly pid: number;
  #nextId = 0;
  #waiting = new Map<number, (mem: ServerMem) => void>();

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
    this.pid = child.pid!;
    child.on('message', (message: { type?: string; id?: number } & Partial<ServerMem>) => {
      if (message.type !== 'mem' || message.id === undefined) return;
      const resolve = this.#waiting.get(message.id);
      this.#waiting.delete(message.id);
      resolve?.({ rss: message.rss ?? 0, heapUsed: message.heapUsed ?? 0, external: message.external ?? 0, youngGen: message.youngGen ?? 0 });
    });
  }

  static start(options: ServerOptions): Promise<ServerProcess> {
    // --expose-gc for every server alike: the idle-memory scenario collects garbage before measuring.
    const { command, argv } = nodeCommand(options.cpu, ['--expose-gc', ...(options.nodeArgs ?? [])], options.script, options.args);
    const child = spawn(command, argv, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${options.script} did not start within ${options.startTimeoutMs ?? 30_000} ms`));
      }, options.startTimeoutMs ?? 30_000);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${options.script} exited before it was ready (code ${code}, signal ${signal})`));
      });
      child.on('message', function onReady(message: { type?: string; port?: number }) {
        if (message.type !== 'ready' || message.port === undefined) return;
        clearTimeout(timer);
        child.off('message', onReady);
        child.removeAllListeners('exit');
        resolve(new ServerProcess(child, message.port));
      });
    });
  }

  /** Asks the server to collect garbage twice and report its memory. */
  mem(timeoutMs = 30_000): Promise<ServerMem | null> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        resolve(null);
      }, timeoutMs);
      this.#waiting.set(id, (mem) => {
        clearTimeout(timer);
        resolve(mem);
      });
      this.child.send({ type: 'mem', id });
    });
  }

  /** Asks the server to exit (so `--cpu-prof` writes its profile); kills it if it does not. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.send({ type: 'shutdown' });
    else this.child.kill('SIGTERM');
    if (!(await waitForExit(this.child, 10_000))) {
      this.child.kill('SIGKILL');
      await waitForExit(this.child, 5_000);
    }
  }
}

export interface LoadgenRun {
  result: LoadResult;
  /** The server's CPU over the measured window, in % of one core; null when unknown. */
  serverCpu: number | null;
  /** The server's CPU time over the measured window, in ms; null when unknown. */
  serverCpuMs: number | null;
}

/** What the load generator needs of the server it drives. */
export interface LoadTarget {
  /** Process whose CPU is sampled at the load generator's marks; null when unknown. */
  readonly pid: number | null;
  /** Several processes whose CPU is summed instead (a scaled-out server and its redis-server). */
  readonly pids?: readonly number[];
  mem(): Promise<ServerMem | null>;
}

/** The CPU time the target's processes have used so far, summed; null when any is unknown. */
function targetCpuMs(server: LoadTarget): number | null {
  const pids = server.pids ?? (server.pid === null ? [] : [server.pid]);
  if (pids.length === 0) return null;
  let total = 0;
  for (const pid of pids) {
    const ms = cpuTimeMs(pid);
    if (ms === null) return null;
    total += ms;
  }
  return total;
}

/**
 * Runs the load generator once (its arguments name the port) and returns its
 * result. Relays its memory requests to the server and samples the server's CPU
 * at its marks.
 */
export function runLoadgen(server: LoadTarget, args: string[], cpu: number | null, timeoutMs: number): Promise<LoadgenRun> {
  const { command, argv } = nodeCommand(cpu, [], LOADGEN, args);
  const child = spawn(command, argv, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let startCpu: number | null = null;
  let startAt = 0;
  let serverCpu: number | null = null;
  let serverCpuMs: number | null = null;
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`load generator did not finish within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    const finish = (error: Error | null, result?: LoadResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== null) reject(error);
      else resolve({ result: result!, serverCpu, serverCpuMs });
    };
    child.on('message', (message: { type?: string; phase?: string; id?: number; result?: LoadResult }) => {
      if (message.type === 'mark') {
        const now = performance.now();
        const cpuMs = targetCpuMs(server);
        if (message.phase === 'start') {
          startCpu = cpuMs;
          startAt = now;
        } else if (startCpu !== null && cpuMs !== null && now > startAt) {
          serverCpuMs = cpuMs - startCpu;
          serverCpu = (serverCpuMs / (now - startAt)) * 100;
        }
      } else if (message.type === 'mem-request' && message.id !== undefined) {
        const id = message.id;
        void server.mem().then((mem) => {
          if (child.connected) child.send({ type: 'mem', id, ...(mem ?? {}) });
        });
      } else if (message.type === 'result' && message.result !== undefined) {
        const result = message.result;
        void waitForExit(child, 5_000).then(() => finish(null, result));
      }
    });
    child.once('error', (err) => finish(err));
    child.once('exit', (code, signal) => {
      // A result that arrived first wins; otherwise the load generator died.
      setTimeout(() => finish(new Error(`load generator exited without a result (code ${code}, signal ${signal})`)), 100);
    });
  });
}

/** A private redis-server for the `koa-sockjs-redis` variant, on a free loopback port. */
export class RedisProcess {
  readonly child: ChildProcess;
  readonly url: string;

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.url = `redis://127.0.0.1:${port}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Starts redis-server (no persistence), pinned to `cpu` like the server it serves. */
  static async start(cpu: number | null): Promise<RedisProcess> {
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const pinned = cpu !== null && canPin();
    const child = spawn(pinned ? 'taskset' : 'redis-server', pinned ? ['-c', String(cpu), 'redis-server', ...args] : args, {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(new Error(`redis-server could not start (${err.message}); install it or pass --redis-url`)));
      child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}; install it or pass --redis-url`)));
    });
    // Ready once it accepts a connection; bounded, so a broken install cannot hang the bench.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ok = await Promise.race([canConnect(port), failed]);
      if (ok) break;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error('redis-server did not accept connections within 10 s');
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.removeAllListeners('exit');
    child.removeAllListeners('error');
    child.on('error', () => {}); // reported through the runs that need it
    return new RedisProcess(child, port);
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    if (!(await waitForExit(this.child, 5_000))) this.child.kill('SIGKILL');
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
