import type { Config } from '@airlock/config';
import { latestRun, nextRuns } from '@airlock/schema/api';
import { triggerDeliveries, triggers } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, asc, eq, gt, isNull, lte } from 'drizzle-orm';
import type { Database } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { openKv } from '../lib/kv.ts';
import { createLogger, safeErrorMessage } from '../lib/log.ts';
import { recordDeduped } from './deliveries.ts';
import { takeDeduped } from './ingress/fast-path.ts';
import { startRun } from './run-start.ts';
import { scheduleEvent, tickDeliveryId } from './sources/schedule.ts';

// The Worker's `scheduled()` handler, each minute (ADR 0142): claim every due
// schedule tick exactly once, then re-start runs whose Workflow never began.
// A due trigger is locked `FOR UPDATE SKIP LOCKED`, its tick written as a
// delivery whose (trigger, `schedule:<tick>`) is unique, and its next run
// moved past now — in one transaction. Overlapping or late invocations skip
// locked rows and find nothing due after the commit; the unique row catches
// anything else. After downtime only the latest missed tick runs, once.

const log = createLogger({ part: 'scheduler' });
const BATCH = 100;
/** A received delivery whose run has not moved it on for this long gets its run (re)started. */
const STUCK_AFTER_MS = 2 * 60_000;

export interface SchedulerDeps {
  readonly env: Env;
  readonly db: Database;
  readonly config: Config;
}

interface Schedule {
  readonly cron: string;
  readonly timezone: string;
}

function scheduleOf(config: Record<string, unknown>): Schedule | null {
  return typeof config.cron === 'string' && typeof config.timezone === 'string'
    ? { cron: config.cron, timezone: config.timezone }
    : null;
}

/** The first run strictly after `after`, or null if it never fires again. */
export function nextRunAfter(config: Record<string, unknown>, after: Date): Date | null {
  const schedule = scheduleOf(config);
  if (schedule === null) return null;
  try {
    return nextRuns(schedule.cron, schedule.timezone, 1, after)[0] ?? null;
  } catch {
    return null;
  }
}

/** Claim due ticks; returns the delivery ids claimed (their runs are started after the commit). */
export async function claimDueTicks(db: Database, now: Date): Promise<string[]> {
  const claimed = await db.transaction(async (tx) => {
    const due = await tx
      .select({
        id: triggers.id,
        orgId: triggers.orgId,
        config: triggers.config,
        nextRunAt: triggers.nextRunAt,
      })
      .from(triggers)
      .where(and(eq(triggers.kind, 'schedule'), eq(triggers.enabled, true), lte(triggers.nextRunAt, now)))
      .orderBy(asc(triggers.nextRunAt))
      .limit(BATCH)
      .for('update', { skipLocked: true });
    const ids: string[] = [];
    for (const trigger of due) {
      const schedule = scheduleOf(trigger.config);
      const next = nextRunAfter(trigger.config, now);
      const tick = schedule === null ? null : latestRun(schedule.cron, schedule.timezone, now);
      await tx.update(triggers).set({ nextRunAt: next }).where(eq(triggers.id, trigger.id));
      if (schedule === null || tick === null) continue;
      // Ticks between the one that was due and the latest: missed (downtime), not run.
      const skipped =
        trigger.nextRunAt === null
          ? 0
          : nextRuns(
              schedule.cron,
              schedule.timezone,
              1000,
              new Date(trigger.nextRunAt.getTime() - 1),
            ).filter((t) => t < tick).length;
      const event = scheduleEvent(tick, schedule.cron, schedule.timezone);
      const [row] = await tx
        .insert(triggerDeliveries)
        .values({
          id: newId('delivery', now.getTime()),
          triggerId: trigger.id,
          orgId: trigger.orgId,
          source: 'schedule',
          deliveryId: tickDeliveryId(tick),
          status: 'received',
          event: event.name,
          summary:
            skipped > 0
              ? `${event.summary}; ${skipped} earlier missed tick${skipped === 1 ? '' : 's'} not run`
              : event.summary,
          payload: event as unknown as Record<string, unknown>,
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing()
        .returning({ id: triggerDeliveries.id });
      if (row !== undefined) ids.push(row.id);
    }
    return ids;
  });
  return claimed;
}

/** Enabled schedules without a next run (created before this column, or restored): give them one. */
export async function planSchedules(db: Database, now: Date): Promise<number> {
  const rows = await db
    .select({ id: triggers.id, config: triggers.config })
    .from(triggers)
    .where(and(eq(triggers.kind, 'schedule'), eq(triggers.enabled, true), isNull(triggers.nextRunAt)))
    .limit(BATCH);
  for (const row of rows)
    await db
      .update(triggers)
      .set({ nextRunAt: nextRunAfter(row.config, now) })
      .where(and(eq(triggers.id, row.id), isNull(triggers.nextRunAt)));
  return rows.length;
}

/** Runs that never started (the Workflow create after the answer failed), or whose instance errored. */
export async function restartStuck(deps: SchedulerDeps, now: Date): Promise<number> {
  const stuck = await deps.db
    .select({ id: triggerDeliveries.id })
    .from(triggerDeliveries)
    .where(
      and(
        eq(triggerDeliveries.status, 'received'),
        lte(triggerDeliveries.createdAt, new Date(now.getTime() - STUCK_AFTER_MS)),
        gt(triggerDeliveries.createdAt, new Date(now.getTime() - 24 * 3600_000)),
      ),
    )
    .limit(50);
  for (const { id } of stuck) {
    try {
      await startRun(deps.env, id);
      const instance = await deps.env.TRIGGER_RUN.get(id);
      const { status } = await instance.status();
      if (status === 'errored' || status === 'terminated') await instance.restart();
    } catch (error) {
      log.warn('could not restart a trigger run', { delivery: id, error: safeErrorMessage(error) });
    }
  }
  return stuck.length;
}

/** The cron entry's trigger work: due ticks claimed and their runs started, stuck runs restarted. */
export async function runScheduler(deps: SchedulerDeps, now: Date): Promise<{ claimed: string[] }> {
  await planSchedules(deps.db, now);
  const claimed = await claimDueTicks(deps.db, now);
  for (const id of claimed)
    await startRun(deps.env, id).catch((error: unknown) =>
      log.warn('schedule run not started; the next sweep retries it', {
        delivery: id,
        error: safeErrorMessage(error),
      }),
    );
  await restartStuck(deps, now);
  // Copies the webhook path answered as deduped, whose rows no run has written yet.
  await recordDeduped(deps.db, await takeDeduped(openKv(deps.config)));
  return { claimed };
}
