import type { SessionGateway } from '@airlock/durable-objects/session-gateway';
import { sessionTurns } from '@airlock/schema/db';
import type { RuntimePlan } from '@airlock/schema/plan';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { type HeadlessOutcome, runHeadless } from './headless.ts';
import { redactSecrets } from './secrets-in-sandbox.ts';
import { STOP_EVENT } from './session-state.ts';

// The turns of a headless session (`session_turns`): the first prompt, then —
// in a conversation (a chat thread) — each follow-up, run by the agent's
// resume command so it keeps its context. A turn's output tail is written
// while it runs (live output), its final message (the agent's stdout) when it
// ends, and the branches it pushed (remote-tracking refs that moved), so the
// report can verify and link them. Whoever waits on a turn (a trigger run) is
// woken when it ends.

export type TurnRow = typeof sessionTurns.$inferSelect;
export interface PushedBranch {
  readonly repository: string;
  readonly branch: string;
  readonly sha: string;
}

/** The event a trigger run waits for (its Workflow instance is named by the delivery id). */
export const TURN_ENDED_EVENT = 'turn-ended';
/**
 * What wakes a conversation's lifecycle between turns. A Workflow waits for one event type at a
 * time, and a stop must wake it too: so a queued turn sends the lifecycle's one wake-up event,
 * after which it re-reads the status and the turns either way.
 */
export const TURN_QUEUED_EVENT = STOP_EVENT;

const ANSWER_MAX = 16 * 1024;
const LIVE_OUTPUT_EVERY_MS = 2000;

/** Turn 1 from the session's prompt, unless the trigger that started it wrote it already. */
export async function ensureFirstTurn(db: Database, sessionId: string, prompt: string): Promise<void> {
  await db.insert(sessionTurns).values({ sessionId, n: 1, prompt }).onConflictDoNothing();
}

export async function nextQueuedTurn(db: Database, sessionId: string): Promise<TurnRow | null> {
  const [row] = await db
    .select()
    .from(sessionTurns)
    .where(and(eq(sessionTurns.sessionId, sessionId), eq(sessionTurns.status, 'queued')))
    .orderBy(asc(sessionTurns.n))
    .limit(1);
  return row ?? null;
}

/** When the newest turn ended (or the session's first started): the conversation's idle clock. */
export async function lastTurnActivity(db: Database, sessionId: string): Promise<number | null> {
  const [row] = await db
    .select({ at: sql<Date | null>`max(coalesce(${sessionTurns.endedAt}, ${sessionTurns.createdAt}))` })
    .from(sessionTurns)
    .where(eq(sessionTurns.sessionId, sessionId));
  return row?.at === null || row?.at === undefined ? null : new Date(row.at).getTime();
}

const refsCommand = (path: string) => [
  'git',
  '-C',
  path,
  'for-each-ref',
  '--format=%(refname:lstrip=3) %(objectname)',
  'refs/remotes/origin',
];

/** `repository branch` → sha of every remote-tracking branch of the workspace's repositories. */
export async function remoteRefs(
  gateway: DurableObjectStub<SessionGateway>,
  plan: RuntimePlan,
): Promise<Record<string, string>> {
  const refs: Record<string, string> = {};
  for (const repo of plan.workspace) {
    const run = await runHeadless(gateway, { command: refsCommand(repo.path), timeoutMs: 30_000 });
    if (run.exitCode !== 0) continue;
    for (const line of run.stdout.split('\n')) {
      const [branch, sha] = line.trim().split(' ');
      if (branch === undefined || sha === undefined || branch === 'HEAD' || !/^[0-9a-f]{40}$/.test(sha))
        continue;
      refs[`${repo.repository} ${branch}`] = sha;
    }
  }
  return refs;
}

export function movedRefs(before: Record<string, string>, after: Record<string, string>): PushedBranch[] {
  const out: PushedBranch[] = [];
  for (const [key, sha] of Object.entries(after)) {
    if (Object.hasOwn(before, key) && before[key] === sha) continue;
    const [repository = '', branch = ''] = key.split(' ');
    out.push({ repository, branch, sha });
  }
  return out.slice(0, 20);
}

