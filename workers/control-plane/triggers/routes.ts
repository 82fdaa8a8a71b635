import {
  CreatedTrigger,
  CreateTrigger,
  FilterText,
  Ok,
  PathId,
  TRIGGER_CONFIGS,
  Trigger,
  TriggerList,
  UpdateTrigger,
} from '@airlock/schema/api';
import { connections, sandboxProfiles, triggers } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { Sealer } from '../../lib/crypto.ts';
import type { Database } from '../../lib/db.ts';
import { ProblemError } from '../../lib/problem.ts';
import { randomSecret } from '../../lib/secret-hash.ts';
import { recordAudit } from '../audit/record.ts';
import { guarded } from '../db-errors.ts';
import { iso } from '../env.ts';
import { body, createRoute, defineRoute, json, OrgParams } from '../route.ts';
import { validationProblem } from '../validation.ts';

// Trigger definitions. A webhook's signing secret (generated, or Slack's own)
// is sealed like connection credentials, with the trigger id as context, and
// returned only in the create response.

const tags = ['triggers'];
const TriggerParams = OrgParams.extend({ triggerId: PathId });
type TriggerRow = typeof triggers.$inferSelect;

function triggerOut(row: TriggerRow, publicUrl: string): Trigger {
  return {
    id: row.id,
    profileId: row.profileId,
    kind: row.kind,
    name: row.name,
    enabled: row.enabled,
    config: row.config,
    webhookUrl: row.kind === 'webhook' ? `${publicUrl.replace(/\/$/, '')}/hooks/${row.id}` : null,
    hasSigningSecret: row.secretCiphertext !== null,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    lastFiredAt: iso(row.lastFiredAt),
  };
}

async function findTrigger(db: Database, orgId: string, id: string): Promise<TriggerRow> {
  const [row] = await db
    .select()
    .from(triggers)
    .where(and(eq(triggers.id, id), eq(triggers.orgId, orgId)));
  if (row === undefined) throw new ProblemError('not_found', `No trigger ${id} in this org.`);
  return row;
}

/** References in a trigger must point into the caller's org (422 naming the field otherwise). */
async function checkReferences(
  db: Database,
  orgId: string,
  profileId: string,
  config: Record<string, unknown>,
  kind: TriggerRow['kind'],
) {
  const [profile] = await db
    .select({ id: sandboxProfiles.id })
    .from(sandboxProfiles)
    .where(and(eq(sandboxProfiles.id, profileId), eq(sandboxProfiles.orgId, orgId)));
  if (profile === undefined)
    throw validationProblem([
      { path: 'profileId', message: `no profile ${profileId} in this org`, code: 'not_found' },
    ]);
  if (kind === 'chat') {
    const connectionId = String(config.connectionId ?? '');
    const [connection] = await db
      .select({ integration: connections.integration })
      .from(connections)
      .where(and(eq(connections.id, connectionId), eq(connections.orgId, orgId)));
    if (connection?.integration !== 'slack')
      throw validationProblem([
        {
          path: 'config.connectionId',
          message: `no Slack connection ${connectionId} in this org`,
          code: 'not_found',
        },
      ]);
  }
}

