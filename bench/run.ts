/**
 * `npm run bench`: koa-sockjs against sockjs-node 0.3.24 and raw ws (issue 4).
 *
 * Each run starts one server in its own process (pinned to one core) and drives
 * it from the load generator in another process (pinned to the other core).
 * Variants are interleaved within each round — A B C A B C … — and every number
 * reported is the median over the rounds, so a noisy neighbour on the machine
 * hurts all variants alike instead of one.
 *
 *   npm run bench                          all scenarios, 3 rounds, results to docs/bench/
 *   npm run bench -- --quick               short runs, 1 round, results to a temp folder
 *   npm run bench -- --scenario ws-echo --rounds 5
 *   npm run bench -- --redis               also the Redis store (koa-sockjs-redis)
 *   npm run bench -- --verify              the load generator checks every message
 *   npm run bench -- --profile --scenario ws-echo-16,broadcast-5000
 *                                          koa-sockjs under `node --cpu-prof`, top self time
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { LoadParams } from './loadgen/common.js';
import { chartSvg } from './lib/chart.js';
import { buildPackage } from './lib/build.js';
import { Balancer } from './lib/balancer.js';
import { canPin, RedisProcess, REPO_ROOT, runLoadgen, ServerProcess } from './lib/processes.js';
import { profileMarkdown, summarizeProfile } from './lib/profile.js';
import {
  CLIENT_SATURATED_CPU,
  CLIENT_SATURATED_ELU,
  markdown,
  summarize,
  TARGET_HEAD,
  TARGET_RULE,
  targetLine,
  type Meta,
  type Results,
  type RunRecord,
  type ScenarioSummary,
} from './lib/report.js';
import { SCENARIOS, selectScenarios, variants as allVariants, variantsFor, type ScenarioDef, type Variant } from './lib/scenarios.js';

const HELP = `Usage: npm run bench -- [options]
  --quick              short durations, 1 round, results to a temp folder (unless --out)
  --scenario LIST      comma-separated ids or prefixes: ws-echo, ws-echo-1, paced-broadcast,
                       paced-broadcast-1000, conn-setup, xhr-polling, idle-memory, idle-xhr-streaming,
                       idle-eventsource, redis-scale, scale-ceiling, ws-echo-16, broadcast, broadcast-5000, xhr-streaming,
                       koa-cost, rooms-5000, rooms-5000-paced, rooms-5000-split (a load-generator name such as idle-receivers
                       or rooms selects all that use it)
  --rounds N           interleaved rounds of every scenario (default 3 for the scenarios coalescing
                       cannot flatter, 2 for the others, to stay under 20 minutes on 2 cores; --quick 1)
  --variants LIST      servers to compare (default koa-sockjs,sockjs-node,ws and each scenario's extras:
                       socket.io, koa-sockjs-redis); also koa-sockjs-upgrade. redis-scale always runs
                       redis-1-process and redis-2-processes
  --redis              add koa-sockjs with the Redis store to every scenario; Redis variants run on a
                       private redis-server the bench starts (not pinned), or on --redis-url
  --duration S         override the measured seconds of the timed scenarios
  --set K=V,...        override load parameters (sessions, inflight, warmupSec, messages, bursts,
                       concurrency, window, batch, rooms, split, paced) for the selected scenarios
  --verify             the load generator decodes and checks every message
  --out DIR            where results.md, results.json and chart.svg go (default docs/bench)
  --no-pin             do not pin server and client to cores
  --server-cpu N / --client-cpu N   cores to pin to (default 0 and 1)
  --profile            run koa-sockjs under node --cpu-prof once per scenario and print the top self time
  --no-build           skip building dist/ first (the koa-sockjs servers run the built package, as users do)
  --rerender FILE      recompute results.md, chart.svg and the summaries of a results.json from its raw runs
  --help`;

interface Options {
  quick: boolean;
  scenarios: ScenarioDef[];
  rounds: number;
  /** --rounds was given: it applies to every scenario (else each scenario's own default). */
  roundsGiven: boolean;
  /** null: the defaults, with each scenario's extras. */
  variants: string[] | null;
  /** Variants added to every scenario's list (--redis). */
  addVariants: string[];
  /** null: start a private redis-server when the Redis variant runs. */
  redisUrl: string | null;
  duration: number | null;
  overrides: Partial<LoadParams>;
  verify: boolean;
  out: string;
  /** --out was given (else --rerender writes beside its input). */
  outGiven: boolean;
  /** Build dist/ before the runs (--no-build skips it). */
  build: boolean;
  pin: boolean;
  serverCpu: number;
  clientCpu: number;
  profile: boolean;
  rerender: string | null;
}

