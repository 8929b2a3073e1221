/**
 * The koa-sockjs the bench measures: the built package (`dist/esm`, what `npm install` gives
 * users), not `src/` through tsx. tsx compiles with esbuild's `keepNames`, which wraps every
 * function and class created at run time in a `__name()` call (an `Object.defineProperty`):
 * per session and per message that is work no user's server does, and it showed in the
 * profiles (1.2 % of connection setup for one closure alone). The types still come from
 * `src/`, so type-checking the bench does not need a build; `npm run bench` builds first.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as Package from '../../src/index.js';
import type * as RedisEntry from '../../src/store/redis/index.js';

const DIST = new URL('../../dist/esm/', import.meta.url);

async function load<T>(entry: string): Promise<T> {
  const url = new URL(entry, DIST);
  if (!existsSync(fileURLToPath(url))) throw new Error(`${fileURLToPath(url)} is missing: run \`npm run build\` (npm run bench builds first)`);
  return (await import(url.href)) as T;
}

/** The package's main entry point, as built. */
export const koaSockjs = await load<typeof Package>('index.js');

/** The `koa-sockjs/redis` entry point, loaded only when a run asks for the Redis store. */
export function loadRedisEntry(): Promise<typeof RedisEntry> {
  return load<typeof RedisEntry>('store/redis/index.js');
}
