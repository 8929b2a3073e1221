// Builds dist/esm (ES modules) and dist/cjs (CommonJS), so both `import` and `require`
// consumers get the same API.
//
// Types: ONE set of declarations, in dist/cjs. The ESM entry points' declarations only
// re-export them (an ES module may import a CommonJS one; the reverse is refused under
// node16). Two sets would declare every class twice, and an app whose .mts and .cts files both
// import koa-sockjs would see two Koa context augmentations of different types (TS2717).
//
// Source maps embed their TypeScript (`inlineSources`): src/ is not shipped, and a map that
// points at missing files would give `node --enable-source-maps` frames nobody can open.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, posix } from 'node:path';

/** The package's entry points (package.json "exports"), as paths under dist/<format>/. */
const ENTRY_POINTS = ['index', 'store/contract', 'store/redis/index'];

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--declaration', 'false'], { stdio: 'inherit' });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.cjs.json'], { stdio: 'inherit' });
mkdirSync('dist/cjs', { recursive: true });
// The package is "type": "module"; this marks dist/cjs as CommonJS.
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n');
for (const entry of ENTRY_POINTS) {
  const file = `dist/esm/${entry}.d.ts`;
  const target = posix.relative(dirname(file), `dist/cjs/${entry}.js`);
  writeFileSync(file, `// The declarations are shared with the CommonJS build (see scripts/build.mjs).\nexport * from '${target}';\n`);
}