function options(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string' },
      rounds: { type: 'string' },
      variants: { type: 'string' },
      redis: { type: 'boolean', default: false },
      'redis-url': { type: 'string' },
      duration: { type: 'string' },
      set: { type: 'string' },
      verify: { type: 'boolean', default: false },
      out: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'server-cpu': { type: 'string', default: '0' },
      'client-cpu': { type: 'string', default: '1' },
      profile: { type: 'boolean', default: false },
      rerender: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return null;
  const quick = values.quick ?? false;
  const profile = values.profile ?? false;
  const rounds = Number(values.rounds ?? (quick || profile ? 1 : 3));
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new TypeError(`--rounds must be 1..50, got ${values.rounds}`);
  const known = allVariants('');
  const given = values.variants ?? (profile ? 'koa-sockjs' : undefined);
  const list = given === undefined ? null : given.split(',').filter(Boolean);
  for (const v of list ?? []) if (!(v in known)) throw new TypeError(`--variants: unknown ${v}; known: ${Object.keys(known).join(', ')}`);
  const duration = values.duration === undefined ? null : Number(values.duration);
  if (duration !== null && !(duration > 0 && duration <= 120)) throw new TypeError(`--duration must be in (0, 120] seconds, got ${values.duration}`);
  const overrides: Record<string, number> = {};
  for (const pair of (values.set ?? '').split(',').filter(Boolean)) {
    const [key, value] = pair.split('=');
    if (key === undefined || !(key in FLAG) || !(Number(value) >= 0)) {
      throw new TypeError(`--set: expected K=V with K one of ${Object.keys(FLAG).join(', ')}, got ${pair}`);
    }
    overrides[key] = Number(value);
  }
  const cpus = [Number(values['server-cpu']), Number(values['client-cpu'])];
  for (const c of cpus) if (!Number.isInteger(c) || c < 0) throw new TypeError('--server-cpu / --client-cpu must be core numbers');
  const defaultScenarios = profile ? ['ws-echo-16', 'broadcast-5000'] : null;
  return {
    quick,
    scenarios: selectScenarios(values.scenario?.split(',').filter(Boolean) ?? defaultScenarios),
    rounds,
    roundsGiven: values.rounds !== undefined || quick || profile,
    variants: list,
    addVariants: values.redis ? ['koa-sockjs-redis'] : [],
    redisUrl: values['redis-url'] ?? null,
    duration,
    overrides: overrides as Partial<LoadParams>,
    verify: values.verify ?? false,
    out: path.resolve(values.out ?? (quick || profile ? path.join(os.tmpdir(), 'koa-sockjs-bench') : path.join(REPO_ROOT, 'docs/bench'))),
    outGiven: values.out !== undefined,
    build: !(values['no-build'] ?? false),
    pin: !(values['no-pin'] ?? false) && canPin() && os.cpus().length >= 2,
    serverCpu: cpus[0]!,
    clientCpu: cpus[1]!,
    profile,
    rerender: values.rerender === undefined ? null : path.resolve(values.rerender),
  };
}

