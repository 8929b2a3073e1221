/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and lists where the
 * time went: the top functions by self time, and self time per package.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  percent: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  functions: SelfTime[];
  packages: SelfTime[];
}

const META_NODES = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Shortens a script URL to what tells a reader where it is: `ws/lib/sender.js`, `src/session/session.ts`. */
function shortWhere(url: string): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) return url.slice(nm + '/node_modules/'.length);
  // The bench runs the built package: dist/esm/session/session.js reads as src/session/session.ts.
  const built = /\/dist\/(?:esm|cjs)\/(.*)\.js$/.exec(url);
  if (built !== null) return `src/${built[1]}.ts`;
  const repo = /\/(src|bench)\/(.*)$/.exec(url);
  if (repo !== null) return `${repo[1]}/${repo[2]}`;
  return url.replace(/^file:\/\//, '');
}

function packageOf(name: string, url: string): string {
  if (META_NODES.has(name)) return name;
  if (url === '') return '(native / V8 builtins)';
  if (url.startsWith('node:')) return 'node core';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const built = /\/dist\/(?:esm|cjs)\/([^/]+)/.exec(url);
  if (built !== null) return `koa-sockjs src/${built[1]!.replace(/\.js$/, '')}`;
  const repo = /\/(src|bench)\/([^/]+)/.exec(url);
  if (repo !== null) return repo[1] === 'src' ? `koa-sockjs src/${repo[2]!.replace(/\.ts$/, '')}` : 'bench';
  return url;
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMs = new Map<number, number>();
  if (profile.samples !== undefined && profile.timeDeltas !== undefined) {
    // Each sample's time is the delta to the next one (V8's own attribution).
    for (let i = 0; i < profile.samples.length; i++) {
      const delta = (profile.timeDeltas[i + 1] ?? 0) / 1000;
      const id = profile.samples[i]!;
      selfMs.set(id, (selfMs.get(id) ?? 0) + delta);
    }
  } else {
    const interval = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0));
    for (const n of profile.nodes) selfMs.set(n.id, (n.hitCount ?? 0) * interval);
  }
  const fns = new Map<string, SelfTime>();
  const pkgs = new Map<string, SelfTime>();
  let idleMs = 0;
  let busyMs = 0;
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName === '' ? '(anonymous)' : functionName;
    if (name === '(idle)') {
      idleMs += ms;
      continue;
    }
    busyMs += ms;
    const where = url === '' ? '' : `${shortWhere(url)}:${lineNumber + 1}`;
    const key = `${name} ${where}`;
    const f = fns.get(key) ?? { name, where, ms: 0, percent: 0 };
    f.ms += ms;
    fns.set(key, f);
    const pkg = packageOf(name, url);
    const p = pkgs.get(pkg) ?? { name: pkg, where: '', ms: 0, percent: 0 };
    p.ms += ms;
    pkgs.set(pkg, p);
  }
  const finish = (list: SelfTime[]): SelfTime[] =>
    list
      .map((x) => ({ ...x, percent: busyMs > 0 ? (x.ms / busyMs) * 100 : 0 }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top);
  return { busyMs, idleMs, functions: finish([...fns.values()]), packages: finish([...pkgs.values()]) };
}

export function profileMarkdown(title: string, summary: ProfileSummary): string {
  const lines = [
    `### ${title}`,
    '',
    `Busy ${Math.round(summary.busyMs)} ms, idle ${Math.round(summary.idleMs)} ms (whole server lifetime; percentages are of busy time).`,
    '',
    '| Self time by package | ms | % |',
    '| --- | ---: | ---: |',
    ...summary.packages.slice(0, 12).map((p) => `| ${p.name} | ${p.ms.toFixed(0)} | ${p.percent.toFixed(1)} |`),
    '',
    '| Top functions by self time | where | ms | % |',
    '| --- | --- | ---: | ---: |',
    ...summary.functions.map((f) => `| \`${f.name}\` | ${f.where} | ${f.ms.toFixed(0)} | ${f.percent.toFixed(1)} |`),
    '',
  ];
  return lines.join('\n');
}
