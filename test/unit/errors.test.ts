// The error classes (src/errors.ts and RedisStoreError): each exported one has a stable code of
// its own, docs/errors.md lists every one with its code, and nothing in src/ throws a bare
// built-in error at the application.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as api from '../../src/index.js';
import * as redis from '../../src/store/redis/index.js';

const root = join(import.meta.dirname, '..', '..');

type ErrorClass = abstract new (...args: never[]) => Error;

/** One instance of each exported error class, made as the library makes it. */
const INSTANCES: Record<string, () => Error & { code: string }> = {
  SockjsOptionError: () => new api.SockjsOptionError('prefix', 'must be a path'),
  SockjsArgumentError: () => new api.SockjsArgumentError('room must be a non-empty string'),
  SockjsRangeError: () => new api.SockjsRangeError('close code must be an integer from 1000 to 4999'),
  SessionStateError: () => new api.SessionStateError('session cannot move from state 3 (CLOSED) to 1 (OPEN)'),
  UnknownRouteError: () => new api.UnknownRouteError('chat', ['']),
  MessageEncodingError: () => new api.MessageEncodingError(new TypeError('BigInt')),
  StoreError: () => new api.StoreError('get failed'),
  RedisStoreError: () => new redis.RedisStoreError('connection lost'),
};

function errorClasses(module: Record<string, unknown>): Map<string, ErrorClass> {
  const found = new Map<string, ErrorClass>();
  for (const [name, value] of Object.entries(module)) {
    if (typeof value === 'function' && value.prototype instanceof Error) found.set(name, value as ErrorClass);
  }
  return found;
}

/** `| \`Class\` | \`CODE\` | ...` rows of docs/errors.md. */
function documentedCodes(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const match of readFileSync(join(root, 'docs', 'errors.md'), 'utf8').matchAll(/^\| `(\w+)` \| `(\w+)` \|/gm)) rows.set(match[1]!, match[2]!);
  return rows;
}

describe('error classes', () => {
  const exported = new Map([...errorClasses(api), ...errorClasses(redis)]);

  it('every exported error class is known here and in docs/errors.md, with the code it has', () => {
    assert.deepEqual([...exported.keys()].sort(), Object.keys(INSTANCES).sort());
    const documented = documentedCodes();
    assert.deepEqual([...documented.keys()].sort(), Object.keys(INSTANCES).sort());
    for (const [name, make] of Object.entries(INSTANCES)) {
      const error = make();
      assert.ok(error instanceof exported.get(name)!, name);
      assert.equal(error.name, name);
      assert.match(error.code, /^SOCKJS_ERR_[A-Z_]+$/, name);
      assert.equal(error.code, make().code, `${name}: the code does not depend on the instance`);
      assert.equal(error.code, documented.get(name), `${name}: docs/errors.md gives its code`);
      assert.match(error.message, /^(koa-sockjs|MemoryStore|RedisStore): /, `${name}: the message says who speaks`);
    }
  });

  it('every code anywhere in src/ is on docs/errors.md, exported class or not (onError may carry it)', () => {
    const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
    const codes = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) for (const [code] of readFileSync(path, 'utf8').matchAll(/SOCKJS_ERR_[A-Z_]+/g)) codes.add(code);
      }
    };
    walk(join(root, 'src'));
    assert.ok(codes.has('SOCKJS_ERR_BODY_CONSUMED'), 'the walk finds the codes of classes that are not exported');
    assert.deepEqual([...codes].filter((code) => !doc.includes(`\`${code}\``)), []);
  });

  it('codes are distinct, but for a subclass that keeps the code of the class it extends', () => {
    const byCode = new Map<string, string[]>();
    for (const [name, make] of Object.entries(INSTANCES)) byCode.set(make().code, [...(byCode.get(make().code) ?? []), name]);
    for (const [code, names] of byCode) {
      if (names.length === 1) continue;
      // Shared only along one line of inheritance: every other class extends the first.
      const [base, ...kinds] = names.map((name) => exported.get(name)!).sort((a, b) => (a.prototype instanceof b ? 1 : b.prototype instanceof a ? -1 : 0));
      for (const kind of kinds) assert.ok(kind.prototype instanceof base!, `${code} is shared by ${names.join(' and ')}`);
    }
    assert.deepEqual(byCode.get('SOCKJS_ERR_STORE'), ['StoreError', 'RedisStoreError']);
  });

  it('keeps the built-in class each error was before it had its own', () => {
    assert.ok(INSTANCES.SockjsOptionError!() instanceof TypeError);
    assert.ok(INSTANCES.SockjsArgumentError!() instanceof TypeError);
    assert.ok(INSTANCES.SockjsRangeError!() instanceof RangeError);
    assert.ok(INSTANCES.MessageEncodingError!() instanceof TypeError);
  });

  it('options of the stores and arguments of Session fail with the library classes', () => {
    assert.throws(() => new api.MemoryStore({ maxSessions: 0 }), {
      name: 'SockjsOptionError',
      code: 'SOCKJS_ERR_INVALID_OPTION',
      option: 'maxSessions',
      owner: 'MemoryStore',
      message: 'MemoryStore: option "maxSessions" must be a positive integer, got 0',
    });
    assert.throws(() => new redis.RedisStore({ nodeTtl: -1 }), { name: 'SockjsOptionError', option: 'nodeTtl', owner: 'RedisStore' });
    assert.throws(() => new redis.RedisStore({ url: 'redis://x', client: {} as never }), { name: 'SockjsOptionError', option: 'client', owner: 'RedisStore' });
    const session = new api.Session({ id: 'x', transport: 'websocket', request: { remoteAddress: '', headers: {}, url: '' }, manager: new api.SessionManager() });
    for (const code of [999, 5000, 3000.5, Number.NaN]) {
      assert.throws(() => session.close(code), (error) => error instanceof api.SockjsRangeError && error instanceof RangeError && error.code === 'SOCKJS_ERR_OUT_OF_RANGE' && error.message.includes(String(code)));
    }
    assert.throws(() => session.drain(-1), api.SockjsRangeError);
  });

  it('nothing in src/ throws or rejects with a bare built-in error', () => {
    const bare = /\b(?:throw|reject\()\s*new (?:Error|TypeError|RangeError|SyntaxError)\(/;
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) {
          readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
            if (bare.test(line)) offenders.push(`${path.slice(root.length + 1)}:${i + 1}: ${line.trim()}`);
          });
        }
      }
    };
    walk(join(root, 'src'));
    // The store contract suite fails with assertion errors: it is a test suite, run by the user.
    assert.deepEqual(offenders.filter((line) => !line.startsWith('src/store/contract.ts')), []);
  });
});
