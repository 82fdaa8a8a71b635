import { triggerDeliveries, triggers } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, eq, inArray } from 'drizzle-orm';
import type { Database } from '../lib/db.ts';
import type { TriggerEvent } from './event.ts';

// `trigger_deliveries`: one row per request (or tick), written once with what
// it became. Exactly-once rests on Postgres: the partial unique index on
// (trigger, sender's delivery id) over rows that claim their id lets one row
// hold it; every later copy — a retry, a redelivery by the sender, a thousand
// concurrent ones — is written as `deduped` pointing at it, whatever the first
// became (started, filtered, ignored). Rejected requests never claim an id, so
// a forged request cannot take a real delivery id first.

export type DeliveryRow = typeof triggerDeliveries.$inferSelect;
type DeliveryInsert = typeof triggerDeliveries.$inferInsert;

export interface NewDelivery {
  readonly triggerId: string;
  readonly orgId: string;
  readonly source: DeliveryRow['source'];
  readonly deliveryId: string | null;
  readonly event?: TriggerEvent | undefined;
  readonly eventName?: string | null | undefined;
  readonly redeliveryOf?: string | undefined;
  readonly at: Date;
  /** The row id, when it was chosen before the row is written (the ingress's fast path). */
  readonly rowId?: string | undefined;
}

function values(input: NewDelivery, status: DeliveryRow['status'], reason: string | null): DeliveryInsert {
  return {
    id: input.rowId ?? newId('delivery', input.at.getTime()),
    triggerId: input.triggerId,
    orgId: input.orgId,
    source: input.source,
    deliveryId: input.deliveryId,
    claimsDeliveryId: input.deliveryId !== null && status !== 'deduped' && status !== 'rejected',
    status,
    event: input.event?.name ?? input.eventName ?? null,
    summary: input.event?.summary ?? null,
    reason,
    payload: input.event === undefined ? null : (input.event as unknown as Record<string, unknown>),
    redeliveryOf: input.redeliveryOf ?? null,
    createdAt: input.at,
    updatedAt: input.at,
  };
}

/** A rejected request's row: it claims nothing (its id, if any, is an unauthenticated hint). */
export async function recordRejected(db: Database, input: NewDelivery, reason: string): Promise<DeliveryRow> {
  const [row] = await db
    .insert(triggerDeliveries)
    .values(values({ ...input, event: undefined }, 'rejected', reason.slice(0, 1000)))
    .returning();
  if (row === undefined) throw new Error('delivery insert returned nothing');
  return row;
}

export type Claim =
  | { readonly claimed: true; readonly row: DeliveryRow }
  | { readonly claimed: false; readonly row: DeliveryRow };

/**
 * Write the row for a request whose signature held: `received` (its run takes it from there)
 * or final at once (filtered, ignored, failed). If the sender's delivery id was claimed before,
 * a `deduped` row pointing at the first is written instead.
 */
export async function claimDelivery(
  db: Database,
  input: NewDelivery,
  status: 'received' | 'filtered' | 'ignored' | 'failed' = 'received',
  reason: string | null = null,
): Promise<Claim> {
  const [row] = await db
    .insert(triggerDeliveries)
    .values(values(input, status, reason?.slice(0, 1000) ?? null))
    .onConflictDoNothing()
    .returning();
  if (row !== undefined) return { claimed: true, row };
  const [first] =
    input.deliveryId === null
      ? []
      : await db
          .select({ id: triggerDeliveries.id })
          .from(triggerDeliveries)
          .where(
            and(
              eq(triggerDeliveries.triggerId, input.triggerId),
              eq(triggerDeliveries.deliveryId, input.deliveryId),
              eq(triggerDeliveries.claimsDeliveryId, true),
            ),
          )
          .limit(1);
  const duplicate: DeliveryInsert = {
    ...values(
      { ...input, event: undefined, eventName: input.event?.name ?? input.eventName },
      'deduped',
      null,
    ),
    summary: input.event?.summary ?? null,
    duplicateOf: first?.id ?? null,
    reason: `delivery ${input.deliveryId ?? ''} was received before${first === undefined ? '' : ` as ${first.id}`}`,
  };
  const [deduped] = await db.insert(triggerDeliveries).values(duplicate).returning();
  if (deduped === undefined) throw new Error('delivery insert returned nothing');
  return { claimed: false, row: deduped };
}

export async function updateDelivery(
  db: Database,
  id: string,
  patch: Partial<
    Pick<
      DeliveryInsert,
      | 'status'
      | 'reason'
      | 'renderedPrompt'
      | 'sessionId'
      | 'turn'
      | 'attributedTo'
      | 'attributionNote'
      | 'reportStatus'
      | 'reportDetail'
      | 'reportedAt'
      | 'duplicateOf'
    >
  >,
  at: Date,
): Promise<void> {
  await db
    .update(triggerDeliveries)
    .set({
      ...patch,
      ...(patch.reason == null ? {} : { reason: patch.reason.slice(0, 1000) }),
      updatedAt: at,
    })
    .where(eq(triggerDeliveries.id, id));
}

export async function findDelivery(db: Database, id: string): Promise<DeliveryRow | undefined> {
  const [row] = await db.select().from(triggerDeliveries).where(eq(triggerDeliveries.id, id));
  return row;
}

/** A sender-supplied id, kept only as a bounded printable hint (it is unauthenticated on rejected rows). */
export function deliveryIdHint(value: string | null): string | null {
  if (value === null) return null;
  const cleaned = value.replace(/[^A-Za-z0-9_.:-]/g, '').slice(0, 100);
  return cleaned === '' ? null : cleaned;
}

/** A copy the ingress recognised in Redis and answered as deduped; its row is written later, in bulk. */
export interface DedupedCopy {
  /** The id the row gets (given in the answer before it is written). */
  readonly rowId: string;
  readonly triggerId: string;
  readonly orgId: string;
  readonly source: DeliveryRow['source'];
  readonly deliveryId: string;
  readonly duplicateOf: string;
  readonly event: string | null;
  readonly summary: string | null;
  /** ms since the epoch: when the copy was received. */
  readonly at: number;
}

export async function recordDeduped(db: Database, copies: readonly DedupedCopy[]): Promise<void> {
  // Copies of a trigger deleted since are dropped with it.
  const ids = [...new Set(copies.map((c) => c.triggerId))];
  if (ids.length === 0) return;
  const live = new Set(
    (await db.select({ id: triggers.id }).from(triggers).where(inArray(triggers.id, ids))).map((r) => r.id),
  );
  const kept = copies.filter((c) => live.has(c.triggerId));
  if (kept.length === 0) return;
  await db
    .insert(triggerDeliveries)
    .values(
      kept.map((c) => ({
        id: c.rowId,
        triggerId: c.triggerId,
        orgId: c.orgId,
        source: c.source,
        deliveryId: c.deliveryId,
        claimsDeliveryId: false,
        status: 'deduped' as const,
        event: c.event,
        summary: c.summary,
        reason: `delivery ${c.deliveryId} was received before as ${c.duplicateOf}`,
        duplicateOf: c.duplicateOf,
        createdAt: new Date(c.at),
        updatedAt: new Date(c.at),
      })),
    )
    .onConflictDoNothing();
}
