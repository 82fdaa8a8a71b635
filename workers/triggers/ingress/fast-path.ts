import { triggers } from '@airlock/schema/db';
import { eq } from 'drizzle-orm';
import type { Database } from '../../lib/db.ts';
import type { Kv } from '../../lib/kv.ts';
import type { DedupedCopy } from '../deliveries.ts';
import type { TriggerRow } from '../secrets.ts';

// Redis in front of Postgres on the webhook path (ADR 0141), so a burst —
// 200 deliveries at once, or one delivery replayed 1,000 times — costs no
// Postgres connection per request:
// - the trigger's row (its secret sealed, as in Postgres) is cached, written
//   through on every change and dropped on delete; a miss reads Postgres;
// - the first request with a sender's delivery id takes `seen:<trigger>:<id>`
//   (SET NX, holding the row id it will get); later copies read it, are
//   answered `deduped` at once and queued to be written in bulk;
// - Postgres stays the truth: the run's first step inserts the row, and the
//   unique index turns a copy Redis missed (expired, flushed) into `deduped`.

const TRIGGER_TTL_SECONDS = 24 * 3600;
const MISSING_TTL_SECONDS = 300;
const SEEN_TTL_SECONDS = 7 * 24 * 3600;
const MISSING = 'none';

const triggerKey = (kv: Kv, id: string) => kv.key('hooks', 'trigger', id);
const dedupeQueue = (kv: Kv) => kv.key('hooks', 'deduped');

interface Stored
  extends Omit<
    TriggerRow,
    'createdAt' | 'updatedAt' | 'lastFiredAt' | 'nextRunAt' | 'previousSecretExpiresAt'
  > {
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastFiredAt: string | null;
  readonly nextRunAt: string | null;
  readonly previousSecretExpiresAt: string | null;
}

const date = (s: string | null) => (s === null ? null : new Date(s));

function revive(stored: Stored): TriggerRow {
  return {
    ...stored,
    createdAt: new Date(stored.createdAt),
    updatedAt: new Date(stored.updatedAt),
    lastFiredAt: date(stored.lastFiredAt),
    nextRunAt: date(stored.nextRunAt),
    previousSecretExpiresAt: date(stored.previousSecretExpiresAt),
  };
}

/** Write a trigger's current row through to the cache (after create, update, rotate, pause). */
export async function cacheTrigger(kv: Kv, row: TriggerRow): Promise<void> {
  await kv.redis.set(triggerKey(kv, row.id), JSON.stringify(row), { ex: TRIGGER_TTL_SECONDS });
}

export async function forgetTrigger(kv: Kv, id: string): Promise<void> {
  await kv.redis.del(triggerKey(kv, id));
}

/** The trigger by id: the cache, else Postgres (filling the cache, a miss included). */
export async function lookupTrigger(kv: Kv, db: () => Database, id: string): Promise<TriggerRow | null> {
  const cached = await kv.redis.get<string>(triggerKey(kv, id)).catch(() => null);
  if (cached === MISSING) return null;
  if (typeof cached === 'string') {
    try {
      return revive(JSON.parse(cached) as Stored);
    } catch {
      // A cache entry we cannot read: ask Postgres.
    }
  }
  const [row] = await db().select().from(triggers).where(eq(triggers.id, id));
  if (row === undefined)
    await kv.redis.set(triggerKey(kv, id), MISSING, { ex: MISSING_TTL_SECONDS }).catch(() => {});
  else await cacheTrigger(kv, row).catch(() => {});
  return row ?? null;
}

/**
 * Claim the sender's delivery id for `rowId`. Returns null when this request is the first,
 * else the row id the first one holds.
 */
export async function takeDeliveryId(
  kv: Kv,
  triggerId: string,
  deliveryId: string,
  rowId: string,
): Promise<string | null> {
  const key = kv.key('hooks', 'seen', triggerId, deliveryId);
  const taken = await kv.redis.set(key, rowId, { nx: true, ex: SEEN_TTL_SECONDS });
  if (taken === 'OK') return null;
  return (await kv.redis.get<string>(key)) ?? 'unknown';
}

/** Give the id back (the run could not be started: the slow path takes over). */
export async function releaseDeliveryId(kv: Kv, triggerId: string, deliveryId: string): Promise<void> {
  await kv.redis.del(kv.key('hooks', 'seen', triggerId, deliveryId));
}

export async function queueDeduped(kv: Kv, copy: DedupedCopy): Promise<void> {
  await kv.redis.rpush(dedupeQueue(kv), JSON.stringify(copy));
}

/** Up to `max` queued copies, removed from the queue (their rows are written by the caller). */
export async function takeDeduped(kv: Kv, max = 1000): Promise<DedupedCopy[]> {
  const taken = await kv.redis.lpop<string[]>(dedupeQueue(kv), max);
  if (taken === null) return [];
  return (Array.isArray(taken) ? taken : [taken]).flatMap((raw) => {
    try {
      return [JSON.parse(typeof raw === 'string' ? raw : String(raw)) as DedupedCopy];
    } catch {
      return [];
    }
  });
}
