import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers';
import { NonRetryableError } from 'cloudflare:workflows';
import { allowsPlainHttp } from '@airlock/config';
import { sessions } from '@airlock/schema/db';
import { eq } from 'drizzle-orm';
import { loadConfig } from '../lib/context.ts';
import { type Database, withDb } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { createLogger } from '../lib/log.ts';
import { gatewaySettings } from '../lifecycle/gateway-settings.ts';
import type { HeadlessOutcome } from '../lifecycle/headless.ts';
import { endGateway, ProvisionError, provision, teardown } from '../lifecycle/provision.ts';
import { openSecretsInSandbox } from '../lifecycle/secrets-in-sandbox.ts';
import { activePlan, type Loaded, load, SessionFailure, storePlan } from '../lifecycle/session-plan.ts';
import {
  LIVE,
  parseSandboxRef,
  releaseQuota,
  STOP_EVENT,
  saveSandboxRef,
  sessionStatus,
  transition,
} from '../lifecycle/session-state.ts';
import {
  ensureFirstTurn,
  failOpenTurns,
  lastTurnActivity,
  nextQueuedTurn,
  notifyTurnEnded,
  runTurn,
  TURN_QUEUED_EVENT,
} from '../lifecycle/turns.ts';
import type { SandboxRef } from '../providers/types.ts';

export interface SessionLifecycleParams {
  readonly sessionId: string;
}

// A session from `pending` to `stopped` or `failed` (ADR 0035): quota →
// runtime plan (stored) → gateway + sandbox from the ready snapshot → tunnel →
// agent (PTY, or the headless command with the prompt) → running → stop
// (the stop route, idle, tunnel lost, sandbox gone: each sends a `stop` event;
// or the TTL) → gateway ended → sandbox stopped and destroyed → quota
// released. Whatever fails, the last steps run: teardown and release happen on
// every path, and the cron sweep catches an instance that died anyway.

interface Ending {
  readonly status: 'stopped' | 'failed';
  readonly reason: string;
  readonly exitCode?: number | null;
}

const NO_RETRY = { retries: { limit: 0, delay: 1000 } } as const;
const FEW_RETRIES = { retries: { limit: 3, delay: 2000, backoff: 'exponential' as const } };
/** A lost stop event costs at most this long: the waits are sliced and re-check the database. */
const STOP_POLL_SECONDS = 300;
const OUTPUT_TAIL = 2000;

export class SessionLifecycleWorkflow extends WorkflowEntrypoint<Env, SessionLifecycleParams> {
  override async run(event: WorkflowEvent<SessionLifecycleParams>, step: WorkflowStep): Promise<void> {
    const { sessionId } = event.payload;
    const log = createLogger({ sessionId, workflow: 'session-lifecycle' });
    let loaded: Loaded | null = null;
    let ending: Ending;
    try {
      loaded = await step.do('load session', FEW_RETRIES, () => this.#db((db) => load(db, sessionId)));
      ending = await this.#live(step, sessionId, loaded);
    } catch (error) {
      ending = { status: 'failed', reason: failureReason(error) };
    }
    log.info('session ending', { status: ending.status });
    const orgId = loaded?.orgId ?? null;
    // A failing session is `stopping` before its sandbox is stopped: the runner's report of the
    // exited container must not read as "stopped unexpectedly" and bury the real reason.
    if (ending.status === 'failed')
      await step.do('status stopping (failed)', FEW_RETRIES, () =>
        this.#db((db) => transition(db, sessionId, { from: LIVE, to: 'stopping', reason: ending.reason })),
      );
    const stopped = await step.do('tear down', FEW_RETRIES, () => this.#tearDown(sessionId, ending));
    await step.do('finish', FEW_RETRIES, () =>
      this.#db(async (db) => {
        const exitCode = ending.exitCode ?? stopped.exitCode;
        const set = { stoppedAt: new Date(), ...(exitCode === null ? {} : { exitCode }) };
        if (ending.status === 'failed')
          await transition(db, sessionId, {
            from: [...LIVE, 'stopping'],
            to: 'failed',
            reason: ending.reason,
            set: { ...set, failureReason: ending.reason },
          });
        else
          await transition(db, sessionId, {
            from: [...LIVE, 'stopping'],
            to: 'stopped',
            reason: ending.reason,
            set,
          });
        const [row] = await db
          .select({ orgId: sessions.orgId })
          .from(sessions)
          .where(eq(sessions.id, sessionId));
        const org = orgId ?? row?.orgId;
        if (org !== undefined) await releaseQuota(this.env, org, sessionId);
        // Turns that never ran end with the session; whoever waits on them is told.
        for (const deliveryId of await failOpenTurns(db, sessionId, `the session ended: ${ending.reason}`))
          await notifyTurnEnded(this.env, deliveryId);
      }),
    );
  }

