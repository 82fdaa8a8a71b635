import type { Config } from '@airlock/config';
import {
  type CreateTrigger,
  type FieldError,
  TRIGGER_CONFIGS,
  type UpdateTrigger,
} from '@airlock/schema/api';
import { connections, sandboxProfiles, triggers } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, eq } from 'drizzle-orm';
import type { Database } from '../lib/db.ts';
import type { Kv } from '../lib/kv.ts';
import { ProblemError } from '../lib/problem.ts';
import { auditAsTrigger } from './audit.ts';
import { cacheTrigger, forgetTrigger } from './ingress/fast-path.ts';
import { callbackUrlProblem } from './report/callback.ts';
import { nextRunAfter } from './scheduler.ts';
import { generateSecret, sealSecret, type TriggerRow } from './secrets.ts';
import { templateProblem } from './template.ts';

// Creating, changing, rotating and deleting trigger definitions: the checks
// zod cannot make (references into the org, templates that parse, callback
// URLs a Worker may call), the secret generated and sealed (shown once), the
// schedule's next run, and the audit event with the person who did it.

export interface DefinitionDeps {
  readonly db: Database;
  readonly config: Config;
  readonly kv: Kv;
  readonly now: Date;
}

/**
 * Every change reaches the webhook path's cache: dropped before Postgres changes (a failure
 * stops the change), written through after (a failure leaves a miss, which reads Postgres).
 */
async function changing<T extends TriggerRow | undefined>(
  deps: DefinitionDeps,
  id: string,
  change: () => Promise<T>,
): Promise<T> {
  await forgetTrigger(deps.kv, id);
  const row = await change();
  if (row !== undefined) await cacheTrigger(deps.kv, row).catch(() => {});
  return row;
}

export interface Actor {
  readonly userId: string;
  readonly tokenId: string | null;
}

const invalid = (errors: FieldError[]) =>
  new ProblemError('validation_failed', errors.map((e) => `${e.path}: ${e.message}`).join('; '), {
    extensions: { errors },
  });

const GITHUB_INTEGRATIONS = ['github_app', 'github_pat'];

/** References must point into the caller's org, templates must parse, callbacks must be callable. */
export async function checkDefinition(
  deps: DefinitionDeps,
  orgId: string,
  kind: TriggerRow['kind'],
  profileId: string,
  config: Record<string, unknown>,
): Promise<void> {
  const errors: FieldError[] = [];
  const [profile] = await deps.db
    .select({ id: sandboxProfiles.id })
    .from(sandboxProfiles)
    .where(and(eq(sandboxProfiles.id, profileId), eq(sandboxProfiles.orgId, orgId)));
  if (profile === undefined)
    errors.push({ path: 'profileId', message: `no profile ${profileId} in this org`, code: 'not_found' });
  const connectionId = typeof config.connectionId === 'string' ? config.connectionId : undefined;
  if (connectionId !== undefined) {
    const [connection] = await deps.db
      .select({ integration: connections.integration })
      .from(connections)
      .where(and(eq(connections.id, connectionId), eq(connections.orgId, orgId)));
    const wanted =
      kind === 'chat' || config.source === 'slack'
        ? ['slack']
        : config.secretFrom === 'connection'
          ? ['github_app']
          : GITHUB_INTEGRATIONS;
    if (connection === undefined || !wanted.includes(connection.integration))
      errors.push({
        path: 'config.connectionId',
        message: `no ${wanted.map((w) => (w === 'slack' ? 'Slack' : w === 'github_app' ? 'GitHub App' : 'GitHub')).join(' or ')} connection ${connectionId} in this org`,
        code: 'not_found',
      });
  }
  if (typeof config.promptTemplate === 'string') {
    const problem = templateProblem(config.promptTemplate);
    if (problem !== null)
      errors.push({ path: 'config.promptTemplate', message: problem, code: 'invalid_template' });
  }
  if (typeof config.callbackUrl === 'string') {
    const problem = callbackUrlProblem(config.callbackUrl, deps.config.env);
    if (problem !== null) errors.push({ path: 'config.callbackUrl', message: problem, code: 'invalid_url' });
  }
  if (errors.length > 0) throw invalid(errors);
}