export const triggerRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'triggers.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/triggers',
      tags,
      summary: 'Triggers (filter by profile)',
      request: { params: OrgParams, query: z.strictObject({ profileId: FilterText(64).optional() }) },
      responses: { 200: json(TriggerList, 'Triggers') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const { profileId } = c.req.valid('query');
      const rows = await scope
        .db()
        .select()
        .from(triggers)
        .where(
          and(
            eq(triggers.orgId, c.get('member').orgId),
            ...(profileId === undefined ? [] : [eq(triggers.profileId, profileId)]),
          ),
        )
        .orderBy(asc(triggers.name));
      const publicUrl = scope.config().services.public_url;
      return c.json({ items: rows.map((r) => triggerOut(r, publicUrl)) }, 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'triggers.manage' },
    problems: ['conflict'],
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/triggers',
      tags,
      summary: 'Create a webhook, schedule or chat trigger',
      description: 'Webhook triggers return their signing secret in this response only.',
      request: { params: OrgParams, body: body(CreateTrigger) },
      responses: { 201: json(CreatedTrigger, 'Created') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const principal = c.get('principal');
      const input = c.req.valid('json');
      const db = scope.db();
      await checkReferences(db, member.orgId, input.profileId, input.config, input.kind);
      const now = scope.now();
      const id = newId('trigger', now.getTime());
      const generated =
        input.kind === 'webhook' && input.signingSecret === undefined ? randomSecret(32) : null;
      const secret = input.kind === 'webhook' ? (input.signingSecret ?? generated) : null;
      const sealed = secret === null ? null : await new Sealer(scope.config().integrations).seal(secret, id);
      const row = await guarded(
        () =>
          db.transaction(async (tx) => {
            const [created] = await tx
              .insert(triggers)
              .values({
                id,
                orgId: member.orgId,
                profileId: input.profileId,
                kind: input.kind,
                name: input.name,
                enabled: input.enabled,
                config: input.config,
                secretCiphertext: sealed?.ciphertext ?? null,
                secretNonce: sealed?.nonce ?? null,
                secretKeyVersion: sealed?.keyVersion ?? null,
                createdBy: principal.userId,
                createdAt: now,
                updatedAt: now,
              })
              .returning();
            await recordAudit(
              tx,
              {
                orgId: member.orgId,
                action: 'trigger.created',
                principal,
                triggerId: id,
                targetId: id,
                detail: { kind: input.kind, name: input.name },
              },
              now,
            );
            return created;
          }),
        { triggers_org_name_key: `A trigger named "${input.name}" exists already.` },
      );
      if (row === undefined) throw new Error('trigger insert returned nothing');
      return c.json(
        { trigger: triggerOut(row, scope.config().services.public_url), signingSecret: generated },
        201,
      );
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'triggers.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/triggers/{triggerId}',
      tags,
      summary: 'A trigger',
      request: { params: TriggerParams },
      responses: { 200: json(Trigger, 'The trigger') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const row = await findTrigger(scope.db(), c.get('member').orgId, c.req.valid('param').triggerId);
      return c.json(triggerOut(row, scope.config().services.public_url), 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'triggers.manage' },
    problems: ['conflict'],
    route: createRoute({
      method: 'patch',
      path: '/orgs/{orgId}/triggers/{triggerId}',
      tags,
      summary: 'Rename, enable/disable, retarget or reconfigure a trigger',
      request: { params: TriggerParams, body: body(UpdateTrigger) },
      responses: { 200: json(Trigger, 'Updated') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const input = c.req.valid('json');
      const db = scope.db();
      const current = await findTrigger(db, member.orgId, c.req.valid('param').triggerId);
      let config = current.config;
      if (input.config !== undefined) {
        const parsed = TRIGGER_CONFIGS[current.kind].safeParse(input.config);
        if (!parsed.success)
          throw validationProblem(
            parsed.error.issues.map((i) => ({
              path: ['config', ...i.path.map(String)].join('.'),
              message: i.message,
              code: i.code,
            })),
          );
        config = parsed.data;
      }
      await checkReferences(db, member.orgId, input.profileId ?? current.profileId, config, current.kind);
      const now = scope.now();
      const row = await guarded(
        () =>
          db.transaction(async (tx) => {
            const [updated] = await tx
              .update(triggers)
              .set({
                ...(input.name === undefined ? {} : { name: input.name }),
                ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
                ...(input.profileId === undefined ? {} : { profileId: input.profileId }),
                config,
                updatedAt: now,
              })
              .where(eq(triggers.id, current.id))
              .returning();
            await recordAudit(
              tx,
              {
                orgId: member.orgId,
                action: 'trigger.updated',
                principal: c.get('principal'),
                triggerId: current.id,
                targetId: current.id,
                detail: { changed: Object.keys(input).sort() },
              },
              now,
            );
            return updated;
          }),
        { triggers_org_name_key: `A trigger named "${input.name ?? ''}" exists already.` },
      );
      if (row === undefined) throw new ProblemError('not_found', 'No such trigger.');
      return c.json(triggerOut(row, scope.config().services.public_url), 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'triggers.manage' },
    route: createRoute({
      method: 'delete',
      path: '/orgs/{orgId}/triggers/{triggerId}',
      tags,
      summary: 'Delete a trigger',
      request: { params: TriggerParams },
      responses: { 200: json(Ok, 'Deleted') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const current = await findTrigger(scope.db(), member.orgId, c.req.valid('param').triggerId);
      const now = scope.now();
      await scope.db().transaction(async (tx) => {
        await tx.delete(triggers).where(eq(triggers.id, current.id));
        await recordAudit(
          tx,
          {
            orgId: member.orgId,
            action: 'trigger.deleted',
            principal: c.get('principal'),
            triggerId: current.id,
            targetId: current.id,
            detail: { name: current.name },
          },
          now,
        );
      });
      return c.json({ ok: true as const }, 200);
    },
  }),
];
