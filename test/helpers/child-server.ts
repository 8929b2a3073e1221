/**
 * Starts a TypeScript file that listens on `PORT` (given as 0) in a child process, and learns
 * the port it got through the preload report-listening.mjs, without a port probe that another
 * process could race.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PRELOAD = fileURLToPath(new URL('./report-listening.mjs', import.meta.url));

export interface ChildServer {
  readonly child: ChildProcess;
  readonly port: number;
  readonly base: string;
}

/**
 * Runs `file` (through tsx) with `PORT=0` and resolves once it listens; rejects with what it
 * printed when it exits first or does not listen within `timeoutMs`.
 */
export function startChildServer(
  file: string,
  options: { env?: NodeJS.ProcessEnv; stdout?: 'inherit' | 'pipe'; timeoutMs?: number } = {},
): Promise<ChildServer> {
  const stdout = options.stdout ?? 'inherit';
  const stdio: StdioOptions = ['ignore', stdout, 'inherit', 'ipc'];
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', PRELOAD, file], {
    env: { ...process.env, ...options.env, PORT: '0' },
    stdio,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${file} did not listen within ${options.timeoutMs ?? 30_000} ms`));
    }, options.timeoutMs ?? 30_000);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code}) before it listened`));
    };
    child.once('exit', onExit);
    child.on('message', (message: { listening?: number }) => {
      if (typeof message?.listening !== 'number') return;
      clearTimeout(timer);
      child.off('exit', onExit);
      // The IPC channel must not keep the test process alive.
      child.channel?.unref();
      resolve({ child, port: message.listening, base: `http://127.0.0.1:${message.listening}` });
    });
  });
}