  /** Up to the moment the session should end; returns how it ends. */
  async #live(step: WorkflowStep, sessionId: string, s: Loaded): Promise<Ending> {
    const config = loadConfig(this.env);
    const limits = config.limits;
    const ttlMs = limits.session_ttl_seconds * 1000;

    const quota = await step.do('acquire quota', FEW_RETRIES, async () => {
      const limiter = this.env.ORG_LIMITER.get(this.env.ORG_LIMITER.idFromName(s.orgId));
      // The lease outlives the TTL a little: the lifecycle releases it; expiry is the backstop.
      const result = await limiter.acquire({
        sessionId,
        limit: limits.max_concurrent_sessions_per_org,
        ttlMs: ttlMs + 15 * 60_000,
      });
      return result.ok
        ? { ok: true as const, active: result.active, limit: limits.max_concurrent_sessions_per_org }
        : { ok: false as const, active: result.active, limit: result.limit };
    });
    if (!quota.ok)
      throw new SessionFailure(
        `Over the org's concurrent-session quota: ${quota.active} of ${quota.limit} sessions are running.`,
      );

    const revision = await step.do('compile plan', FEW_RETRIES, () =>
      this.#db((db) => storePlan(db, sessionId, s, allowsPlainHttp(config))),
    );
    if (await this.#stopRequested(step, sessionId, 'check before provisioning')) return stoppedEarly();
    await step.do('status provisioning', FEW_RETRIES, () =>
      this.#db((db) =>
        transition(db, sessionId, {
          from: ['pending'],
          to: 'provisioning',
          reason: 'quota acquired, plan compiled',
        }),
      ),
    );

