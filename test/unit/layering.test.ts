// Arrows point one way (CONTRIBUTING.md, "Layout"; issue 13): middleware -> transports ->
// security -> session -> metrics -> store, and every layer may use the shared leaf modules.
// This reads the relative imports of every file under src/ (type-only ones included: a type
// import is a dependency too) and fails on any that points up, naming the file and the import.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Top to bottom; a file may import its own layer and the layers below it. */
const LAYERS: ReadonlyArray<{ readonly name: string; readonly paths: readonly string[] }> = [
  { name: 'middleware', paths: ['index.ts', 'middleware.ts', 'upgrade.ts', 'app-routes.ts', 'context.ts', 'options.ts', 'endpoints/'] },
  { name: 'transports', paths: ['transports/'] },
  { name: 'security', paths: ['security/'] },
  { name: 'session', paths: ['session/'] },
  { name: 'metrics', paths: ['metrics/'] },
  { name: 'store', paths: ['store/'] },
  { name: 'shared', paths: ['errors.ts', 'defaults.ts', 'log.ts', 'timers.ts', 'util/', 'protocol/', 'http/'] },
];

function layerOf(file: string): number {
  const path = relative(SRC, file).split('\\').join('/');
  const rank = LAYERS.findIndex((layer) => layer.paths.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p)));
  assert.notEqual(rank, -1, `src/${path} is in no layer: add it to LAYERS in test/unit/layering.test.ts (and to CONTRIBUTING.md)`);
  return rank;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** `from './x.js'`, `import './x.js'`, `import('./x.js')`, `export ... from './x.js'`. */
const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(RELATIVE_IMPORT)].map((match) => resolve(dirname(file), match[1]!.replace(/\.js$/, '.ts')));
}

test('every import under src/ points down the layers or within one', () => {
  const files = sourceFiles(SRC);
  assert.ok(files.length > 50, 'the source files were found');
  const upward: string[] = [];
  let imports = 0;
  for (const file of files) {
    const from = layerOf(file);
    for (const target of importsOf(file)) {
      imports++;
      const to = layerOf(target);
      if (to < from) upward.push(`src/${relative(SRC, file)} (${LAYERS[from]!.name}) imports src/${relative(SRC, target)} (${LAYERS[to]!.name})`);
    }
  }
  assert.ok(imports > 200, 'the imports were found');
  assert.deepEqual(upward, []);
});

test('within the session layer, only the manager and the connection protocol use cluster/', () => {
  const allowed = new Set(['session/manager.ts', 'session/connections.ts']);
  const users: string[] = [];
  for (const file of sourceFiles(join(SRC, 'session'))) {
    const path = relative(SRC, file).split('\\').join('/');
    if (allowed.has(path) || path.startsWith('session/cluster/')) continue;
    for (const target of importsOf(file)) {
      if (relative(SRC, target).split('\\').join('/').startsWith('session/cluster/')) users.push(`src/${path} imports src/${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(users, []);
});

test('the check sees an upward import', () => {
  // The store layer importing the session layer: what the test exists to catch.
  const store = LAYERS.findIndex((layer) => layer.name === 'store');
  const session = LAYERS.findIndex((layer) => layer.name === 'session');
  assert.ok(layerOf(join(SRC, 'session/session.ts')) < layerOf(join(SRC, 'store/store.ts')));
  assert.ok(session < store);
  const text = "import type { X } from '../session/session.js';\nexport { y } from './y.js';\nconst z = await import('../log.js');";
  assert.deepEqual(
    [...text.matchAll(RELATIVE_IMPORT)].map((match) => match[1]),
    ['../session/session.js', './y.js', '../log.js'],
  );
});
