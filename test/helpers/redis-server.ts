/**
 * A real `redis-server` for tests: started on a free loopback port with nothing persisted, and
 * stopped afterwards. A missing redis-server is an error, never a silent skip: the Redis tests
 * are then reported as failing, with how to install it (CI installs it with apt-get).
 *
 *   const redis = await startRedisServer();   // redis.url = redis://127.0.0.1:<port>
 *   await redis.restart();                    // the Redis-restart drill: same port, empty data
 *   await redis.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** Whether the server runs (between start() and stop()). */
  readonly running: boolean;
  /** Stops the server (SIGKILL when `kill`, as a crash), leaving the port free. */
  stop(options?: { kill?: boolean }): Promise<void>;
  /** Starts the server again on the same port, empty. */
  start(): Promise<void>;
  /** stop() then start(). */
  restart(): Promise<void>;
}

/** The redis-server binary: $REDIS_SERVER, or the first on $PATH. */
export function findRedisServer(): string | undefined {
  const fromEnv = process.env.REDIS_SERVER;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'redis-server');
    if (existsSync(candidate)) return candidate;
  }
  for (const candidate of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) if (existsSync(candidate)) return candidate;
  return undefined;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** What a server runs with besides the defaults: a config file first (Sentinel needs one), more arguments after. */
export interface RedisServerOptions {
  /** A config file, passed first (`redis-server <file> ...`); Sentinel rewrites its own. */
  configFile?: string;
  /** Arguments after the defaults, e.g. `['--cluster-enabled', 'yes']` or `['--sentinel']`. */
  args?: readonly string[];
  /** The port; a free one by default. */
  port?: number;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = findRedisServer();
  if (!binary) {
    throw new Error(
      'redis-server was not found (looked at $REDIS_SERVER and $PATH). The Redis store tests need a real one: ' +
        'install it (Debian/Ubuntu: `apt-get install -y redis-server`) or set REDIS_SERVER=/path/to/redis-server.',
    );
  }
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const args = [
      ...(options.configFile ? [options.configFile] : []),
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning'],
      ...(options.args ?? []),
    ];
    const spawned = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = spawned;
    // A test process that exits without stop() (cancelled, or process.exit) leaves no server behind.
    const reap = (): void => {
      spawned.kill('SIGKILL');
    };
    process.once('exit', reap);
    spawned.once('exit', () => process.off('exit', reap));
    let output = '';
    spawned.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    spawned.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    // Ready when it accepts a connection (the log line depends on the log level).
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (spawned.exitCode !== null) throw new Error(`redis-server exited with ${spawned.exitCode}: ${output}`);
      if (await accepts(port)) return;
      if (Date.now() > deadline) {
        spawned.kill('SIGKILL');
        throw new Error(`redis-server did not listen on ${port} within 10 s: ${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const stop = async (options: { kill?: boolean } = {}): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(options.kill ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };

  await start();
  return {
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
  };
}

/** Whether a PING on `port` gets PONG. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}
