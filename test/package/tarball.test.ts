/**
 * The package as a user gets it: `npm pack`, installed into a fresh project (see consumer.ts),
 * then checked for what a first look depends on — the licence, the registry metadata, source
 * maps that lead somewhere, types under every TypeScript module resolution, and an app that
 * loads the ESM and the CommonJS build together.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO, createConsumer, type Consumer } from './consumer.js';
import { typeCheck } from './type-check.js';

const run = promisify(execFile);
const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const QUICK_START = README.match(/## Quick start\n\n```ts\n([\s\S]*?)```/)?.[1];

describe('the packed tarball, installed into a fresh project', () => {
  let consumer: Consumer;
  before(() => {
    consumer = createConsumer();
  });
  after(() => consumer?.close());

  it('carries the MIT licence, the same one package.json names', () => {
    assert.ok(consumer.files.includes('LICENSE'), `LICENSE is not in the tarball: ${consumer.files.filter((f) => !f.startsWith('dist/')).join(', ')}`);
    const licence = readFileSync(join(consumer.packageDir, 'LICENSE'), 'utf8');
    assert.match(licence, /^MIT License\n\nCopyright \(c\) \d{4} the koa-sockjs authors\n/);
    assert.match(licence, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
    assert.equal(consumer.manifest.license, 'MIT');
  });

  it('has the metadata a registry page links with, and ships only what users run', () => {
    const { repository, homepage, bugs } = consumer.manifest;
    assert.deepEqual(repository, { type: 'git', url: 'git+https://github.com/koa-sockjs/koa-sockjs.git' });
    assert.equal(homepage, 'https://github.com/koa-sockjs/koa-sockjs#readme');
    assert.deepEqual(bugs, { url: 'https://github.com/koa-sockjs/koa-sockjs/issues' });
    const topLevel = new Set(consumer.files.map((file) => file.split('/')[0]));
    assert.deepEqual([...topLevel].sort(), ['CHANGELOG.md', 'LICENSE', 'README.md', 'dist', 'package.json']);
  });

  it('embeds the TypeScript in every source map, so none points at a file that is not there', () => {
    const maps = consumer.files.filter((file) => file.endsWith('.js.map'));
    assert.ok(maps.length > 50, `only ${maps.length} source maps`);
    for (const file of maps) {
      const map = JSON.parse(readFileSync(join(consumer.packageDir, file), 'utf8')) as { sources: string[]; sourcesContent?: Array<string | null> };
      assert.equal(map.sourcesContent?.length, map.sources.length, `${file} has no embedded sources`);
      assert.ok(map.sourcesContent.every((text) => typeof text === 'string' && text.length > 0), `${file} has an empty embedded source`);
    }
  });

  for (const [format, file, code] of [
    ['ESM', 'stack.mjs', `import { sockjs } from 'koa-sockjs';\ntry { sockjs({ prefix: 'no-slash' }); } catch (error) { console.log(error.stack); }\n`],
    ['CommonJS', 'stack.cjs', `const { sockjs } = require('koa-sockjs');\ntry { sockjs({ prefix: 'no-slash' }); } catch (error) { console.log(error.stack); }\n`],
  ] as const) {
    it(`node --enable-source-maps shows ${format} stack frames as lines of the embedded TypeScript`, async () => {
      const { stdout } = await run(process.execPath, ['--enable-source-maps', consumer.write(file, code)], { cwd: consumer.dir });
      // e.g. "at resolveOptions (/tmp/.../node_modules/koa-sockjs/src/options.ts:105:11)"
      const frame = /\(?((?:file:\/\/)?[^\s()]*\/node_modules\/koa-sockjs\/src\/options\.ts):(\d+):(\d+)\)?/.exec(stdout);
      assert.ok(frame, `no frame in src/options.ts:\n${stdout}`);
      const mapFile = join(consumer.packageDir, format === 'ESM' ? 'dist/esm/options.js.map' : 'dist/cjs/options.js.map');
      const map = JSON.parse(readFileSync(mapFile, 'utf8')) as { sourcesContent: string[] };
      const line = map.sourcesContent[0]!.split('\n')[Number(frame[2]) - 1] ?? '';
      assert.match(line, /SockjsOptionError|prefix/, `line ${frame[2]} of the embedded options.ts is ${JSON.stringify(line)}`);
    });
  }

  describe('types, under each moduleResolution (strict, the package\'s declarations checked too)', () => {
    // Uses every entry point; each @ts-expect-error fails the build if the types were `any`.
    const usage = `
class Echo extends Session {
  override onMessage(message: unknown): void { this.send(message); }
}
const app = new Koa();
app.use(sockjs({ prefix: '/echo', session: Echo }));
app.use(async (ctx) => {
  const manager: SessionManager = ctx.sockjs('');
  const count: number = await manager.count();
  ctx.body = { count, routes: Object.keys(ctx.state.sockjs ?? {}) };
});
// @ts-expect-error prefix is a string
sockjs({ prefix: 42 });
export const asStore = (store: RedisStore): SessionStore => store;
export const options: Partial<RedisStoreOptions> = {};
// @ts-expect-error the contract needs a name and options
describeStoreContract(42);
export const state: SessionState = SessionState.OPEN;
export { app };
`;
    const imports = `import Koa from 'koa';
import { sockjs, Session, SessionManager, SessionState, type SessionStore } from 'koa-sockjs';
import { RedisStore, type RedisStoreOptions } from 'koa-sockjs/redis';
import { describeStoreContract } from 'koa-sockjs/store-contract';
`;
    const exactUsage = `
import { MemoryStore, SessionManager as Manager } from 'koa-sockjs';
const flag = process.env.FLAG === '1';
app.use(sockjs({
  prefix: '/exact', session: Echo, name: undefined, heartbeatDelay: flag ? 5_000 : undefined, pingTimeout: undefined,
  perMessageDeflate: flag ? { threshold: 512 } : undefined, origins: undefined, use: undefined, limits: undefined, transports: undefined,
}));
export const exactRedis = new RedisStore({ url: process.env.REDIS_URL, keyPrefix: undefined, commandTimeout: undefined });
export const exactMemory = new MemoryStore({ maxSessions: flag ? 10 : undefined, now: undefined });
export const exactManager = new Manager({ name: 'exact', disconnectDelay: undefined, store: flag ? exactMemory : undefined });
`;
    const compilerOptions = { strict: true, noImplicitOverride: true, noEmit: true, skipLibCheck: false, types: ['node'], target: 'ES2022' };
    const projects = {
      // What `"module": "commonjs"` implies; no "exports" support, hence typesVersions.
      node10: { options: { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true }, files: { 'app.ts': imports + usage } },
      // One program with an ES module and a CommonJS module that both import the package: one
      // declaration of the Koa context, or TS2717. The Quick start rides along in the ESM one.
      node16: {
        options: { module: 'node16', moduleResolution: 'node16' },
        files: { 'app.mts': imports + usage, 'app.cts': imports + usage, 'quick-start.mts': QUICK_START ?? '' },
      },
      nodenext: {
        options: { module: 'nodenext', moduleResolution: 'nodenext' },
        files: { 'app.mts': imports + usage, 'app.cts': imports + usage, 'quick-start.mts': QUICK_START ?? '' },
      },
      bundler: { options: { module: 'esnext', moduleResolution: 'bundler' }, files: { 'app.ts': imports + usage, 'quick-start.ts': QUICK_START ?? '' } },
      // An app that writes `option: value-or-undefined`, as apps with this flag do: every optional
      // option is declared `?: T | undefined`.
      exactOptionalPropertyTypes: {
        options: { module: 'nodenext', moduleResolution: 'nodenext', exactOptionalPropertyTypes: true },
        files: { 'app.mts': imports + usage + exactUsage, 'quick-start.mts': QUICK_START ?? '' },
      },
    } as const;

    it('finds the README Quick start', () => assert.ok(QUICK_START?.includes('listen(8080)')));

    for (const [mode, project] of Object.entries(projects)) {
      it(`compiles under ${mode}`, async () => {
        const dir = `types-${mode}`;
        consumer.write(`${dir}/tsconfig.json`, JSON.stringify({ compilerOptions: { ...compilerOptions, ...project.options }, files: Object.keys(project.files) }, null, 2));
        for (const [name, text] of Object.entries(project.files)) consumer.write(`${dir}/${name}`, text);
        const errors = typeCheck(join(consumer.dir, dir, 'tsconfig.json'));
        assert.equal(errors, '', `tsc under ${mode} reported:\n${errors}`);
      });
    }
  });

  it('serves sessions across the ESM and CommonJS copies loaded in one app', async () => {
    const file = consumer.write('dual.mjs', DUAL_PACKAGE_APP);
    const { stdout } = await run(process.execPath, [file], { cwd: consumer.dir });
    assert.deepEqual(JSON.parse(stdout), {
      twoCopies: true,
      refused: 'SockjsOptionError session',
      echoes: {
        '/cjs-session': ['o', 'a["hi"]'],
        '/cjs-manager-class': ['o', 'a["esm:hi"]'],
        '/cjs-manager-instance': ['o', 'a["hi"]'],
      },
    });
  });
});

/**
 * An app with the ESM build's sockjs() and the CommonJS build's Session and SessionManager,
 * talked to over a real websocket.
 */
