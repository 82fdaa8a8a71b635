import { triggers } from '@airlock/schema/db';
import { eq, sql } from 'drizzle-orm';
import type { Database } from '../lib/db.ts';
import type { Kv } from '../lib/kv.ts';
import { auditAsTrigger } from './audit.ts';
import { forgetTrigger } from './ingress/fast-path.ts';

// After `autoPauseAfter` failed runs in a row (default 3; 0 never) a trigger
// disables itself and says why, so a broken profile or prompt does not burn
// a session per event all night. A success resets the count; enabling the
// trigger again (PATCH enabled: true) clears the pause.

export async function countRun(
  db: Database,
  kv: Kv,
  triggerId: string,
  failed: boolean,
  why: string,
  at: Date,
): Promise<{ paused: boolean; failures: number }> {
  if (!failed) {
    await db.update(triggers).set({ consecutiveFailures: 0 }).where(eq(triggers.id, triggerId));
    return { paused: false, failures: 0 };
  }
  const [row] = await db
    .update(triggers)
    .set({ consecutiveFailures: sql`${triggers.consecutiveFailures} + 1` })
    .where(eq(triggers.id, triggerId))
    .returning({
      failures: triggers.consecutiveFailures,
      enabled: triggers.enabled,
      config: triggers.config,
      orgId: triggers.orgId,
    });
  if (row === undefined) return { paused: false, failures: 0 };
  const limit = typeof row.config.autoPauseAfter === 'number' ? row.config.autoPauseAfter : 3;
  if (limit === 0 || row.failures < limit || !row.enabled) return { paused: false, failures: row.failures };
  // The webhook path's cache must not keep a paused trigger enabled.
  await forgetTrigger(kv, triggerId).catch(() => {});
  const reason = `paused after ${row.failures} failed runs in a row; the last: ${why}`.slice(0, 1000);
  const [paused] = await db
    .update(triggers)
    .set({ enabled: false, pausedReason: reason, nextRunAt: null, updatedAt: at })
    .where(eq(triggers.id, triggerId))
    .returning({ id: triggers.id });
  if (paused !== undefined)
    await auditAsTrigger(
      db,
      {
        orgId: row.orgId,
        triggerId,
        action: 'trigger.paused',
        targetId: triggerId,
        detail: { failures: row.failures, reason },
      },
      at,
    );
  return { paused: paused !== undefined, failures: row.failures };
}