const FLAG: Record<string, string> = {
  sessions: '--sessions',
  inflight: '--inflight',
  durationSec: '--duration',
  warmupSec: '--warmup',
  messages: '--messages',
  bursts: '--bursts',
  concurrency: '--concurrency',
  window: '--window',
  batch: '--batch',
  transport: '--transport',
  rooms: '--rooms',
  split: '--split',
  paced: '--paced',
};

function paramsOf(def: ScenarioDef, opts: Options): Partial<LoadParams> {
  const params = { ...(opts.quick ? def.quick : def.params) };
  if (opts.duration !== null && params.durationSec !== undefined) params.durationSec = opts.duration;
  return { ...params, ...opts.overrides };
}

function loadArgs(params: Partial<LoadParams>): string[] {
  const args: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    const flag = FLAG[key];
    if (flag !== undefined && value !== undefined) args.push(flag, String(value));
  }
  return args;
}

/** The bench's own redis-server, whose CPU counts for the Redis variants; null when none or external. */
let redisPid: number | null = null;

function headline(def: ScenarioDef, r: RunRecord): string {
  if (!r.ok) return `FAILED: ${r.errors.slice(0, 2).join('; ')}`;
  const m = def.metrics[0]!;
  const v = r.metrics[m.key];
  const value = v === undefined ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: m.digits });
  const cpu = (x: number | null): string => (x === null ? '?' : `${Math.round(x)}%`);
  return `${value} ${m.label}  server CPU ${cpu(r.serverCpu)}  client CPU ${cpu(r.clientCpu)}${r.clientSaturated ? '  ⚠ CLIENT SATURATED' : ''}`;
}

async function runOne(def: ScenarioDef, variant: Variant, round: number, params: Partial<LoadParams>, opts: Options, nodeArgs: string[] = []): Promise<RunRecord> {
  const started = performance.now();
  const record: RunRecord = {
    scenario: def.id,
    round,
    variant: variant.id,
    ok: false,
    errors: [],
    metrics: {},
    ops: null,
    clientCpu: null,
    clientElu: null,
    serverCpu: null,
    serverCpuMs: null,
    clientSaturated: false,
    seconds: 0,
  };
  const servers: ServerProcess[] = [];
  let balancer: Balancer | null = null;
  const pin = opts.pin && def.pin !== false;
  try {
    for (let i = 0; i < (variant.processes ?? 1); i++) {
      servers.push(await ServerProcess.start({ script: variant.script, args: variant.args, cpu: pin ? opts.serverCpu : null, nodeArgs }));
    }
    const first = servers[0]!;
    if (variant.balancer !== undefined && variant.balancer !== false) {
      balancer = await Balancer.start(
        servers.map((s) => s.port),
        { sticky: variant.balancer === 'sticky' },
      );
    }
    // Server CPU: every server process, and the redis-server the variant depends on.
    const pids = [...servers.map((s) => s.pid), ...(variant.redis === true && redisPid !== null ? [redisPid] : [])];
    const target = { pid: first.pid, pids, mem: () => first.mem() };
    const port = balancer?.port ?? first.port;
    const args = ['--scenario', def.load, '--port', String(port), '--protocol', variant.protocol, ...loadArgs(params)];
    // Several processes and no balancer (the rooms scenarios): the load generator spreads its sessions itself.
    if (balancer === null && servers.length > 1) args.push('--ports', servers.map((s) => s.port).join(','));
    if (opts.verify) args.push('--verify');
    const budget = ((params.warmupSec ?? 2) + (params.durationSec ?? 10)) * 1000 + 240_000;
    const { result, serverCpu, serverCpuMs } = await runLoadgen(target, args, pin ? opts.clientCpu : null, budget);
    record.ok = result.ok;
    record.errors = result.errors;
    record.metrics = result.metrics;
    record.ops = result.ops ?? null;
    record.details = result.details;
    record.clientCpu = result.clientCpu?.percent ?? null;
    record.clientElu = result.clientCpu?.elu ?? null;
    record.serverCpu = serverCpu;
    record.serverCpuMs = serverCpuMs;
    record.clientSaturated = (record.clientCpu ?? 0) >= CLIENT_SATURATED_CPU || (record.clientElu ?? 0) >= CLIENT_SATURATED_ELU;
  } catch (error) {
    record.errors = [(error as Error).message];
  } finally {
    await balancer?.stop();
    await Promise.all(servers.map((s) => s.stop()));
  }
  record.seconds = (performance.now() - started) / 1000;
  return record;
}