const DUAL_PACKAGE_APP = `
import { createRequire } from 'node:module';
import Koa from 'koa';
import { WebSocket } from 'ws';
import * as esm from 'koa-sockjs';
const cjs = createRequire(import.meta.url)('koa-sockjs');

class CjsEcho extends cjs.Session { onMessage(message) { this.send(message); } }
class EsmEcho extends esm.Session { onMessage(message) { this.send('esm:' + message); } }

let refused = 'nothing';
try { esm.sockjs({ prefix: '/x', session: class NotASession {} }); }
catch (error) { refused = error.constructor.name + ' ' + error.option; }

const routes = [
  esm.sockjs({ name: 'a', prefix: '/cjs-session', session: CjsEcho }),
  esm.sockjs({ name: 'b', prefix: '/cjs-manager-class', manager: cjs.SessionManager, session: EsmEcho }),
  esm.sockjs({ name: 'c', prefix: '/cjs-manager-instance', manager: new cjs.SessionManager({ name: 'c', session: CjsEcho }) }),
];
const app = new Koa();
for (const route of routes) app.use(route);
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));

function echo(prefix) {
  return new Promise((resolve, reject) => {
    const frames = [];
    const ws = new WebSocket('ws://127.0.0.1:' + server.address().port + prefix + '/0/0/websocket');
    ws.on('message', (data) => {
      frames.push(String(data));
      if (frames.length === 1) ws.send('["hi"]');
      else { ws.close(); resolve(frames); }
    });
    ws.on('error', reject);
    ws.on('close', () => resolve(frames));
  });
}
const echoes = {};
for (const route of routes) echoes[route.route.prefix] = await echo(route.route.prefix);
for (const route of routes) await route.close();
server.close();
console.log(JSON.stringify({ twoCopies: esm.Session !== cjs.Session, refused, echoes }));
`;
