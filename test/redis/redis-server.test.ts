// The Redis tests need a real redis-server: without one they fail (here by name, and in every
// file of test/redis/), never skip. CI installs it with apt-get (.ci/run).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { findRedisServer, startRedisServer } from '../helpers/redis-server.js';

it('has a redis-server to run the Redis store tests against', async () => {
  assert.ok(
    findRedisServer(),
    'redis-server was not found (looked at $REDIS_SERVER and $PATH): install it (Debian/Ubuntu: `apt-get install -y redis-server`) or set REDIS_SERVER',
  );
  const redis = await startRedisServer();
  await redis.stop();
});
