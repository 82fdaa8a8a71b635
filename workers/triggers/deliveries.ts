import { triggerDeliveries } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, eq, isNotNull, notInArray } from 'drizzle-orm';
import type { Database } from '../lib/db.ts';
import type { TriggerEvent } from './event.ts';

// `trigger_deliveries`: one row per request (or tick), written once with what
// it became. Exactly-once rests on Postgres: the partial unique index on
// (trigger, sender's delivery id) lets one row claim the id; every later copy
// — a retry, a redelivery by the sender, a thousand concurrent ones — is
// written as `deduped` pointing at it. Rejected requests stay outside the
// index, so a forged request cannot claim a real delivery id first.

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
}

function values(input: NewDelivery, status: DeliveryRow['status'], reason: string | null): DeliveryInsert {
  return {
    id: newId('delivery', input.at.getTime()),
    triggerId: input.triggerId,
    orgId: input.orgId,
    source: input.source,
    deliveryId: input.deliveryId,
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

/** A row that is final at once (filtered, ignored, rejected, failed at the door). */
export async function recordFinal(
  db: Database,
  input: NewDelivery,
  status: 'filtered' | 'ignored' | 'rejected' | 'failed',
  reason: string,
): Promise<DeliveryRow> {
  const [row] = await db
    .insert(triggerDeliveries)
    .values(values(input, status, reason.slice(0, 1000)))
    .returning();
  if (row === undefined) throw new Error('delivery insert returned nothing');
  return row;
}

export type Claim =
  | { readonly claimed: true; readonly row: DeliveryRow }
  | { readonly claimed: false; readonly row: DeliveryRow };

/**
 * Claim the sender's delivery id for a run: the row is `received` (its run takes it from
 * there) or, when the id was claimed before, a `deduped` row pointing at the first.
 */
export async function claimDelivery(db: Database, input: NewDelivery): Promise<Claim> {
  const [row] = await db
    .insert(triggerDeliveries)
    .values(values(input, 'received', null))
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
              isNotNull(triggerDeliveries.deliveryId),
              notInArray(triggerDeliveries.status, ['deduped', 'rejected']),
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