function machine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  return `${model} (${cpus.length} cores), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}`;
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null; // not a git checkout: the results just say less
  }
}

function writeResults(dir: string, results: Results): string {
  mkdirSync(dir, { recursive: true });
  const md = markdown(results);
  writeFileSync(path.join(dir, 'results.md'), md);
  writeFileSync(path.join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(dir, 'chart.svg'), chartSvg(results));
  updateReadme(dir, results);
  return md;
}

/** Recomputes every summary of a results.json from its raw runs (after a change to the report). */
function rerender(file: string, out: string | null, variants: Record<string, Variant>): void {
  const old = JSON.parse(readFileSync(file, 'utf8')) as Results;
  const scenarios = old.scenarios.map((s) => {
    const def = SCENARIOS.find((d) => d.id === s.id);
    if (def === undefined) throw new Error(`${file}: unknown scenario ${s.id}`);
    const order = s.order ?? s.variants.map((v) => v.variant);
    // Results written before params were recorded: the scenario's own parameters for that kind of run.
    return summarize(def, s.params ?? (old.meta.quick ? def.quick : def.params), order, variants, old.runs);
  });
  const dir = out ?? path.dirname(file);
  writeResults(dir, { ...old, scenarios });
  console.log(`re-rendered ${file} into ${dir}`);
}

/** Replaces the generated block of docs/bench/README.md (between its markers) with the latest summary. */
function updateReadme(dir: string, results: Results): void {
  const file = path.join(dir, 'README.md');
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  const begin = '<!-- latest-results:begin -->';
  const end = '<!-- latest-results:end -->';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a === -1 || b === -1 || b < a) return;
  const targets = results.scenarios.filter((s) => s.target !== null);
  const block = [
    begin,
    `Latest full results: [results.md](results.md) ([chart](chart.svg), [raw JSON](results.json)), taken ${results.meta.date} on ${results.meta.machine}, Node ${results.meta.node}; ${results.meta.pinned}`,
    '',
    ...(targets.length > 0 ? [TARGET_HEAD, TARGET_RULE, ...targets.map(targetLine)] : []),
    end,
  ].join('\n');
  writeFileSync(file, text.slice(0, a) + block + text.slice(b + end.length));
}