    const settings = gatewaySettings(limits);
    await step.do('provision sandbox', { ...NO_RETRY, timeout: '10 minutes' }, () =>
      this.#db(async (db) => {
        const plan = await activePlan(db, sessionId, revision);
        try {
          const ref = await provision(
            { env: this.env, config, db },
            {
              orgId: s.orgId,
              gatewayId: sessionId,
              plan,
              revision,
              attribution: s.attribution,
              settings,
              image: s.imageRef,
              resources: s.resources,
              provider: s.provider,
              providerConnectionId: s.providerConnectionId,
              // The provider's own timer ends the sandbox a little after the TTL whatever happens here.
              lifetimeSeconds: Math.ceil((s.createdAt + ttlMs - Date.now()) / 1000) + 300,
              onCreated: async (created) => {
                await saveSandboxRef(db, sessionId, created);
                await transition(db, sessionId, {
                  from: ['provisioning'],
                  to: 'starting',
                  reason: `sandbox ${created.externalId ?? created.sandboxId} created${created.runnerId === null ? '' : ` on runner ${created.runnerId}`}; starting it`,
                });
              },
            },
          );
          return ref;
        } catch (error) {
          if (error instanceof ProvisionError) throw new NonRetryableError(error.message);
          throw error;
        }
      }),
    );

    if (await this.#stopRequested(step, sessionId, 'check before the agent')) return stoppedEarly();
    if (s.mode === 'headless') return this.#headless(step, sessionId, s, revision);

    await step.do('open agent terminal', FEW_RETRIES, async () => {
      // Secrets-in-the-sandbox are opened inside the step and go straight to the gateway: a
      // step's result is persisted, so it returns nothing of them.
      const secretEnv = await this.#db(async (db) =>
        openSecretsInSandbox(db, config, s.orgId, await activePlan(db, sessionId, revision)),
      );
      const opened = await this.#gateway(sessionId).openAgentTerminal({ cols: 120, rows: 32, secretEnv });
      if (!opened.ok && opened.code !== 'TERMINAL_RUNNING')
        throw new NonRetryableError(`The agent's terminal could not be opened: ${opened.message}`);
      return true;
    });
    await this.#toRunning(step, sessionId, 'agent running in its terminal');
    return this.#awaitStop(step, sessionId, s.createdAt + ttlMs);
  }

  async #headless(step: WorkflowStep, sessionId: string, s: Loaded, revision: number): Promise<Ending> {
    await this.#toRunning(step, sessionId, 'agent running headless');
    const ttlMs = loadConfig(this.env).limits.session_ttl_seconds * 1000;
    const idleMs = loadConfig(this.env).limits.idle_timeout_seconds * 1000;
    await step.do('first turn', FEW_RETRIES, () =>
      this.#db((db) => ensureFirstTurn(db, sessionId, s.prompt ?? '')),
    );
    // Turns run one after another; a conversation then waits for the next (or idles out).
    for (let round = 0; ; round++) {
      const turn = await step.do(`next turn ${round}`, FEW_RETRIES, () =>
        this.#db((db) => nextQueuedTurn(db, sessionId)),
      );
      if (turn !== null) {
        const outcome = await step.do(`run turn ${turn.n}`, { ...NO_RETRY, timeout: '8 hours' }, () =>
          this.#db(async (db) => {
            const plan = await activePlan(db, sessionId, revision);
            // Opened for this turn only; runTurn keeps them out of what it stores and returns.
            const secretEnv = await openSecretsInSandbox(db, loadConfig(this.env), s.orgId, plan);
            return runTurn(db, this.#gateway(sessionId), plan, turn, {
              timeoutMs: Math.max(60_000, s.createdAt + ttlMs - Date.now()),
              secretEnv,
            });
          }),
        );
        await step.do(`turn ${turn.n} ended`, FEW_RETRIES, () => notifyTurnEnded(this.env, turn.deliveryId));
        const ended = turnEnding(outcome, s.conversational);
        if (ended === 'continue') continue;
        if (ended.status === 'stopped')
          await step.do('status stopping (agent done)', FEW_RETRIES, () =>
            this.#db((db) =>
              transition(db, sessionId, {
                from: ['running'],
                to: 'stopping',
                reason: ended.reason,
                set: { exitCode: 0 },
              }),
            ),
          );
        return ended.status === 'stopped'
          ? { status: 'stopped', reason: 'headless run complete', exitCode: 0 }
          : ended;
      }
      // A conversation between turns: a stop, the TTL, idleness, or the next message.
      const wait = await step.do(`between turns ${round}`, FEW_RETRIES, () =>
        this.#db(async (db) => ({
          status: await sessionStatus(db, sessionId),
          last: (await lastTurnActivity(db, sessionId)) ?? Date.now(),
          now: Date.now(),
        })),
      );
      if (wait.status === null || !LIVE.includes(wait.status))
        return { status: 'stopped', reason: 'stopped on request' };
      const ttlLeft = s.createdAt + ttlMs - wait.now;
      const idleLeft = wait.last + idleMs - wait.now;
      if (ttlLeft <= 0 || idleLeft <= 0) {
        const reason = ttlLeft <= 0 ? 'the session reached its TTL' : 'the conversation was idle';
        await step.do(`status stopping (${ttlLeft <= 0 ? 'ttl' : 'idle'})`, FEW_RETRIES, () =>
          this.#db((db) => transition(db, sessionId, { from: LIVE, to: 'stopping', reason })),
        );
        return { status: 'stopped', reason };
      }
      try {
        await step.waitForEvent(`turn or stop ${round}`, {
          type: TURN_QUEUED_EVENT,
          timeout: Math.max(1000, Math.min(ttlLeft, idleLeft, STOP_POLL_SECONDS * 1000)),
        });
      } catch {
        // Timed out: look at the turns, the status and the clocks again.
      }
    }
  }

  async #toRunning(step: WorkflowStep, sessionId: string, reason: string): Promise<void> {
    await step.do('status running', FEW_RETRIES, () =>
      this.#db((db) =>
        transition(db, sessionId, {
          from: ['starting'],
          to: 'running',
          reason,
          set: { startedAt: new Date() },
        }),
      ),
    );
  }

  /** Wait for a stop (event or status), or the TTL; slices re-check the database. */
  async #awaitStop(step: WorkflowStep, sessionId: string, deadline: number): Promise<Ending> {
    for (let round = 0; ; round++) {
      const status = await step.do(`stop check ${round}`, FEW_RETRIES, () =>
        this.#db((db) => sessionStatus(db, sessionId)),
      );
      if (status === null || !LIVE.includes(status))
        return { status: status === 'failed' ? 'failed' : 'stopped', reason: 'stopped on request' };
      const left = await step.do(`ttl left ${round}`, () => Promise.resolve(deadline - Date.now()));
      if (left <= 0) {
        await step.do('status stopping (ttl)', FEW_RETRIES, () =>
          this.#db((db) =>
            transition(db, sessionId, { from: LIVE, to: 'stopping', reason: 'the session reached its TTL' }),
          ),
        );
        return { status: 'stopped', reason: 'the session reached its TTL' };
      }
      try {
        await step.waitForEvent(`stop ${round}`, {
          type: STOP_EVENT,
          timeout: Math.min(left, STOP_POLL_SECONDS * 1000),
        });
      } catch {
        // Timed out: look at the database and the TTL again.
      }
    }
  }

  async #stopRequested(step: WorkflowStep, sessionId: string, name: string): Promise<boolean> {
    const status = await step.do(name, FEW_RETRIES, () => this.#db((db) => sessionStatus(db, sessionId)));
    return status !== null && !LIVE.includes(status);
  }

  async #tearDown(sessionId: string, ending: Ending): Promise<{ exitCode: number | null }> {
    await endGateway(this.env, sessionId, ending.reason.slice(0, 200));
    return this.#db(async (db) => {
      const [row] = await db
        .select({ sandboxRef: sessions.sandboxRef })
        .from(sessions)
        .where(eq(sessions.id, sessionId));
      const ref: SandboxRef | null = parseSandboxRef(row?.sandboxRef ?? null);
      if (ref === null) return { exitCode: null };
      return teardown({ env: this.env, db, config: loadConfig(this.env) }, ref);
    });
  }

  #gateway(sessionId: string) {
    return this.env.SESSION_GATEWAY.get(this.env.SESSION_GATEWAY.idFromName(sessionId));
  }

  #db<T>(work: (db: Database) => Promise<T>): Promise<T> {
    return withDb(loadConfig(this.env), work);
  }
}

