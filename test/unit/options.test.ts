// Options (issue 13): unknown keys refused with a hint (sockjs-node's names among them) by
// sockjs(), SessionManager, MemoryStore and RedisStore; the array form of `transports`; every
// default in DEFAULTS and nowhere else.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { DEFAULTS, MemoryStore, anonymousCookie, SessionManager, SockjsOptionError, sockjs, type SockjsMiddleware } from '../../src/index.js';
import { resolveOptions, SOCKJS_OPTION_KEYS } from '../../src/options.js';
import { MANAGER_OPTION_KEYS } from '../../src/session/manager.js';
import { REDIS_STORE_DEFAULTS, RedisStore } from '../../src/store/redis/index.js';

/** The error `make` throws, which must be a SockjsOptionError. */
function optionError(make: () => unknown): SockjsOptionError {
  try {
    const made = make();
    if (made && typeof (made as SockjsMiddleware).close === 'function') void (made as SockjsMiddleware).close();
  } catch (error) {
    assert.ok(error instanceof SockjsOptionError, String(error));
    return error;
  }
  assert.fail('no error thrown');
}

describe('unknown options', () => {
  it('sockjs() names sockjs-node options and says what they are here', () => {
    const hints: Record<string, string> = {
      response_limit: '"response_limit" is sockjs-node\'s option; here it is "responseLimit"',
      heartbeat_delay: 'here it is "heartbeatDelay"',
      disconnect_delay: 'here it is "disconnectDelay"',
      sockjs_url: 'here it is "sockjsUrl"',
      disable_cors: 'here it is "cors: false"',
      log: 'koa-sockjs has none: diagnostics go through debug (DEBUG=koa-sockjs:*)',
      faye_server_options: 'see "maxMessageSize", "perMessageDeflate" and "pingTimeout"',
      base_url: 'under "prefix"',
    };
    for (const [key, hint] of Object.entries(hints)) {
      const error = optionError(() => sockjs({ [key]: 1 } as never));
      assert.equal(error.option, key);
      assert.equal(error.code, 'SOCKJS_ERR_INVALID_OPTION');
      assert.ok(error.message.startsWith(`koa-sockjs: option "${key}" is not an option of sockjs(): `), error.message);
      assert.ok(error.message.includes(hint), error.message);
    }
  });

  it('suggests the option a misspelt or snake_case key meant, or lists them all', () => {
    assert.equal(optionError(() => sockjs({ prefx: '/x' } as never)).message, 'koa-sockjs: option "prefx" is not an option of sockjs(): did you mean "prefix"?');
    assert.match(optionError(() => sockjs({ max_message_size: 5 } as never)).message, /did you mean "maxMessageSize"\?$/);
    assert.match(optionError(() => sockjs({ Transports: [] } as never)).message, /did you mean "transports"\?$/);
    const listed = optionError(() => sockjs({ wat: 1 } as never)).message;
    for (const key of Object.keys(SOCKJS_OPTION_KEYS)) assert.ok(listed.includes(key), `${key} listed in ${listed}`);
  });

  it('a key set to undefined is still a mistake: its default would be used in silence', () => {
    assert.equal(optionError(() => sockjs({ heartbeat_delay: undefined } as never)).option, 'heartbeat_delay');
  });

  it('new SessionManager(), new MemoryStore() and new RedisStore() refuse unknown keys too', () => {
    const manager = optionError(() => new SessionManager({ disconnect_delay: 5 } as never));
    assert.match(manager.message, /^koa-sockjs: option "disconnect_delay" is not an option of new SessionManager\(\): .*here it is "disconnectDelay"/);
    // Route options are not the manager's.
    assert.match(optionError(() => new SessionManager({ prefix: '/x' } as never)).message, /not an option of new SessionManager\(\)/);
    const memory = optionError(() => new MemoryStore({ maxsessions: 10 } as never));
    assert.equal(memory.owner, 'MemoryStore');
    assert.equal(memory.message, 'MemoryStore: option "maxsessions" is not an option of new MemoryStore(): did you mean "maxSessions"?');
    const redis = optionError(() => new RedisStore({ prefix: 'app:' } as never));
    assert.equal(redis.owner, 'RedisStore');
    assert.match(redis.message, /^RedisStore: option "prefix" is not an option of new RedisStore\(\) \(options: client, url, keyPrefix, nodeTtl, commandTimeout, now\)$/);
  });

  it('refuses a delay longer than Node\'s timers take (2^31 - 1 ms): Node would fire it after 1 ms', async () => {
    // A 30-day heartbeatDelay would heartbeat (and ping) every millisecond, a 30-day
    // close({ timeout }) would not wait at all.
    const month = 30 * 24 * 3600 * 1000;
    for (const option of ['heartbeatDelay', 'disconnectDelay', 'pingTimeout', 'closedSessionTtl', 'touchInterval'] as const) {
      const error = optionError(() => sockjs({ [option]: month }));
      assert.equal(error.option, option);
      assert.match(error.message, /at most 2147483647 \(about 24\.8 days/);
      assert.equal(new SessionManager({ [option]: 2_147_483_647 })[option], 2_147_483_647);
    }
    for (const option of ['nodeTtl', 'commandTimeout'] as const) {
      assert.throws(() => new RedisStore({ [option]: month, url: 'redis://127.0.0.1:1' }), { name: 'SockjsOptionError', option, message: /at most 2147483647/ });
    }
    const manager = new SessionManager();
    await assert.rejects(manager.close({ timeout: month }), { name: 'SockjsOptionError', option: 'timeout', message: /at most 2147483647/ });
    assert.equal(manager.draining, false);
    await manager.close();
  });

  it('close() refuses unknown options too, as a rejection', async () => {
    const manager = new SessionManager();
    await assert.rejects(manager.close({ timout: 5 } as never), { name: 'SockjsOptionError', option: 'timout', message: /not an option of close\(\): did you mean "timeout"\?/ });
    await manager.close();
  });

  it('a SessionManager subclass with options of its own takes them out before super()', async () => {
    class Greeter extends SessionManager {
      readonly greeting: string;
      constructor({ greeting, ...options }: ConstructorParameters<typeof SessionManager>[0] & { greeting: string }) {
        super(options);
        this.greeting = greeting;
      }
    }
    const greeter = new Greeter({ name: 'g', greeting: 'hi', heartbeatDelay: 1000 });
    assert.equal(greeter.greeting, 'hi');
    assert.equal(greeter.heartbeatDelay, 1000);
    await greeter.close();
    class Careless extends SessionManager {
      constructor(options: ConstructorParameters<typeof SessionManager>[0] & { greeting: string }) {
        super(options);
      }
    }
    assert.equal(optionError(() => new Careless({ greeting: 'hi' })).option, 'greeting');
  });

  it('nested options refuse unknown keys the same way', () => {
    assert.equal(optionError(() => sockjs({ limits: { maxSession: 5 } as never })).option, 'limits.maxSession');
    assert.equal(optionError(() => sockjs({ perMessageDeflate: { treshold: 0 } as never })).option, 'perMessageDeflate.treshold');
    assert.match(optionError(() => anonymousCookie({ samesite: 'none' } as never)).message, /option "samesite" is not an option of anonymousCookie\(\): did you mean "sameSite"\?/);
  });
});

describe('transports', () => {
  it('an array is the list of transports to serve (sockjs-node 0.4); the others are off', () => {
    const route = sockjs({ transports: ['websocket', 'xhr-polling'] });
    assert.deepEqual([...route.route.transports].sort(), ['websocket', 'xhr-polling']);
    assert.equal(route.route.websocket, true);
    void route.close();
    const noWebsocket = sockjs({ transports: ['xhr-streaming'] });
    assert.deepEqual([...noWebsocket.route.transports], ['xhr-streaming']);
    assert.equal(noWebsocket.route.websocket, false);
    void noWebsocket.close();
  });

  it('names what serves sockjs-node\'s and sockjs-client\'s transport names here', () => {
    const raw = optionError(() => sockjs({ transports: ['xhr-polling', 'websocket-raw'] as never }));
    assert.equal(raw.option, 'transports[1]');
    assert.match(raw.message, /"websocket-raw": it is served by "websocket" here/);
    assert.match(optionError(() => sockjs({ transports: ['iframe-eventsource'] as never })).message, /served by "eventsource" here/);
    assert.match(optionError(() => sockjs({ transports: { 'xdr-streaming': false } as never })).message, /option "transports.xdr-streaming" .*served by "xhr-streaming" here/);
    assert.equal(optionError(() => sockjs({ transports: [] })).option, 'transports');
    assert.equal(optionError(() => sockjs({ transports: 'websocket' as never })).option, 'transports');
  });
});

describe('prefix', () => {
  it('says a regular expression (sockjs-node\'s prefix) is not a path', () => {
    assert.match(optionError(() => sockjs({ prefix: '[/]echo' })).message, /sockjs-node's prefix was a regular expression/);
    assert.doesNotMatch(optionError(() => sockjs({ prefix: 'echo' })).message, /regular expression/);
  });

  it('shows a RegExp prefix as one, with the same hint (JSON showed it as {})', () => {
    const message = optionError(() => sockjs({ prefix: /^\/echo/ } as never)).message;
    assert.match(message, /got the regular expression \/\^\\\/echo\/ \(a plain path: sockjs-node's prefix was a regular expression/);
  });
});

describe('wrong values in messages', () => {
  it('names what was given, and never throws something else while saying so', () => {
    // String() of an object without a prototype throws a TypeError; of an object it says [object Object].
    assert.match(optionError(() => sockjs({ heartbeatDelay: Object.create(null) as number })).message, /option "heartbeatDelay" must be .*, got an object$/);
    assert.match(optionError(() => sockjs({ websocket: {} as boolean })).message, /option "websocket" must be true or false, got an object$/);
    assert.match(optionError(() => sockjs({ responseLimit: [1] as unknown as number })).message, /got an array$/);
    assert.match(optionError(() => sockjs({ prefix: 5 as unknown as string })).message, /got 5$/);
    assert.match(optionError(() => new MemoryStore({ maxSessions: Object.create(null) as number })).message, /option "maxSessions" must be a positive integer, got an object$/);
    assert.match(optionError(() => sockjs({ limits: { maxSessions: () => 1 } as never })).message, /got a function$/);
  });
});

describe('DEFAULTS', () => {
  it('is what an option left out resolves to', () => {
    const route = sockjs();
    const { manager } = route;
    assert.equal(route.route.name, DEFAULTS.name);
    assert.equal(route.route.prefix, DEFAULTS.prefix);
    assert.equal(route.route.maxMessageSize, DEFAULTS.maxMessageSize);
    assert.equal(route.route.responseLimit, DEFAULTS.responseLimit);
    assert.equal(route.route.sockjsUrl, DEFAULTS.sockjsUrl);
    assert.equal(route.route.jsessionid, DEFAULTS.jsessionid);
    assert.equal(route.route.cors, DEFAULTS.cors);
    assert.equal(route.route.websocket, DEFAULTS.websocket);
    assert.equal(route.route.perMessageDeflate, DEFAULTS.perMessageDeflate);
    for (const option of ['heartbeatDelay', 'disconnectDelay', 'maxBufferedBytes', 'closedSessionTtl', 'incomingHighWaterMark', 'maxIncomingBacklog', 'touchInterval'] as const) {
      assert.equal(manager[option], DEFAULTS[option], option);
    }
    assert.equal(manager.pingTimeout, DEFAULTS.heartbeatDelay);
    assert.equal(REDIS_STORE_DEFAULTS, DEFAULTS.redisStore);
    void route.close();
  });

  it('has every option with a plain default; the others are those its TSDoc names', () => {
    const notPlain = ['pingTimeout', 'session', 'manager', 'store', 'timers', 'onError', 'meterProvider', 'identity', 'limits', 'transports'];
    for (const option of Object.keys(SOCKJS_OPTION_KEYS)) {
      assert.ok(option in DEFAULTS !== notPlain.includes(option), `${option}: in DEFAULTS, or in the list of defaults that are not plain values`);
    }
  });

  it('cannot be changed at run time', () => {
    assert.ok(Object.isFrozen(DEFAULTS) && Object.isFrozen(DEFAULTS.origins) && Object.isFrozen(DEFAULTS.redisStore));
  });

  it('is the only place in src/ that defines a default', () => {
    const root = join(import.meta.dirname, '..', '..', 'src');
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts') && path !== join(root, 'defaults.ts')) {
          for (const match of readFileSync(path, 'utf8').matchAll(/^(?:export )?const (\w*DEFAULT\w*) = (?!DEFAULTS\b)/gm)) found.push(`${entry.name}: ${match[1]}`);
        }
      }
    };
    walk(root);
    assert.deepEqual(found, []);
  });
});

/**
 * Under `exactOptionalPropertyTypes` an app writes `{ heartbeatDelay: flag ? 5_000 : undefined }`
 * or `{ url: process.env.REDIS_URL }`: the option interfaces declare `?: T | undefined` for it
 * (test/package/tarball.test.ts compiles such calls with the flag on), and here every key given
 * as `undefined` must resolve exactly as if it were left out.
 */
describe('an option given as undefined means its default', () => {
  const managerView = (manager: SessionManager) => ({
    name: manager.name,
    session: manager.sessionClass,
    store: manager.store.constructor,
    timers: manager.timers,
    heartbeatDelay: manager.heartbeatDelay,
    disconnectDelay: manager.disconnectDelay,
    pingTimeout: manager.pingTimeout,
    maxBufferedBytes: manager.maxBufferedBytes,
    closedSessionTtl: manager.closedSessionTtl,
    incomingHighWaterMark: manager.incomingHighWaterMark,
    maxIncomingBacklog: manager.maxIncomingBacklog,
    touchInterval: manager.touchInterval,
  });
  const routeView = (options: Record<string, unknown>) => {
    const { manager, origins, gate, transports, ...rest } = resolveOptions(options);
    return { ...rest, transports: [...transports], manager: managerView(manager), origins: origins.constructor, gate: gate.constructor };
  };

  it('sockjs(): each of its keys', () => {
    const defaults = routeView({});
    for (const key of Object.keys(SOCKJS_OPTION_KEYS)) assert.deepEqual(routeView({ [key]: undefined }), defaults, key);
    const everyKey = Object.fromEntries(Object.keys(SOCKJS_OPTION_KEYS).map((key) => [key, undefined]));
    assert.deepEqual(routeView(everyKey), defaults);
  });

  it('new SessionManager(): each of its keys', () => {
    const defaults = managerView(new SessionManager());
    for (const key of Object.keys(MANAGER_OPTION_KEYS)) assert.deepEqual(managerView(new SessionManager({ [key]: undefined })), defaults, key);
  });

  it('new MemoryStore() and new RedisStore()', async () => {
    assert.doesNotThrow(() => new MemoryStore({ maxSessions: undefined, now: undefined }));
    // A client given and the other keys undefined: the store uses the client, the default prefix.
    const client = new Redis({ lazyConnect: true });
    const store = new RedisStore({ client, url: undefined, keyPrefix: undefined, nodeTtl: undefined, commandTimeout: undefined, now: undefined });
    try {
      assert.deepEqual(
        { keyPrefix: store.keyPrefix, nodeTtl: store.nodeTtl, commandTimeout: store.commandTimeout },
        { keyPrefix: REDIS_STORE_DEFAULTS.keyPrefix, nodeTtl: REDIS_STORE_DEFAULTS.nodeTtl, commandTimeout: REDIS_STORE_DEFAULTS.commandTimeout },
      );
    } finally {
      await store.close();
      client.disconnect();
    }
  });
});
