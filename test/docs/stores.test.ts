// docs/stores.md shows the complete MapStore that examples/custom-store/contract.test.ts runs
// the contract suite on: the block must be that file, word for word, and the size the page
// states must be the file's, so neither can drift from the other.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';

const ROOT = new URL('../../', import.meta.url);
const doc = readFileSync(new URL('docs/stores.md', ROOT), 'utf8');
const file = readFileSync(new URL('examples/custom-store/map-store.ts', ROOT), 'utf8');

it("docs/stores.md shows examples/custom-store/map-store.ts as it is", () => {
  const block = /<!-- map-store\.ts -->\n```ts\n([\s\S]*?)```\n/.exec(doc);
  assert.ok(block, 'the page has the ts block marked <!-- map-store.ts -->');
  assert.equal(block[1], file);
});

it('docs/stores.md states the size of MapStore as it is', () => {
  // Lines of code: neither blank nor comments (the same count as the 0.1 figure beside it).
  const code = file.split('\n').filter((line) => !/^\s*($|\/\/|\/\*|\*)/.test(line)).length;
  const methods = [...file.matchAll(/^ {2}([a-zA-Z]+)\(.*\).*\{$/gm)].map((match) => match[1]);
  const required = methods.filter((name) => name !== 'close');
  assert.deepEqual(required, ['create', 'get', 'update', 'touch', 'delete', 'push', 'take', 'claimReceiver', 'releaseReceiver']);
  assert.match(doc, new RegExp(`\\*\\*${required.length} methods \\(plus an optional \`close\`\\), ${code} lines of code\\*\\*`));
});
