/**
 * Turns the runs of `npm run bench` into results: medians per variant, ratios
 * to the baseline (sockjs-node), the issue's targets met or not, and the
 * markdown table printed and written to docs/bench/results.md.
 */
import type { LoadParams } from '../loadgen/common.js';
import { median } from '../shared/stats.js';
import { targetMetric, type MetricDef, type ScenarioDef, type Variant } from './scenarios.js';

/** A client above this CPU (% of one core) or event-loop utilisation may have limited the run. */
export const CLIENT_SATURATED_CPU = 90;
export const CLIENT_SATURATED_ELU = 0.95;

export interface RunRecord {
  scenario: string;
  round: number;
  variant: string;
  ok: boolean;
  errors: string[];
  metrics: Record<string, number>;
  ops: number | null;
  details?: unknown;
  /** % of one core over the measured window. */
  clientCpu: number | null;
  clientElu: number | null;
  serverCpu: number | null;
  serverCpuMs: number | null;
  clientSaturated: boolean;
  /** Wall time of the whole run, server start to stop. */
  seconds: number;
}

export interface VariantSummary {
  variant: string;
  label: string;
  runs: number;
  okRuns: number;
  medians: Record<string, number>;
  /** Median server CPU time per operation, in µs (what one message/session/request costs the server). */
  serverUsPerOp: number | null;
  serverCpuMedian: number | null;
  clientCpuMax: number | null;
  saturatedRuns: number;
}

export interface TargetResult {
  metric: string;
  better: 'higher' | 'lower';
  ratio: number;
  /** The variant held to the target, and the one it is compared with (absent: koa-sockjs and the baseline). */
  subject?: string;
  against?: string;
  /** `ratio` is a limit on the subject's own value (in the metric's unit), not a ratio. */
  absolute?: boolean;
  issue?: number;
  /** subject / against (or the subject's value, when absolute), medians of this run. */
  actual: number | null;
  met: boolean | null;
  /** What stands in the way, from the profile (shown when not met). */
  blocker: string | null;
  /**
   * sockjs-node's server CPU per operation over koa-sockjs's: the capacity ratio if both had a
   * core to themselves. It barely moves when neighbours take CPU, so it cross-checks `actual`
   * on a shared machine. Null for memory.
   */
  byCpu: number | null;
}

export interface ScenarioSummary {
  id: string;
  title: string;
  parameters: string;
  params: Partial<LoadParams>;
  /** Variants in interleaving order. */
  order: string[];
  baseline: string;
  metrics: MetricDef[];
  variants: VariantSummary[];
  /** ratios[variant][metric] = median(variant) / median(baseline); `serverUsPerOp` included. */
  ratios: Record<string, Record<string, number>>;
  target: TargetResult | null;
  /** Why coalescing flatters koa-sockjs's numbers here; absent where it cannot. */
  coalescing?: string;
  /** Interleaved rounds this scenario ran. */
  rounds?: number;
}

export interface Meta {
  date: string;
  command: string;
  machine: string;
  node: string;
  cores: number;
  pinned: string;
  rounds: number;
  quick: boolean;
  gitCommit: string | null;
  totalSeconds: number;
}

export interface Results {
  meta: Meta;
  scenarios: ScenarioSummary[];
  runs: RunRecord[];
}