/** Run one turn: the first with the headless command, later ones with the agent's follow-up command. */
export async function runTurn(
  db: Database,
  gateway: DurableObjectStub<SessionGateway>,
  plan: RuntimePlan,
  turn: TurnRow,
  options: {
    readonly timeoutMs: number;
    /** Secrets-in-the-sandbox for this run (ADR 0152): in its env, never in what is stored or returned. */
    readonly secretEnv?: Readonly<Record<string, string>>;
  },
): Promise<HeadlessOutcome> {
  const secretEnv = options.secretEnv ?? {};
  const redact = (text: string) => redactSecrets(text, secretEnv);
  await db
    .update(sessionTurns)
    .set({ status: 'running', startedAt: new Date() })
    .where(eq(sessionTurns.id, turn.id));
  const before = await remoteRefs(gateway, plan);
  const agent = plan.processes.find((p) => p.pty);
  const command = turn.n > 1 && plan.agent.followUp !== undefined ? plan.agent.followUp : plan.agent.headless;
  const outcome = await runHeadless(
    gateway,
    {
      command: [...command, turn.prompt],
      env: { ...plan.env, ...(agent?.env ?? {}), ...secretEnv },
      ...(agent === undefined ? {} : { cwd: agent.cwd }),
      timeoutMs: options.timeoutMs,
    },
    {
      everyMs: LIVE_OUTPUT_EVERY_MS,
      onOutput: async (tail) => {
        await db
          .update(sessionTurns)
          .set({ output: redact(tail) })
          .where(eq(sessionTurns.id, turn.id));
      },
    },
  ).then((o) => ({ ...o, stdout: redact(o.stdout), tail: redact(o.tail) }));
  const pushed = outcome.error === null ? movedRefs(before, await remoteRefs(gateway, plan)) : [];
  const succeeded = outcome.error === null && outcome.exitCode === 0;
  const answer = outcome.stdout.trim();
  await db
    .update(sessionTurns)
    .set({
      status: succeeded ? 'succeeded' : 'failed',
      output: outcome.tail,
      answer: answer === '' ? (outcome.error ?? null) : answer.slice(-ANSWER_MAX),
      exitCode: outcome.exitCode,
      pushed,
      endedAt: new Date(),
    })
    .where(eq(sessionTurns.id, turn.id));
  return outcome;
}

/** Turns that never ran once the session is over: failed, with the reason. Returns their deliveries. */
export async function failOpenTurns(db: Database, sessionId: string, reason: string): Promise<string[]> {
  const rows = await db
    .update(sessionTurns)
    .set({ status: 'failed', answer: reason.slice(0, ANSWER_MAX), endedAt: new Date() })
    .where(and(eq(sessionTurns.sessionId, sessionId), inArray(sessionTurns.status, ['queued', 'running'])))
    .returning({ deliveryId: sessionTurns.deliveryId });
  return rows.flatMap((r) => (r.deliveryId === null ? [] : [r.deliveryId]));
}

/** Wake the trigger run waiting on a delivery's turn (it re-reads the database either way). */
export async function notifyTurnEnded(env: Env, deliveryId: string | null): Promise<void> {
  if (deliveryId === null) return;
  try {
    const instance = await env.TRIGGER_RUN.get(deliveryId);
    await instance.sendEvent({ type: TURN_ENDED_EVENT, payload: {} });
  } catch {
    // No run waits (a manual session), or it finished: nothing to wake.
  }
}

export type Queued =
  | { readonly queued: true; readonly n: number }
  | { readonly queued: false; readonly duplicateOfDelivery: string | null };

/**
 * A follow-up for a live conversation: the next turn number, unless the same message
 * (`sourceKey`) is already a turn of this session (Slack sends a mention in a thread both as
 * `app_mention` and as `message`).
 */
export async function queueTurn(
  db: Database,
  input: { sessionId: string; prompt: string; deliveryId: string; sourceKey: string | null },
): Promise<Queued> {
  for (let attempt = 0; attempt < 5; attempt++) {
    if (input.sourceKey !== null) {
      const [same] = await db
        .select({ deliveryId: sessionTurns.deliveryId })
        .from(sessionTurns)
        .where(and(eq(sessionTurns.sessionId, input.sessionId), eq(sessionTurns.sourceKey, input.sourceKey)));
      if (same !== undefined) return { queued: false, duplicateOfDelivery: same.deliveryId };
    }
    const [last] = await db
      .select({ n: sql<number>`coalesce(max(${sessionTurns.n}), 0)` })
      .from(sessionTurns)
      .where(eq(sessionTurns.sessionId, input.sessionId));
    const n = Number(last?.n ?? 0) + 1;
    const [row] = await db
      .insert(sessionTurns)
      .values({
        sessionId: input.sessionId,
        n,
        prompt: input.prompt,
        deliveryId: input.deliveryId,
        sourceKey: input.sourceKey,
      })
      .onConflictDoNothing()
      .returning({ n: sessionTurns.n });
    if (row !== undefined) return { queued: true, n: row.n };
    // Lost a race for the number (or the message): look again.
  }
  throw new Error('could not queue the turn after 5 attempts');
}
