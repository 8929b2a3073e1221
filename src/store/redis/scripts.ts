/**
 * RedisStore's Lua scripts. Every change that touches several keys is one script, so it is
 * atomic. The record and both mailboxes share one time to live, the one the manager passes
 * (disconnectDelay + 2 x heartbeatDelay), so sessions nobody comes back for disappear by
 * themselves. Key and argument order are noted above each script; see keys.ts for the keys.
 */
import { createHash } from 'node:crypto';

/** A Lua script: sent whole (EVAL) the first time on a connection, by its SHA1 after. */
export class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

// KEYS: record, index. ARGV: ttl, now, expireAt, key, field, value, ...
export const CREATE = new Script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGETALL', KEYS[1]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1`);

// KEYS: record. ARGV: '1' and the expected owner (compare-and-set) or '0' and '', then field, value, ...
export const UPDATE = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '1' and redis.call('HGET', KEYS[1], 'owner') ~= ARGV[2] then return 0 end
if #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end
return 1`);

// KEYS: record, outgoing, incoming, index. ARGV: ttl, now, expireAt, key
export const TOUCH = new Script(`
if redis.call('HGET', KEYS[1], 'buried') then return 0 end
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'ttl', ARGV[1])
local claimUntil = redis.call('HGET', KEYS[1], 'claimUntil')
if claimUntil and tonumber(claimUntil) > tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], 'claimUntil', ARGV[3]) end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], 'XX', ARGV[3], ARGV[4])
return 1`);

// KEYS: record, outgoing, incoming, index. ARGV: key
export const DELETE = new Script(`
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1`);

// KEYS: record, mailbox. ARGV: wake channel, message, ...
// RPUSH in slices: Lua's unpack() has a limit on how many values it returns.
export const PUSH = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 2, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
redis.call('PUBLISH', ARGV[1], '')
return 1`);

// KEYS: mailbox
export const TAKE = new Script(`
local messages = redis.call('LRANGE', KEYS[1], 0, -1)
if #messages > 0 then redis.call('DEL', KEYS[1]) end
return messages`);

/**
 * Lua that renews a session's three keys and its index entry by the time to live its record
 * keeps (`ttl`, from the last create or touch): what a claim and a release both do, as signs of
 * the client's activity (issue 9). KEYS: record, outgoing, incoming, index; ARGV[2] is now, and
 * ARGV[keyArg] the session's key in the index.
 */
function renewByStoredTtl(keyArg: number): string {
  return `local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl'))
if ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
  redis.call('ZADD', KEYS[4], 'XX', tonumber(ARGV[2]) + ttl, ARGV[${keyArg}])
end`;
}

/**
 * Lua that claims the receiver (ARGV: token, now, claimUntil, key); a refused claim returns
 * `refused` from the script. A claim is a receiving request arriving: a sign of life, so it
 * renews the time to live (by the one last given, as RELEASE does). A tombstone (see BURY)
 * cannot be claimed.
 */
function claim(refused: string): string {
  return `if redis.call('EXISTS', KEYS[1]) == 0 then return ${refused} end
if redis.call('HGET', KEYS[1], 'buried') then return ${refused} end
local holder = redis.call('HGET', KEYS[1], 'receiver')
if holder and holder ~= ARGV[1] then
  local claimUntil = tonumber(redis.call('HGET', KEYS[1], 'claimUntil') or '0')
  if claimUntil > tonumber(ARGV[2]) then return ${refused} end
end
redis.call('HSET', KEYS[1], 'receiver', ARGV[1], 'claimUntil', ARGV[3])
${renewByStoredTtl(4)}`;
}

// KEYS: record, outgoing, incoming, index. ARGV: token, now, claimUntil, key
export const CLAIM = new Script(`
${claim('0')}
return 1`);

// KEYS: record, outgoing, incoming, index. ARGV: token, now, claimUntil, key
// CLAIM, then TAKE of the outgoing mailbox when granted: the messages (a nil reply when refused).
export const CLAIM_TAKE = new Script(`
${claim('false')}
local messages = redis.call('LRANGE', KEYS[2], 0, -1)
if #messages > 0 then redis.call('DEL', KEYS[2]) end
return messages`);

// KEYS: record, outgoing, incoming, index. ARGV: closeCode, closeReason, ttl, key, closedState
// The record becomes its own tombstone: closed, unclaimed, without mailboxes, out of the index.
export const BURY = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[1], 'receiver', 'claimUntil')
redis.call('HSET', KEYS[1], 'state', ARGV[5], 'closeCode', ARGV[1], 'closeReason', ARGV[2], 'buried', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[4])
return 1`);

// KEYS: record, outgoing, incoming, index. ARGV: token, now, key
export const RELEASE = new Script(`
if redis.call('HGET', KEYS[1], 'receiver') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'receiver', 'claimUntil')
redis.call('HSET', KEYS[1], 'seenAt', ARGV[2])
${renewByStoredTtl(3)}
return 1`);

// KEYS: index. ARGV: now
export const COUNT = new Script(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZCARD', KEYS[1])`);