async function profileMode(opts: Options, variants: Record<string, Variant>): Promise<void> {
  const dir = path.join(opts.out, 'profiles');
  mkdirSync(dir, { recursive: true });
  const sections: string[] = [];
  for (const def of opts.scenarios) {
    const params = paramsOf(def, opts);
    for (const id of variantsFor(def, opts.variants, opts.addVariants)) {
      // One folder per run: node names the files CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile,
      // one per thread; thread 0 is the main thread (the others are tsx's loader).
      const runDir = path.join(dir, `${def.id}-${id}-${Date.now()}`);
      console.log(`profiling ${def.id} on ${id} (${def.describe(params)})`);
      const record = await runOne(def, variants[id]!, 1, params, opts, ['--cpu-prof', `--cpu-prof-dir=${runDir}`]);
      console.log(`  ${headline(def, record)}`);
      const main = existsSync(runDir) ? readdirSync(runDir).find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) : undefined;
      if (main === undefined) {
        console.log(`  no main-thread profile written in ${runDir}`);
        continue;
      }
      const file = path.join(runDir, main);
      console.log(`  profile: ${file}`);
      sections.push(profileMarkdown(`${def.title} — ${variants[id]!.label} (${def.describe(params)})`, summarizeProfile(file)));
    }
  }
  const text = `# CPU profiles (node --cpu-prof), ${new Date().toISOString()}\n\n${sections.join('\n')}`;
  writeFileSync(path.join(opts.out, 'profile-summary.md'), text);
  console.log(`\n${text}\nwritten to ${path.join(opts.out, 'profile-summary.md')}`);
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  if (opts === null) {
    console.log(HELP);
    return;
  }
  let redis: RedisProcess | null = null;
  const known = allVariants('');
  const needsRedis =
    opts.rerender === null && opts.scenarios.some((def) => variantsFor(def, opts.variants, opts.addVariants).some((id) => known[id]?.redis === true));
  if (needsRedis && opts.redisUrl === null) {
    // Not pinned: a shared service, and the scale-out scenario runs its servers unpinned too.
    redis = await RedisProcess.start(null);
    redisPid = redis.pid;
    console.log(`started redis-server at ${redis.url} for the Redis store variants`);
  }
  try {
    await run(opts, allVariants(redis?.url ?? opts.redisUrl ?? ''));
  } finally {
    await redis?.stop();
  }
}

async function run(opts: Options, variants: Record<string, Variant>): Promise<void> {
  if (opts.rerender !== null) {
    rerender(opts.rerender, opts.outGiven ? opts.out : null, variants);
    return;
  }
  if (opts.build) buildPackage();
  if (opts.profile) {
    await profileMode(opts, variants);
    return;
  }
  const pinned = opts.pin
    ? `Server pinned to CPU ${opts.serverCpu}, load generator to CPU ${opts.clientCpu} (taskset).`
    : 'Processes not pinned to cores.';
  console.log(`koa-sockjs bench: ${opts.scenarios.length} scenario(s), ${opts.rounds} round(s), ${machine()}. ${pinned}`);
  const t0 = performance.now();
  const runs: RunRecord[] = [];
  const summaries: ScenarioSummary[] = [];
  for (const def of opts.scenarios) {
    const params = paramsOf(def, opts);
    const order = variantsFor(def, opts.variants, opts.addVariants);
    console.log(`\n== ${def.title} [${def.id}]\n   ${def.describe(params)}`);
    const rounds = opts.roundsGiven ? opts.rounds : (def.rounds ?? opts.rounds);
    for (let round = 1; round <= rounds; round++) {
      for (const id of order) {
        const record = await runOne(def, variants[id]!, round, params, opts);
        runs.push(record);
        console.log(`   round ${round} ${id.padEnd(17)} ${headline(def, record)}`);
      }
    }
    const summary = summarize(def, params, order, variants, runs);
    summaries.push(summary);
    for (const [variant, ratios] of Object.entries(summary.ratios)) {
      const text = def.metrics.map((m) => `${m.label} ${Number.isFinite(ratios[m.key]) ? ratios[m.key]!.toFixed(2) : '–'}×`).join(', ');
      console.log(`   ${variant} / ${def.baseline}: ${text}`);
    }
    if (summary.target !== null) {
      const t = summary.target;
      console.log(`   target ${t.better === 'higher' ? '>=' : '<='} ${t.ratio}×: ${t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met'}`);
    }
  }
  const meta: Meta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: machine(),
    node: process.version,
    cores: os.cpus().length,
    pinned,
    rounds: opts.rounds,
    quick: opts.quick,
    gitCommit: gitCommit(),
    totalSeconds: (performance.now() - t0) / 1000,
  };
  const results: Results = { meta, scenarios: summaries, runs };
  const md = writeResults(opts.out, results);
  console.log(`\n${md}\nwritten to ${opts.out} (results.md, results.json, chart.svg) in ${Math.round(meta.totalSeconds)} s`);
  if (runs.some((r) => !r.ok)) process.exitCode = 1;
}

await main();
