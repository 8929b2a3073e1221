/** A SessionRecord to and from the fields of its Redis hash. */
import type { SessionState } from '../session-state.js';
import type { SessionRecord } from '../store.js';

/** The hash fields of a new record, `ttl` included; a receiver is claimed for `ttlMs` from `now`. */
export function recordFields(record: SessionRecord, ttlMs: number, now: number): (string | number)[] {
  const fields: (string | number)[] = ['id', record.id, 'owner', record.owner, 'state', record.state, 'seenAt', record.seenAt, 'transport', record.transport, 'ttl', ttlMs];
  if (record.closeCode !== undefined) fields.push('closeCode', record.closeCode);
  if (record.closeReason !== undefined) fields.push('closeReason', record.closeReason);
  if (record.receiver !== undefined) fields.push('receiver', record.receiver, 'claimUntil', now + ttlMs);
  if (record.identity !== undefined) fields.push('identity', record.identity);
  return fields;
}

/** Record hash fields to a SessionRecord; a lapsed receiver claim reads as no claim. */
export function toRecord(fields: Record<string, string>, now: number): SessionRecord | undefined {
  if (fields.id === undefined) return undefined;
  const record: SessionRecord = {
    id: fields.id,
    owner: fields.owner ?? '',
    state: Number(fields.state) as SessionState,
    seenAt: Number(fields.seenAt),
    transport: fields.transport ?? '',
    ...(fields.identity !== undefined ? { identity: fields.identity } : {}),
  };
  if (fields.closeCode !== undefined) record.closeCode = Number(fields.closeCode);
  if (fields.closeReason !== undefined) record.closeReason = fields.closeReason;
  if (fields.receiver !== undefined) {
    const claimUntil = Number(fields.claimUntil ?? 0);
    if (claimUntil > now) record.receiver = fields.receiver;
    else record.seenAt = Math.max(record.seenAt, claimUntil);
  }
  return record;
}

/** HGETALL's flat [field, value, ...] reply (as a script returns it) to an object. */
export function pairsToObject(pairs: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) fields[pairs[i]!] = pairs[i + 1]!;
  return fields;
}
