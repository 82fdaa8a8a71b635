import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers';
import { loadConfig } from '../lib/context.ts';
import { pgErrorOf, withDb } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { openKv } from '../lib/kv.ts';
import { createLogger } from '../lib/log.ts';
import { TURN_ENDED_EVENT } from '../lifecycle/turns.ts';
import { countRun } from '../triggers/auto-pause.ts';
import { claimDelivery, findDelivery, recordDeduped, updateDelivery } from '../triggers/deliveries.ts';
import type { PendingDelivery } from '../triggers/ingress/accept.ts';
import { takeDeduped } from '../triggers/ingress/fast-path.ts';
import { act, type Decision, decide, type RunDeps, report, turnState } from '../triggers/run.ts';

export interface TriggerRunParams {
  /** The delivery row (`dlv_…`); also this instance's id, so a delivery has one run. */
  readonly deliveryId: string;
  /** Set when the ingress answered before writing the row: the first step writes it. */
  readonly pending?: PendingDelivery;
}

// One delivery, after its webhook was answered (ADR 0141): decide → start the
// session or queue the conversation's turn → wait until that turn has ended
// (woken by the session's lifecycle; slices re-read the database) → report the
// result back → count it towards the trigger's auto-pause. Logic lives in
// workers/triggers/run.ts; this file is the steps.

const FEW_RETRIES = { retries: { limit: 3, delay: 2000, backoff: 'exponential' as const } };
/** A conversation's first message may still be starting its session: look again this often, this long. */
const WAIT_ROUNDS = 30;
/** Waits for the turn grow from 30 s to 5 min: a lost wake-up costs one slice. */
const slice = (round: number) => Math.min(300_000, 30_000 * 2 ** Math.min(round, 4));
const MAX_TURN_ROUNDS = 400;

export class TriggerRunWorkflow extends WorkflowEntrypoint<Env, TriggerRunParams> {
  override async run(event: WorkflowEvent<TriggerRunParams>, step: WorkflowStep): Promise<void> {
    const { deliveryId, pending } = event.payload;
    const log = createLogger({ deliveryId, workflow: 'trigger-run' });
    if (pending !== undefined) {
      const recorded = await step.do('record the delivery', FEW_RETRIES, () =>
        this.#deps((d) => recordPending(d, deliveryId, pending)),
      );
      if (!recorded) return;
    }
    let decision: Decision = { kind: 'wait' };
    for (let round = 0; round < WAIT_ROUNDS && decision.kind === 'wait'; round++) {
      decision = await step.do(`decide ${round}`, FEW_RETRIES, () =>
        this.#deps((d) => decide(d, deliveryId, new Date())),
      );
      if (decision.kind === 'wait') await step.sleep(`thread starting ${round}`, '2 seconds');
    }
    if (decision.kind === 'wait') {
      await step.do('give up waiting', FEW_RETRIES, () =>
        this.#deps((d) =>
          updateDelivery(
            d.db,
            deliveryId,
            { status: 'failed', reason: "the thread's session did not start in time" },
            new Date(),
          ),
        ),
      );
      return;
    }
    if (decision.kind === 'done') return;
    if (decision.kind === 'failed')
      return this.#finish(step, deliveryId, 'not_started', decision.reason, null, []);

    const started = decision;
    const acted = await step.do('start', FEW_RETRIES, () =>
      this.#deps((d) => act(d, deliveryId, started, new Date())),
    );
    if (acted.kind === 'deduped') return;
    if (acted.kind === 'not_started')
      return this.#finish(step, deliveryId, 'not_started', acted.reason, null, []);
    log.info('trigger run started', { sessionId: acted.sessionId, turn: acted.turn });

    for (let round = 0; round < MAX_TURN_ROUNDS; round++) {
      const state = await step.do(`turn ${acted.turn} state ${round}`, FEW_RETRIES, () =>
        this.#deps((d) => turnState(d.db, acted.sessionId, acted.turn)),
      );
      if (state.ended)
        return this.#finish(step, deliveryId, state.status, state.answer, acted.sessionId, state.pushed);
      try {
        await step.waitForEvent(`turn ${acted.turn} ended ${round}`, {
          type: TURN_ENDED_EVENT,
          timeout: slice(round),
        });
      } catch {
        // Timed out: read the turn again.
      }
    }
  }

  async #finish(
    step: WorkflowStep,
    deliveryId: string,
    status: 'succeeded' | 'failed' | 'not_started',
    summary: string,
    sessionId: string | null,
    pushed: ReadonlyArray<{ repository: string; branch: string; sha: string }>,
  ): Promise<void> {
    await step.do('report', FEW_RETRIES, () =>
      this.#deps(async (d) => {
        // Copies answered as deduped since the first step: their rows too.
        await recordDeduped(d.db, await takeDeduped(openKv(d.config)));
        return report(d, deliveryId, { status, summary, sessionId, pushed }, new Date());
      }),
    );
    await step.do('count the run', FEW_RETRIES, () =>
      this.#deps(async (d) => {
        const [row] = await d.db.query.triggerDeliveries.findMany({
          where: (t, { eq }) => eq(t.id, deliveryId),
          columns: { triggerId: true },
        });
        if (row === undefined) return { paused: false, failures: 0 };
        return countRun(
          d.db,
          openKv(d.config),
          row.triggerId,
          status !== 'succeeded',
          summary.slice(0, 300),
          new Date(),
        );
      }),
    );
  }

  #deps<T>(work: (deps: RunDeps) => Promise<T>): Promise<T> {
    const config = loadConfig(this.env);
    return withDb(config, (db) => work({ env: this.env, db, config }));
  }
}

/**
 * Write the row the ingress answered for (Postgres' unique index decides: a copy Redis missed
 * becomes `deduped` and runs nothing), and the rows of copies answered as deduped meanwhile.
 */
async function recordPending(deps: RunDeps, rowId: string, pending: PendingDelivery): Promise<boolean> {
  // A retried step finds the row it wrote.
  const existing = await findDelivery(deps.db, rowId);
  if (existing !== undefined) return existing.claimsDeliveryId;
  const claim = await claimDelivery(deps.db, {
    triggerId: pending.triggerId,
    orgId: pending.orgId,
    source: pending.source,
    deliveryId: pending.deliveryId,
    event: pending.event,
    at: new Date(pending.at),
    rowId,
  }).catch((error: unknown) => {
    // The trigger was deleted after the answer: its deliveries went with it.
    if (pgErrorOf(error)?.code === '23503') return null;
    throw error;
  });
  await recordDeduped(deps.db, await takeDeduped(openKv(deps.config)));
  return claim?.claimed === true && claim.row.id === rowId;
}
