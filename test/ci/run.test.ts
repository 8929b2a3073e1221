// .ci/run, with every command it calls replaced by a stub that records its arguments: it
// installs only what is missing, and stops a system Redis only when its own install started
// one — never a Redis that was there before.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const RUN = fileURLToPath(new URL('../../.ci/run', import.meta.url));
const run = promisify(execFile);

let stubs: string | undefined;
afterEach(() => {
  if (stubs) rmSync(stubs, { recursive: true, force: true });
  stubs = undefined;
});

/** Runs .ci/run with PATH holding only `present` stubs (plus dirname); returns the calls made. */
async function runWith(present: string[]): Promise<string[]> {
  stubs = mkdtempSync(join(tmpdir(), 'koa-sockjs-ci-'));
  const log = join(stubs, 'calls.log');
  writeFileSync(log, '');
  for (const name of ['apt-get', 'service', 'npm', ...present]) {
    const stub = join(stubs, name);
    writeFileSync(stub, `#!/bin/sh\necho "${name} $*" >> '${log}'\n`);
    chmodSync(stub, 0o755);
  }
  symlinkSync('/usr/bin/dirname', join(stubs, 'dirname'));
  await run('/bin/bash', [RUN], { env: { PATH: stubs } });
  return readFileSync(log, 'utf8').trim().split('\n');
}

describe('.ci/run', () => {
  it('leaves an installed (perhaps running) Redis alone', async () => {
    assert.deepEqual(await runWith(['redis-server', 'chromium']), ['npm ci', 'npm test']);
  });

  it('installs what is missing, and stops only the Redis service its own install started', async () => {
    assert.deepEqual(await runWith(['chromium']), [
      'apt-get update -qq',
      'apt-get install -y -qq redis-server chromium',
      'service redis-server stop',
      'npm ci',
      'npm test',
    ]);
  });

  it('installs Chromium without touching the Redis that is there', async () => {
    assert.deepEqual(await runWith(['redis-server']), ['apt-get update -qq', 'apt-get install -y -qq redis-server chromium', 'npm ci', 'npm test']);
  });
});
