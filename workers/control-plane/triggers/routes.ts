import {
  CreatedTrigger,
  CreateTrigger,
  Ok,
  PathId,
  Trigger,
  TriggerList,
  UpdateTrigger,
} from '@airlock/schema/api';
import { triggers } from '@airlock/schema/db';
import { and, asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../../lib/db.ts';
import { ProblemError } from '../../lib/problem.ts';
import { createTrigger, deleteTrigger, updateTrigger } from '../../triggers/definitions.ts';
import type { TriggerRow } from '../../triggers/secrets.ts';
import { triggerOut } from '../../triggers/views.ts';
import { guarded } from '../db-errors.ts';
import { body, createRoute, defineRoute, json, OrgParams } from '../route.ts';

// Trigger definitions: routing and validation here, the work in
// workers/triggers/definitions.ts. A generated signing secret (GitHub,
// generic, a schedule's callback) is in the create response only.

const tags = ['triggers'];
export const TriggerParams = OrgParams.extend({ triggerId: PathId });

export async function findTrigger(db: Database, orgId: string, id: string): Promise<TriggerRow> {
  const [row] = await db
    .select()
    .from(triggers)
    .where(and(eq(triggers.id, id), eq(triggers.orgId, orgId)));
  if (row === undefined) throw new ProblemError('not_found', `No trigger ${id} in this org.`);
  return row;
}

const actorOf = (p: { userId: string; tokenId: string | null }) => ({ userId: p.userId, tokenId: p.tokenId });

export const triggerRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'triggers.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/triggers',
      tags,
      summary: "Triggers (filter by profile: a profile's Triggers tab)",
      request: { params: OrgParams, query: z.strictObject({ profileId: z.string().max(64).optional() }) },
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
      return c.json({ items: rows.map((r) => triggerOut(r, publicUrl, scope.now())) }, 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'triggers.manage' },
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/triggers',
      tags,
      summary: 'Create a webhook, schedule or chat trigger',
      description:
        "A generated signing secret (GitHub and generic webhooks, a schedule with a callback URL) is in this response only; Slack and chat triggers take the Slack app's signing secret.",
      request: { params: OrgParams, body: body(CreateTrigger) },
      responses: { 201: json(CreatedTrigger, 'Created') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const input = c.req.valid('json');
      const created = await guarded(
        () =>
          createTrigger(
            { db: scope.db(), config: scope.config(), kv: scope.kv(), now: scope.now() },
            c.get('member').orgId,
            actorOf(c.get('principal')),
            input,
          ),
        { triggers_org_name_key: `A trigger named "${input.name}" exists already.` },
      );
      return c.json(
        {
          trigger: triggerOut(created.row, scope.config().services.public_url, scope.now()),
          signingSecret: created.signingSecret,
        },
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
      summary: 'A trigger, with its webhook URL, setup steps and (schedules) next runs',
      request: { params: TriggerParams },
      responses: { 200: json(Trigger, 'The trigger') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const row = await findTrigger(scope.db(), c.get('member').orgId, c.req.valid('param').triggerId);
      return c.json(triggerOut(row, scope.config().services.public_url, scope.now()), 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'triggers.manage' },
    route: createRoute({
      method: 'patch',
      path: '/orgs/{orgId}/triggers/{triggerId}',
      tags,
      summary: 'Rename, enable/disable (enabling clears an auto-pause), retarget or reconfigure a trigger',
      request: { params: TriggerParams, body: body(UpdateTrigger) },
      responses: { 200: json(Trigger, 'Updated') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const input = c.req.valid('json');
      const current = await findTrigger(scope.db(), c.get('member').orgId, c.req.valid('param').triggerId);
      const row = await guarded(
        () =>
          updateTrigger(
            { db: scope.db(), config: scope.config(), kv: scope.kv(), now: scope.now() },
            current,
            actorOf(c.get('principal')),
            input,
          ),
        { triggers_org_name_key: `A trigger named "${input.name ?? ''}" exists already.` },
      );
      return c.json(triggerOut(row, scope.config().services.public_url, scope.now()), 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'triggers.manage' },
    route: createRoute({
      method: 'delete',
      path: '/orgs/{orgId}/triggers/{triggerId}',
      tags,
      summary: 'Delete a trigger (its webhook URL answers 404 from then on)',
      request: { params: TriggerParams },
      responses: { 200: json(Ok, 'Deleted') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const current = await findTrigger(scope.db(), c.get('member').orgId, c.req.valid('param').triggerId);
      await deleteTrigger(
        { db: scope.db(), config: scope.config(), kv: scope.kv(), now: scope.now() },
        current,
        actorOf(c.get('principal')),
      );
      return c.json({ ok: true as const }, 200);
    },
  }),
];
