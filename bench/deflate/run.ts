/**
 * `npm run bench:deflate`: what permessage-deflate costs and saves on koa-sockjs's websocket
 * transport, with compressible messages (issue 14). Runs alone: no other bench part needed.
 *
 * For each variant (off; on with the defaults, threshold 1024; on with threshold 0, the
 * connection's running context) a fresh server process is started, `--clients` ws clients
 * (offering permessage-deflate, as browsers do) each echo `--messages` JSON records of about
 * `--size` bytes with `--window` in flight, and the server reports, for the measured part only
 * (after a warm-up of one tenth), the bytes its sockets carried and its CPU time. Variants run
 * interleaved for `--rounds` rounds; the medians are printed as a Markdown table.
 *
 *   npm run bench:deflate
 *   npm run bench:deflate -- --clients 20 --messages 2000 --size 2048 --rounds 5
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { buildPackage } from '../lib/build.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '20' },
    messages: { type: 'string', default: '1000' },
    size: { type: 'string', default: '1024' },
    window: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
  },
});
const CLIENTS = Number(values.clients);
const MESSAGES = Number(values.messages);
const SIZE = Number(values.size);
const WINDOW = Number(values.window);
const ROUNDS = Number(values.rounds);
const VARIANTS = ['off', 'on', 'context'] as const;
type Variant = (typeof VARIANTS)[number];

const WORDS = ['alice', 'bob', 'carol', 'online', 'away', 'lobby', 'typing', 'message', 'the', 'room', 'status', 'update', 'seen', 'true', 'false'];

/** A JSON record of about SIZE bytes: varied enough to be realistic, repetitive enough to compress. */
function record(client: number, seq: number): string {
  const parts: string[] = [];
  let i = seq * 7 + client * 13;
  let length = 0;
  while (length < SIZE - 60) {
    const word = `${WORDS[i % WORDS.length]!}-${i % 97}`;
    parts.push(word);
    length += word.length + 4;
    i = (i * 31 + 17) % 100_003;
  }
  return JSON.stringify({ client, seq, at: 1_700_000_000_000 + seq, words: parts });
}

interface ServerReading {
  kind: 'read';
  cpuMicros: number;
  wallMicros: number;
  bytesRead: number;
  bytesWritten: number;
  rss: number;
}

function ask<T>(child: ChildProcess, message: string, kind: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (reply: { kind: string }): void => {
      if (reply.kind !== kind) return;
      child.off('message', onMessage);
      resolve(reply as T);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

/** One client: echoes `count` messages with WINDOW in flight; resolves when all came back. */
function runClient(ws: WebSocket, client: number, from: number, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = from;
    let received = 0;
    const end = from + count;
    const sendNext = (): void => {
      ws.send(JSON.stringify([record(client, sent++)]));
    };
    const onMessage = (data: Buffer): void => {
      const frame = data.toString();
      if (frame.charCodeAt(0) !== 97 /* a */) return;
      received += (JSON.parse(frame.slice(1)) as unknown[]).length;
      if (sent < end) sendNext();
      if (received >= count) {
        ws.off('message', onMessage);
        resolve();
      }
    };
    ws.on('message', onMessage);
    ws.once('error', reject);
    for (let i = 0; i < WINDOW && sent < end; i++) sendNext();
  });
}

async function runVariant(variant: Variant): Promise<{ reading: ServerReading; messages: number; extensions: string }> {
  const serverFile = fileURLToPath(new URL('./server.ts', import.meta.url));
  const child = fork(serverFile, ['--deflate', variant], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const { port } = await new Promise<{ port: number }>((resolve, reject) => {
      child.once('message', (message: { kind: string; port: number }) => resolve(message));
      child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
    });
    const sockets = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/echo/0/${i}/websocket`, { perMessageDeflate: true });
        return new Promise<WebSocket>((resolve, reject) => {
          ws.once('message', () => resolve(ws));
          ws.once('error', reject);
        });
      }),
    );
    const warmup = Math.max(1, Math.floor(MESSAGES / 10));
    await Promise.all(sockets.map((ws, i) => runClient(ws, i, 0, warmup)));
    await ask(child, 'mark', 'marked');
    await Promise.all(sockets.map((ws, i) => runClient(ws, i, warmup, MESSAGES)));
    const reading = await ask<ServerReading>(child, 'read', 'read');
    const extensions = sockets[0]!.extensions;
    for (const ws of sockets) ws.terminate();
    return { reading, messages: CLIENTS * MESSAGES, extensions };
  } finally {
    child.send('exit');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

buildPackage();
const results = new Map<Variant, Array<{ reading: ServerReading; messages: number; extensions: string }>>();
for (let round = 0; round < ROUNDS; round++) {
  for (const variant of VARIANTS) {
    const result = await runVariant(variant);
    results.set(variant, [...(results.get(variant) ?? []), result]);
    process.stderr.write(`round ${round + 1}/${ROUNDS} ${variant}: ${Math.round(result.reading.cpuMicros / result.messages)} µs CPU/message\n`);
  }
}

const sample = record(0, 0);
const lines = [
  `Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores), ${new Date().toISOString()}`,
  `${CLIENTS} ws clients (offering permessage-deflate) × ${MESSAGES} echoed JSON records of about ${sample.length} bytes, ` +
    `${WINDOW} in flight each; medians of ${ROUNDS} interleaved rounds; server side, measured part only.`,
  '',
  '| perMessageDeflate | negotiated | bytes in / message | bytes out / message | wire bytes vs off | server CPU µs / message | CPU vs off | messages / s |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
];
const base = results.get('off')!;
const baseWire = median(base.map((r) => (r.reading.bytesRead + r.reading.bytesWritten) / r.messages));
const baseCpu = median(base.map((r) => r.reading.cpuMicros / r.messages));
const LABEL: Record<Variant, string> = { off: '`false` (default)', on: '`true` (threshold 1024)', context: '`{ threshold: 0 }`' };
for (const variant of VARIANTS) {
  const runs = results.get(variant)!;
  const bytesIn = median(runs.map((r) => r.reading.bytesRead / r.messages));
  const bytesOut = median(runs.map((r) => r.reading.bytesWritten / r.messages));
  const cpu = median(runs.map((r) => r.reading.cpuMicros / r.messages));
  const rate = median(runs.map((r) => r.messages / (r.reading.wallMicros / 1e6)));
  lines.push(
    `| ${LABEL[variant]} | ${runs[0]!.extensions ? 'yes' : 'no'} | ${bytesIn.toFixed(0)} | ${bytesOut.toFixed(0)} | ` +
      `${(((bytesIn + bytesOut) / baseWire) * 100).toFixed(0)} % | ${cpu.toFixed(1)} | ${(cpu / baseCpu).toFixed(2)}× | ${rate.toFixed(0)} |`,
  );
}
console.log(lines.join('\n'));
