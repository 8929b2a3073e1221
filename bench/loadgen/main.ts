/**
 * The load generator: runs one scenario against one server and reports a JSON
 * result. Started by bench/run.ts in its own process (pinned to its own core);
 * it can also be run by hand:
 *
 *   node --import tsx bench/loadgen/main.ts --scenario ws-echo --port 8081 --verify
 *
 * With an orchestrator (an IPC channel) it marks the measured window so the
 * server's CPU can be sampled, and can ask for the server's memory. Its own CPU
 * over the window is part of the result, so saturated runs can be flagged.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import type { Control, LoadParams, Protocol, ScenarioResult, ServerMem } from './common.js';
import { broadcast } from './scenarios/broadcast.js';
import { rooms } from './scenarios/rooms.js';
import { connSetup } from './scenarios/conn-setup.js';
import { httpRequests } from './scenarios/http-requests.js';
import { idleMemory } from './scenarios/idle-memory.js';
import { idleReceivers } from './scenarios/idle-receivers.js';
import { pacedBroadcast } from './scenarios/paced-broadcast.js';
import { wsEcho } from './scenarios/ws-echo.js';
import { xhrPolling } from './scenarios/xhr-polling.js';
import { xhrStreaming } from './scenarios/xhr-streaming.js';

export const LOAD_SCENARIOS = {
  'ws-echo': wsEcho,
  broadcast,
  'paced-broadcast': pacedBroadcast,
  rooms,
  'idle-memory': idleMemory,
  'idle-receivers': idleReceivers,
  'xhr-polling': xhrPolling,
  'xhr-streaming': xhrStreaming,
  'conn-setup': connSetup,
  'http-requests': httpRequests,
} as const satisfies Record<string, (p: LoadParams, c: Control) => Promise<ScenarioResult>>;

export type LoadScenario = keyof typeof LOAD_SCENARIOS;

export interface ClientCpu {
  /** CPU time over wall time in the measured window: 100 = one core fully busy. */
  percent: number;
  /** Event-loop utilisation over the window (0..1): near 1 means the client was the bottleneck. */
  elu: number;
}

export interface LoadResult extends ScenarioResult {
  scenario: LoadScenario;
  params: LoadParams;
  clientCpu: ClientCpu | null;
}

function number(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new TypeError(`--${name} must be a non-negative number, got ${value}`);
  return n;
}

function parse(argv: string[]): { scenario: LoadScenario; params: LoadParams } {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string' },
      port: { type: 'string' },
      ports: { type: 'string' },
      rooms: { type: 'string', default: '50' },
      split: { type: 'string', default: '0' },
      paced: { type: 'string', default: '0' },
      protocol: { type: 'string', default: 'sockjs' },
      verify: { type: 'boolean', default: false },
      sessions: { type: 'string', default: '100' },
      inflight: { type: 'string', default: '1' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      messages: { type: 'string', default: '50' },
      bursts: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '100' },
      window: { type: 'string', default: '1000' },
      batch: { type: 'string', default: '100' },
      transport: { type: 'string', default: 'xhr_streaming' },
    },
    strict: true,
  });
  const scenario = values.scenario as LoadScenario;
  if (!(scenario in LOAD_SCENARIOS)) {
    throw new TypeError(`--scenario must be one of ${Object.keys(LOAD_SCENARIOS).join(', ')}, got ${values.scenario}`);
  }
  if (values.protocol !== 'sockjs' && values.protocol !== 'raw' && values.protocol !== 'socketio') {
    throw new TypeError(`--protocol must be sockjs, raw or socketio, got ${values.protocol}`);
  }
  if (values.transport !== 'xhr_streaming' && values.transport !== 'eventsource') {
    throw new TypeError(`--transport must be xhr_streaming or eventsource, got ${values.transport}`);
  }
  const port = number('port', values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError(`--port must be 1..65535, got ${values.port}`);
  const ports = values.ports === undefined ? [port] : values.ports.split(',').map((p) => number('ports', p));
  if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw new TypeError(`--ports must be ports 1..65535, got ${values.ports}`);
  const params: LoadParams = {
    port,
    ports,
    rooms: Math.max(1, Math.floor(number('rooms', values.rooms))),
    split: number('split', values.split) > 0 ? 1 : 0,
    paced: number('paced', values.paced) > 0 ? 1 : 0,
    protocol: values.protocol as Protocol,
    verify: values.verify ?? false,
    sessions: Math.max(1, Math.floor(number('sessions', values.sessions))),
    inflight: Math.max(1, Math.floor(number('inflight', values.inflight))),
    durationSec: number('duration', values.duration),
    warmupSec: number('warmup', values.warmup),
    messages: Math.max(1, Math.floor(number('messages', values.messages))),
    bursts: Math.max(1, Math.floor(number('bursts', values.bursts))),
    concurrency: Math.max(1, Math.floor(number('concurrency', values.concurrency))),
    window: Math.max(1, Math.floor(number('window', values.window))),
    batch: Math.max(1, Math.floor(number('batch', values.batch))),
    transport: values.transport,
  };
  if (params.batch > params.window) throw new TypeError('--batch must not exceed --window');
  return { scenario, params };
}

function createControl(): { control: Control; cpu: () => ClientCpu | null } {
  let cpuStart: NodeJS.CpuUsage | null = null;
  let eluStart: ReturnType<typeof performance.eventLoopUtilization> | null = null;
  let wallStart = 0;
  let result: ClientCpu | null = null;
  let nextId = 0;
  const waiting = new Map<number, (mem: ServerMem | null) => void>();
  process.on('message', (message: { type?: string; id?: number } & Partial<ServerMem>) => {
    if (message.type !== 'mem' || message.id === undefined) return;
    const resolve = waiting.get(message.id);
    waiting.delete(message.id);
    resolve?.(message.rss === undefined ? null : { rss: message.rss, heapUsed: message.heapUsed ?? 0, external: message.external ?? 0, youngGen: message.youngGen ?? 0 });
  });
  const control: Control = {
    mark(phase) {
      if (phase === 'start') {
        cpuStart = process.cpuUsage();
        eluStart = performance.eventLoopUtilization();
        wallStart = performance.now();
      } else if (cpuStart !== null && eluStart !== null) {
        const used = process.cpuUsage(cpuStart);
        const wallMs = performance.now() - wallStart;
        result = {
          percent: wallMs > 0 ? ((used.user + used.system) / 1000 / wallMs) * 100 : 0,
          elu: performance.eventLoopUtilization(eluStart).utilization,
        };
      }
      process.send?.({ type: 'mark', phase });
    },
    serverMem() {
      if (process.send === undefined) return Promise.resolve(null);
      const id = nextId++;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve(null);
        }, 30_000);
        waiting.set(id, (mem) => {
          clearTimeout(timer);
          resolve(mem);
        });
        process.send!({ type: 'mem-request', id });
      });
    },
  };
  return { control, cpu: () => result };
}

async function main(): Promise<void> {
  const { scenario, params } = parse(process.argv.slice(2));
  const { control, cpu } = createControl();
  let result: LoadResult;
  try {
    const r = await LOAD_SCENARIOS[scenario](params, control);
    result = { ...r, scenario, params, clientCpu: cpu() };
  } catch (error) {
    result = { ok: false, errors: [(error as Error).message], metrics: {}, scenario, params, clientCpu: cpu() };
  }
  if (process.send !== undefined) {
    process.send({ type: 'result', result }, () => process.exit(0));
  } else {
    console.log(JSON.stringify(result, null, 2));
    process.exit(result.ok ? 0 : 1);
  }
}

await main();