/**
 * How a finished turn bears on the session: a one-shot run ends with it (failed unless the
 * agent exited 0); a conversation goes on after a failed turn, unless the agent could not run.
 */
function turnEnding(outcome: HeadlessOutcome, conversational: boolean): Ending | 'continue' {
  const tail = outcome.tail.trim().slice(-OUTPUT_TAIL);
  if (outcome.error !== null)
    return { status: 'failed', reason: `The agent could not run: ${outcome.error}`, exitCode: null };
  if (conversational) return 'continue';
  if (outcome.exitCode !== 0)
    return {
      status: 'failed',
      reason: `The agent exited with code ${outcome.exitCode}${outcome.timedOut ? ' (timed out)' : ''}: ${tail}`,
      exitCode: outcome.exitCode,
    };
  return {
    status: 'stopped',
    reason: `the agent finished (exit code 0)${tail === '' ? '' : `; output ends: ${tail}`}`,
    exitCode: 0,
  };
}

function stoppedEarly(): Ending {
  return { status: 'stopped', reason: 'stopped before the agent started' };
}

/** A failure's reason for `failure_reason`: the message, without the Workflows wrapper's prefix. */
function failureReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (
    message.replace(/^(NonRetryableError|Error|WorkflowError):\s*/, '').slice(0, 1000) ||
    'the session lifecycle failed'
  );
}
