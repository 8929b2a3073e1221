/**
 * Builds the package before a benchmark run, so the koa-sockjs servers measure `dist/` as
 * users get it from npm (see bench/servers/koa-sockjs-package.ts for why not `src/`).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `scripts/build.mjs` (tsc to dist/esm and dist/cjs; about 20 s on 2 cores). Throws if the build fails. */
export function buildPackage(): void {
  const t0 = performance.now();
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  console.log(`built dist/ in ${((performance.now() - t0) / 1000).toFixed(1)} s (the bench measures the built package)`);
}
