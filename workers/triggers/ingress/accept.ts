import { newId } from '@airlock/schema/ids';
import type { AppContext } from '../../lib/context.ts';
import { safeErrorMessage } from '../../lib/log.ts';
import { claimDelivery, type NewDelivery } from '../deliveries.ts';
import type { TriggerEvent } from '../event.ts';
import { startRun } from '../run-start.ts';
import { queueDeduped, releaseDeliveryId, takeDeliveryId } from './fast-path.ts';

// A delivery that passed its checks, accepted: the answer must not wait for
// Postgres, let alone a session. Fast path: take the sender's delivery id in
// Redis, create the run's Workflow with the event (durable from then on: its
// first step writes the row, Postgres' unique index having the last word),
// answer 202. A copy answers `deduped` at once, its row queued. Slow path (Redis
// down, the Workflow refused, an event too large for its parameters): write the
// row in Postgres first, then start the run after the answer.

/** What the run's first step writes (the Workflow's parameters carry it until then). */
export interface PendingDelivery {
  readonly triggerId: string;
  readonly orgId: string;
  readonly source: 'github' | 'slack' | 'generic';
  readonly deliveryId: string;
  readonly event: TriggerEvent;
  /** ms since the epoch. */
  readonly at: number;
}

/** Workflow parameters stay well under their size limit; bigger events take the slow path. */
const MAX_PARAMS_BYTES = 256 * 1024;

const json = (status: number, body: Record<string, unknown>) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export async function acceptDelivery(
  c: AppContext,
  input: NewDelivery & { deliveryId: string; event: TriggerEvent; source: PendingDelivery['source'] },
): Promise<Response> {
  const scope = c.get('scope');
  const kv = scope.kv();
  const rowId = newId('delivery', input.at.getTime());
  const pending: PendingDelivery = {
    triggerId: input.triggerId,
    orgId: input.orgId,
    source: input.source,
    deliveryId: input.deliveryId,
    event: input.event,
    at: input.at.getTime(),
  };
  const small = JSON.stringify(pending).length <= MAX_PARAMS_BYTES;
  let first: string | null | undefined;
  try {
    first = small ? await takeDeliveryId(kv, input.triggerId, input.deliveryId, rowId) : undefined;
  } catch (error) {
    scope.log.warn('redis unavailable for webhook dedupe; using postgres', {
      error: safeErrorMessage(error),
    });
    first = undefined;
  }
  if (typeof first === 'string') {
    try {
      const copyId = newId('delivery', input.at.getTime());
      await queueDeduped(kv, {
        rowId: copyId,
        triggerId: input.triggerId,
        orgId: input.orgId,
        source: input.source,
        deliveryId: input.deliveryId,
        duplicateOf: first,
        event: input.event.name,
        summary: input.event.summary,
        at: input.at.getTime(),
      });
      return json(202, { delivery: copyId, status: 'deduped', duplicateOf: first });
    } catch {
      // The row could not be queued: record it the slow way (Postgres dedupes it the same).
    }
  }
  if (first === null) {
    try {
      await c.env.TRIGGER_RUN.create({ id: rowId, params: { deliveryId: rowId, pending } });
      return json(202, { delivery: rowId, status: 'received', duplicateOf: null });
    } catch (error) {
      scope.log.warn('trigger run not created; writing the delivery first', {
        error: safeErrorMessage(error),
      });
      await releaseDeliveryId(kv, input.triggerId, input.deliveryId).catch(() => {});
    }
  }
  const claim = await claimDelivery(scope.db(), { ...input, rowId });
  if (claim.claimed)
    c.executionCtx.waitUntil(
      startRun(c.env, claim.row.id).catch((error: unknown) =>
        scope.log.warn('trigger run not started; the sweep retries it', {
          delivery: claim.row.id,
          error: safeErrorMessage(error),
        }),
      ),
    );
  return json(202, { delivery: claim.row.id, status: claim.row.status, duplicateOf: claim.row.duplicateOf });
}
