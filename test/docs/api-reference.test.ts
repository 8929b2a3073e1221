/**
 * The API reference (`npm run docs`, TypeDoc over the TSDoc in src/) builds without a single
 * warning: every public export documented (typedoc.json: validation.notDocumented), every
 * {@link} resolving, nothing public referring to a type that is not exported. typedoc.json
 * treats warnings as errors, so `npm run docs` itself fails the same way.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TYPEDOC = `${ROOT}node_modules/typedoc/bin/typedoc`;

describe('API reference (TypeDoc)', () => {
  it('is configured to fail on any warning and on any undocumented export', () => {
    const config = JSON.parse(readFileSync(`${ROOT}typedoc.json`, 'utf8')) as {
      treatWarningsAsErrors?: boolean;
      validation?: Record<string, boolean>;
      entryPoints?: string[];
    };
    assert.equal(config.treatWarningsAsErrors, true);
    assert.deepEqual(config.validation, { notExported: true, invalidLink: true, notDocumented: true });
    // The package's three entry points (package.json "exports").
    assert.deepEqual(config.entryPoints, ['src/index.ts', 'src/store/redis/index.ts', 'src/store/contract.ts']);
    const scripts = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.equal(scripts.docs, 'typedoc');
    assert.match(readFileSync(`${ROOT}README.md`, 'utf8'), /npm run docs/);
  });

  it('builds with no warning', { timeout: 120_000 }, async () => {
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(process.execPath, [TYPEDOC, '--emit', 'none'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } }, (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr });
      });
    });
    assert.equal(output.replace(/\x1b\[[0-9;]*m/g, '').trim(), '', 'TypeDoc printed warnings or errors');
    assert.equal(code, 0);
  });
});