export function summarize(def: ScenarioDef, params: Partial<LoadParams>, order: string[], all: Record<string, Variant>, runs: RunRecord[]): ScenarioSummary {
  const variants: VariantSummary[] = order.map((id) => {
    const mine = runs.filter((r) => r.scenario === def.id && r.variant === id);
    const ok = mine.filter((r) => r.ok);
    const medians: Record<string, number> = {};
    for (const m of def.metrics) medians[m.key] = median(ok.map((r) => r.metrics[m.key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)));
    const perOp = ok.filter((r) => r.serverCpuMs !== null && r.ops !== null && r.ops > 0).map((r) => (r.serverCpuMs! * 1000) / r.ops!);
    const serverCpu = ok.map((r) => r.serverCpu).filter((v): v is number => v !== null);
    const clientCpu = mine.map((r) => r.clientCpu).filter((v): v is number => v !== null);
    return {
      variant: id,
      label: all[id]?.label ?? id,
      runs: mine.length,
      okRuns: ok.length,
      medians,
      serverUsPerOp: perOp.length > 0 ? median(perOp) : null,
      serverCpuMedian: serverCpu.length > 0 ? median(serverCpu) : null,
      clientCpuMax: clientCpu.length > 0 ? Math.max(...clientCpu) : null,
      saturatedRuns: mine.filter((r) => r.clientSaturated).length,
    };
  });
  const base = variants.find((v) => v.variant === def.baseline);
  const ratios: Record<string, Record<string, number>> = {};
  for (const v of variants) {
    if (v.variant === def.baseline || base === undefined) continue;
    ratios[v.variant] = {};
    for (const m of def.metrics) ratios[v.variant]![m.key] = v.medians[m.key]! / base.medians[m.key]!;
    if (v.serverUsPerOp !== null && base.serverUsPerOp !== null) ratios[v.variant]!.serverUsPerOp = v.serverUsPerOp / base.serverUsPerOp;
  }
  let target: TargetResult | null = null;
  if (def.target !== undefined) {
    const t = def.target;
    const metric = targetMetric(def, t.metric);
    const subject = t.subject ?? 'koa-sockjs';
    const against = t.against ?? def.baseline;
    const value = (id: string): number | undefined => {
      const v = variants.find((x) => x.variant === id);
      if (v === undefined) return undefined;
      return metric.key === 'serverUsPerOp' ? (v.serverUsPerOp ?? undefined) : v.medians[metric.key];
    };
    const mine = value(subject);
    const theirs = value(against);
    const actual = t.absolute === true ? mine : mine !== undefined && theirs !== undefined ? mine / theirs : undefined;
    const known = actual !== undefined && Number.isFinite(actual);
    // The cross-check by CPU cost, for throughput targets compared with another variant.
    const mineCpu = variants.find((x) => x.variant === subject)?.serverUsPerOp;
    const theirCpu = variants.find((x) => x.variant === against)?.serverUsPerOp;
    const byCpu =
      metric.better === 'higher' && t.absolute !== true && mineCpu != null && theirCpu != null && mineCpu > 0 ? theirCpu / mineCpu : null;
    target = {
      metric: metric.key,
      better: metric.better,
      ratio: t.ratio,
      ...(t.subject !== undefined ? { subject } : {}),
      ...(t.against !== undefined ? { against } : {}),
      ...(t.absolute === true ? { absolute: true } : {}),
      ...(t.issue !== undefined ? { issue: t.issue } : {}),
      actual: known ? actual : null,
      met: known ? (metric.better === 'higher' ? actual >= t.ratio : actual <= t.ratio) : null,
      blocker: t.blocker ?? null,
      // A scale-out target's CPU cross-check would compare total CPU, which is not the point.
      byCpu: t.subject === undefined ? byCpu : null,
    };
  }
  return {
    id: def.id,
    title: def.title,
    parameters: def.describe(params),
    params,
    order,
    baseline: def.baseline,
    metrics: def.metrics,
    variants,
    ratios,
    target,
    ...(def.coalescing !== undefined ? { coalescing: def.coalescing } : {}),
    rounds: Math.max(0, ...runs.filter((r) => r.scenario === def.id).map((r) => r.round)),
  };
}