/** The secret a new trigger verifies with (or signs callbacks with): given, generated, or none. */
function initialSecret(input: CreateTrigger): { secret: string | null; shown: string | null } {
  if (input.kind === 'chat') return { secret: input.signingSecret, shown: null };
  if (input.kind === 'schedule') {
    if (input.config.callbackUrl === undefined) return { secret: null, shown: null };
    const generated = generateSecret('generic');
    return { secret: generated, shown: generated };
  }
  const source = input.config.source;
  if (source === 'slack') return { secret: input.signingSecret ?? null, shown: null };
  if (source === 'github' && input.config.secretFrom === 'connection') return { secret: null, shown: null };
  if (input.signingSecret !== undefined) return { secret: input.signingSecret, shown: null };
  const generated = generateSecret(source);
  return { secret: generated, shown: generated };
}

export async function createTrigger(
  deps: DefinitionDeps,
  orgId: string,
  actor: Actor,
  input: CreateTrigger & { enabled: boolean },
): Promise<{ row: TriggerRow; signingSecret: string | null }> {
  const config = input.config as Record<string, unknown>;
  await checkDefinition(deps, orgId, input.kind, input.profileId, config);
  const id = newId('trigger', deps.now.getTime());
  const { secret, shown } = initialSecret(input);
  const sealed = secret === null ? null : await sealSecret(deps.config, secret, id);
  const row = await changing(deps, id, () =>
    deps.db.transaction(async (tx) => {
      const [created] = await tx
        .insert(triggers)
        .values({
          id,
          orgId,
          profileId: input.profileId,
          kind: input.kind,
          name: input.name,
          enabled: input.enabled,
          config,
          secretCiphertext: sealed?.ciphertext ?? null,
          secretNonce: sealed?.nonce ?? null,
          secretKeyVersion: sealed?.keyVersion ?? null,
          nextRunAt: input.kind === 'schedule' && input.enabled ? nextRunAfter(config, deps.now) : null,
          createdBy: actor.userId,
          createdAt: deps.now,
          updatedAt: deps.now,
        })
        .returning();
      await auditAsTrigger(
        tx,
        {
          orgId,
          triggerId: id,
          action: 'trigger.created',
          targetId: id,
          actor,
          detail: { kind: input.kind, name: input.name },
        },
        deps.now,
      );
      return created;
    }),
  );
  if (row === undefined) throw new Error('trigger insert returned nothing');
  return { row, signingSecret: shown };
}

export async function updateTrigger(
  deps: DefinitionDeps,
  current: TriggerRow,
  actor: Actor,
  input: UpdateTrigger,
): Promise<TriggerRow> {
  let config = current.config;
  if (input.config !== undefined) {
    const parsed = TRIGGER_CONFIGS[current.kind].safeParse(input.config);
    if (!parsed.success)
      throw invalid(
        parsed.error.issues.map((i) => ({
          path: ['config', ...i.path.map(String)].join('.'),
          message: i.message,
          code: i.code,
        })),
      );
    config = parsed.data as Record<string, unknown>;
    if (current.kind === 'webhook' && config.source !== current.config.source)
      throw invalid([
        {
          path: 'config.source',
          message: 'the source of a webhook cannot change; create another trigger',
          code: 'immutable',
        },
      ]);
  }
  await checkDefinition(deps, current.orgId, current.kind, input.profileId ?? current.profileId, config);
  const enabled = input.enabled ?? current.enabled;
  const reenabled = input.enabled === true && !current.enabled;
  const row = await changing(deps, current.id, () =>
    deps.db.transaction(async (tx) => {
      const [updated] = await tx
        .update(triggers)
        .set({
          ...(input.name === undefined ? {} : { name: input.name }),
          ...(input.profileId === undefined ? {} : { profileId: input.profileId }),
          enabled,
          config,
          // Enabling again clears an auto-pause; schedules re-plan their next run either way.
          ...(reenabled ? { pausedReason: null, consecutiveFailures: 0 } : {}),
          nextRunAt: current.kind === 'schedule' && enabled ? nextRunAfter(config, deps.now) : null,
          updatedAt: deps.now,
        })
        .where(eq(triggers.id, current.id))
        .returning();
      await auditAsTrigger(
        tx,
        {
          orgId: current.orgId,
          triggerId: current.id,
          action: 'trigger.updated',
          targetId: current.id,
          actor,
          detail: {
            changed: Object.keys(input).sort(),
            ...(reenabled && current.pausedReason !== null ? { unpaused: true } : {}),
          },
        },
        deps.now,
      );
      return updated;
    }),
  );
  if (row === undefined) throw new ProblemError('not_found', 'No such trigger.');
  return row;
}

