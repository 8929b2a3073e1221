// Builds dist/esm (ES modules) and dist/cjs (CommonJS), each with declarations, so both
// `import` and `require` consumers get the same API.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { stdio: 'inherit' });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.cjs.json'], { stdio: 'inherit' });
mkdirSync('dist/cjs', { recursive: true });
// The package is "type": "module"; this marks dist/cjs as CommonJS.
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n');