function fmt(value: number | null | undefined, digits: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratioText(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : `${value.toFixed(2)}×`;
}

export const TARGET_HEAD = '| Scenario | Target | Measured | Verdict | By CPU cost |';
export const TARGET_RULE = '| --- | --- | --- | --- | --- |';

function labelOf(s: ScenarioSummary, id: string): string {
  return s.variants.find((v) => v.variant === id)?.label ?? id;
}

/** How a target reads: "server µs/op: koa-sockjs / raw ws ≤ 1.15×", "RSS bytes/session ≤ 10,240". */
function targetText(s: ScenarioSummary): string {
  const t = s.target!;
  const op = t.better === 'higher' ? '≥' : '≤';
  const metric = targetMetric(s, t.metric);
  const subject = labelOf(s, t.subject ?? 'koa-sockjs');
  if (t.absolute === true) return `${metric.label} of ${subject} ${op} ${fmt(t.ratio, 0)}`;
  return `${metric.label}: ${subject} / ${labelOf(s, t.against ?? s.baseline)} ${op} ${t.ratio}×`;
}

export function targetLine(s: ScenarioSummary): string {
  const t = s.target!;
  let verdict = t.met === null ? 'not measured' : t.met ? '**met**' : '**not met**';
  // On a shared machine the two readings can disagree; say so rather than pick one.
  if (t.met !== null && t.byCpu !== null && t.byCpu >= t.ratio !== t.met) verdict += t.met ? ' (not by CPU cost)' : ' (met by CPU cost)';
  const measured = t.absolute === true ? fmt(t.actual, 0) : ratioText(t.actual ?? undefined);
  const issue = t.issue !== undefined ? ` (issue ${t.issue})` : '';
  return `| ${s.title} | ${targetText(s)}${issue} | ${measured} | ${verdict} | ${ratioText(t.byCpu ?? undefined)} |`;
}

/**
 * Issue 4: "where Koa itself costs more than a target allows, measure how much". An
 * xhr-polling echo is two HTTP requests (xhr_send and xhr), so the bare Koa app's CPU per
 * request, twice, is a floor under koa-sockjs's CPU per xhr-polling message.
 */
function koaCost(scenarios: ScenarioSummary[]): string[] {
  const cost = scenarios.find((s) => s.id === 'koa-cost');
  const http = cost?.variants.find((v) => v.variant === 'bare-http');
  const koa = cost?.variants.find((v) => v.variant === 'bare-koa');
  if (cost === undefined || http?.serverUsPerOp == null || koa?.serverUsPerOp == null) return [];
  const lines = [
    "## Koa's own cost",
    '',
    `A bare Koa app answers a keep-alive request with ${fmt(koa.serverUsPerOp, 1)} µs of server CPU, a bare \`http\` handler with ` +
      `${fmt(http.serverUsPerOp, 1)} µs: Koa adds ${fmt(koa.serverUsPerOp - http.serverUsPerOp, 1)} µs per request ` +
      `(requests/s ratio ${ratioText(cost.ratios['bare-koa']?.requestsPerSec)}).`,
  ];
  const polling = scenarios.find((s) => s.id === 'xhr-polling');
  const sockjs = polling?.variants.find((v) => v.variant === 'sockjs-node');
  const ours = polling?.variants.find((v) => v.variant === 'koa-sockjs');
  if (polling?.target != null && sockjs?.serverUsPerOp != null) {
    const budget = sockjs.serverUsPerOp / polling.target.ratio;
    const floor = 2 * koa.serverUsPerOp;
    lines.push(
      `An xhr-polling echo is two requests. sockjs-node spends ${fmt(sockjs.serverUsPerOp, 1)} µs of server CPU per message, so ` +
        `${polling.target.ratio}× its throughput allows koa-sockjs ${fmt(budget, 1)} µs per message; answering two requests ` +
        `through a bare Koa app already takes ${fmt(floor, 1)} µs of that (${fmt((floor / budget) * 100, 0)} %), leaving ` +
        `${fmt(budget - floor, 1)} µs for everything SockJS does. koa-sockjs measured ${fmt(ours?.serverUsPerOp, 1)} µs per message.`,
    );
  }
  lines.push('');
  return lines;
}

export function markdown(results: Results): string {
  const { meta } = results;
  const lines: string[] = [];
  lines.push('# koa-sockjs benchmark results', '');
  lines.push(
    `Taken ${meta.date} on ${meta.machine}, Node ${meta.node}. ${meta.pinned} ` +
      `Up to ${meta.rounds} round(s) per scenario (each scenario says how many), variants interleaved within each round (A B C A B C …); every number is the median over the rounds. ` +
      `Ratios are variant / the scenario's baseline (sockjs-node unless the table says otherwise) from the same run. Total time ${Math.round(meta.totalSeconds)} s.` +
      (meta.quick ? ' **Quick run: shortened durations, not for comparison.**' : ''),
    '',
    `Command: \`${meta.command}\`${meta.gitCommit ? ` at commit \`${meta.gitCommit.slice(0, 10)}\`` : ''}. Raw numbers: [results.json](results.json); chart: [chart.svg](chart.svg).`,
    '',
  );

  const withTargets = results.scenarios.filter((s) => s.target !== null);
  if (withTargets.length > 0) {
    const plain = withTargets.filter((s) => s.coalescing === undefined);
    const flattered = withTargets.filter((s) => s.coalescing !== undefined);
    lines.push('## Targets', '');
    lines.push(
      'First the scenarios where nothing can be coalesced (one message in flight, one broadcast at a time, one session ' +
        'opened at a time per loop, polling, memory): what one message, delivery or session really costs.',
      '',
      TARGET_HEAD,
      TARGET_RULE,
    );
    for (const s of plain) lines.push(targetLine(s));
    if (flattered.length > 0) {
      lines.push(
        '',
        'Then the scenarios where koa-sockjs gains from coalescing: messages that reach it in the same tick leave as one frame ' +
          'and one write, where the other servers write each message.',
        '',
        TARGET_HEAD,
        TARGET_RULE,
      );
      for (const s of flattered) lines.push(targetLine(s));
    }
    const missed = withTargets.filter((s) => {
      const t = s.target!;
      const missedByCpu = t.byCpu !== null && (t.better === 'higher' ? t.byCpu < t.ratio : t.byCpu > t.ratio);
      return t.blocker !== null && (t.met === false || missedByCpu);
    });
    if (missed.length > 0) {
      lines.push('', 'What the profiles show stands in the way ([PROFILE.md](PROFILE.md) has the details and what was tried):', '');
      for (const s of missed) lines.push(`- **${s.title}**: ${s.target!.blocker}.`);
    }
    lines.push(
      '',
      '"Measured" is the ratio of the medians (or, for a limit, the median itself). "By CPU cost", for throughput targets, is ' +
        'the other server\'s CPU time per operation over koa-sockjs\'s: the ratio both would reach with a core each to ' +
        'themselves. On a machine shared with other work it is the steadier of the two.',
      '',
    );
  }
  const flatteredAll = results.scenarios.filter((s) => s.coalescing !== undefined);
  if (flatteredAll.length > 0) {
    lines.push('## Which rows coalescing flatters, and why', '');
    for (const s of flatteredAll) lines.push(`- **${s.title}**: ${s.coalescing}.`);
    lines.push(
      '',
      'That is a real saving whenever messages do arrive together (bursts, chatty sessions), but it says nothing about a ' +
        'message that arrives alone; the rows above the line measure that case.',
      '',
    );
  }

  lines.push('## Results', '');
  for (const s of results.scenarios) {
    lines.push(`### ${s.title}`, '', `Parameters: ${s.parameters}.${s.rounds !== undefined ? ` ${s.rounds} round(s).` : ''}`, '');
    const head = ['Server', ...s.metrics.map((m) => m.label), 'server µs/op', 'server CPU', 'client CPU (max)', 'runs ok'];
    lines.push(`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`);
    for (const v of s.variants) {
      const flags = v.saturatedRuns > 0 ? ` ⚠ ${v.saturatedRuns} saturated` : '';
      lines.push(
        `| ${v.label} | ${s.metrics.map((m) => fmt(v.medians[m.key], m.digits)).join(' | ')} | ${fmt(v.serverUsPerOp, 1)} | ` +
          `${fmt(v.serverCpuMedian, 0)}% | ${fmt(v.clientCpuMax, 0)}%${flags} | ${v.okRuns}/${v.runs} |`,
      );
    }
    const baseLabel = s.variants.find((v) => v.variant === s.baseline)?.label ?? s.baseline;
    for (const [variant, ratios] of Object.entries(s.ratios)) {
      const label = s.variants.find((v) => v.variant === variant)?.label ?? variant;
      lines.push(`| *${label} / ${baseLabel}* | ${s.metrics.map((m) => ratioText(ratios[m.key])).join(' | ')} | ${ratioText(ratios.serverUsPerOp)} | | | |`);
    }
    lines.push('');
    const failed = results.runs.filter((r) => r.scenario === s.id && !r.ok);
    for (const r of failed) lines.push(`- Round ${r.round}, ${r.variant} failed: ${r.errors.slice(0, 3).join('; ')}`);
    if (failed.length > 0) lines.push('');
  }

  lines.push(...koaCost(results.scenarios));

  const saturated = results.runs.filter((r) => r.clientSaturated);
  lines.push('## Load generator check', '');
  lines.push(
    saturated.length === 0
      ? `No run had a saturated client (client CPU < ${CLIENT_SATURATED_CPU}% of its core and event-loop utilisation < ${CLIENT_SATURATED_ELU} in every run).`
      : `${saturated.length} run(s) had a client at ≥ ${CLIENT_SATURATED_CPU}% CPU or ≥ ${CLIENT_SATURATED_ELU} event-loop utilisation: ` +
          saturated.map((r) => `${r.scenario}/${r.variant} round ${r.round} (${fmt(r.clientCpu, 0)}%)`).join(', ') +
          '. Their numbers may be limited by the client, not the server.',
    '',
  );
  return lines.join('\n');
}