export async function deleteTrigger(deps: DefinitionDeps, current: TriggerRow, actor: Actor): Promise<void> {
  await forgetTrigger(deps.kv, current.id);
  await deps.db.transaction(async (tx) => {
    await tx.delete(triggers).where(eq(triggers.id, current.id));
    await auditAsTrigger(
      tx,
      {
        orgId: current.orgId,
        triggerId: current.id,
        action: 'trigger.deleted',
        targetId: current.id,
        actor,
        detail: { name: current.name },
      },
      deps.now,
    );
  });
}

/**
 * A new signing secret; the old one keeps verifying for `graceSeconds` (senders switch over
 * meanwhile). Generated secrets are returned (once); Slack's must be given.
 */
export async function rotateSecret(
  deps: DefinitionDeps,
  current: TriggerRow,
  actor: Actor,
  input: { graceSeconds: number; signingSecret?: string | undefined },
): Promise<{ row: TriggerRow; signingSecret: string | null }> {
  const config = current.config as Record<string, unknown>;
  const slack = current.kind === 'chat' || config.source === 'slack';
  if (config.secretFrom === 'connection')
    throw new ProblemError(
      'conflict',
      "This trigger verifies with its GitHub App connection's webhook secret; rotate it there.",
    );
  if (current.kind === 'schedule' && config.callbackUrl === undefined)
    throw new ProblemError('conflict', 'A schedule without a callback URL has no secret.');
  if (slack && input.signingSecret === undefined)
    throw invalid([
      {
        path: 'signingSecret',
        message: "Slack generates the signing secret: give the new one from the app's settings",
        code: 'required',
      },
    ]);
  if (!slack && input.signingSecret !== undefined)
    throw invalid([
      { path: 'signingSecret', message: 'generated for this trigger; omit it', code: 'not_allowed' },
    ]);
  const generated = slack ? null : generateSecret(config.source === 'github' ? 'github' : 'generic');
  const secret = input.signingSecret ?? generated ?? '';
  const sealed = await sealSecret(deps.config, secret, current.id);
  const keepOld = input.graceSeconds > 0 && current.secretCiphertext !== null;
  const row = await changing(deps, current.id, () =>
    deps.db.transaction(async (tx) => {
      const [updated] = await tx
        .update(triggers)
        .set({
          secretCiphertext: sealed.ciphertext,
          secretNonce: sealed.nonce,
          secretKeyVersion: sealed.keyVersion,
          previousSecretCiphertext: keepOld ? current.secretCiphertext : null,
          previousSecretNonce: keepOld ? current.secretNonce : null,
          previousSecretKeyVersion: keepOld ? current.secretKeyVersion : null,
          previousSecretExpiresAt: keepOld ? new Date(deps.now.getTime() + input.graceSeconds * 1000) : null,
          updatedAt: deps.now,
        })
        .where(eq(triggers.id, current.id))
        .returning();
      await auditAsTrigger(
        tx,
        {
          orgId: current.orgId,
          triggerId: current.id,
          action: 'trigger.secret_rotated',
          targetId: current.id,
          actor,
          detail: { graceSeconds: keepOld ? input.graceSeconds : 0 },
        },
        deps.now,
      );
      return updated;
    }),
  );
  if (row === undefined) throw new ProblemError('not_found', 'No such trigger.');
  return { row, signingSecret: generated };
}
