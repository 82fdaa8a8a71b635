import {
  NextRuns,
  NextRunsQuery,
  nextRuns,
  PathId,
  RotatedTriggerSecret,
  RotateTriggerSecret,
  TestEvent,
  TriggerDelivery,
  TriggerDeliveryPage,
  TriggerDeliveryQuery,
  TriggerDraftPreviewRequest,
  TriggerPreview,
  TriggerPreviewRequest,
} from '@airlock/schema/api';
import { triggerDeliveries } from '@airlock/schema/db';
import { and, desc, eq, lt, or } from 'drizzle-orm';
import { ProblemError } from '../../lib/problem.ts';
import { previewTrigger, redeliver, sendTestEvent } from '../../triggers/actions.ts';
import { rotateSecret } from '../../triggers/definitions.ts';
import { deliveryOut, triggerOut } from '../../triggers/views.ts';
import { decodeCursor, paginate } from '../cursor.ts';
import { body, createRoute, defineRoute, json, OrgParams } from '../route.ts';
import { findTrigger, TriggerParams } from './routes.ts';

// A trigger's history and what people do with it: the delivery list (with
// filters) and one delivery, redeliver, send a test event, preview the prompt
// (a saved trigger, or a draft from the create form), the next runs of a
// schedule, and rotating the signing secret. Routing and validation here; the
// work in workers/triggers/.

const tags = ['triggers'];
const DeliveryParams = TriggerParams.extend({ deliveryId: PathId });
const actorOf = (p: { userId: string; tokenId: string | null }) => ({ userId: p.userId, tokenId: p.tokenId });

export const triggerDeliveryRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'triggers.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/triggers/{triggerId}/deliveries',
      tags,
      summary: "A trigger's deliveries, newest first (filter by status, source, event)",
      request: { params: TriggerParams, query: TriggerDeliveryQuery },
      responses: { 200: json(TriggerDeliveryPage, 'A page of deliveries') },
    }),
    handler: async (c) => {
      const db = c.get('scope').db();
      const trigger = await findTrigger(db, c.get('member').orgId, c.req.valid('param').triggerId);
      const query = c.req.valid('query');
      const after = decodeCursor(query.cursor);
      const rows = await db
        .select()
        .from(triggerDeliveries)
        .where(
          and(
            eq(triggerDeliveries.triggerId, trigger.id),
            ...(query.status === undefined ? [] : [eq(triggerDeliveries.status, query.status)]),
            ...(query.source === undefined ? [] : [eq(triggerDeliveries.source, query.source)]),
            ...(query.event === undefined ? [] : [eq(triggerDeliveries.event, query.event)]),
            ...(after === undefined
              ? []
              : [
                  or(
                    lt(triggerDeliveries.createdAt, after.at),
                    and(eq(triggerDeliveries.createdAt, after.at), lt(triggerDeliveries.id, after.id)),
                  ),
                ]),
          ),
        )
        .orderBy(desc(triggerDeliveries.createdAt), desc(triggerDeliveries.id))
        .limit(query.limit + 1);
      const page = paginate(rows, query.limit, (r) => ({ at: r.createdAt, id: r.id }));
      return c.json({ items: page.items.map(deliveryOut), nextCursor: page.nextCursor }, 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'triggers.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/triggers/{triggerId}/deliveries/{deliveryId}',
      tags,
      summary: 'One delivery: what it became, its rendered prompt, its session and report',
      request: { params: DeliveryParams },
      responses: { 200: json(TriggerDelivery, 'The delivery') },
    }),
    handler: async (c) => {
      const db = c.get('scope').db();
      const params = c.req.valid('param');
      const trigger = await findTrigger(db, c.get('member').orgId, params.triggerId);
      const [row] = await db
        .select()
        .from(triggerDeliveries)
        .where(and(eq(triggerDeliveries.id, params.deliveryId), eq(triggerDeliveries.triggerId, trigger.id)));
      if (row === undefined)
        throw new ProblemError('not_found', `No delivery ${params.deliveryId} of this trigger.`);
      return c.json(deliveryOut(row), 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'triggers.manage' },
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/triggers/{triggerId}/deliveries/{deliveryId}/redeliver',
      tags,
      summary: "Run a past delivery's event again (a new delivery; the trigger's current settings apply)",
      description: 'Rejected requests kept no body and answer 409.',
      request: { params: DeliveryParams },
      responses: { 202: json(TriggerDelivery, 'The new delivery (its run has started)') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const db = scope.db();
      const params = c.req.valid('param');
      const trigger = await findTrigger(db, c.get('member').orgId, params.triggerId);
      const [original] = await db
        .select()
        .from(triggerDeliveries)
        .where(and(eq(triggerDeliveries.id, params.deliveryId), eq(triggerDeliveries.triggerId, trigger.id)));
      if (original === undefined)
        throw new ProblemError('not_found', `No delivery ${params.deliveryId} of this trigger.`);
      const row = await redeliver(
        { env: c.env, db, now: scope.now() },
        trigger,
        original,
        actorOf(c.get('principal')),
      );
      return c.json(deliveryOut(row), 202);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'triggers.manage' },
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/triggers/{triggerId}/test-event',
      tags,
      summary:
        'Send the trigger a test event (a sample fitted to its filters, or a given payload): a real run',
      request: { params: TriggerParams, body: body(TestEvent) },
      responses: { 202: json(TriggerDelivery, 'The delivery (filtered, ignored, or its run has started)') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const db = scope.db();
      const trigger = await findTrigger(db, c.get('member').orgId, c.req.valid('param').triggerId);
      const row = await sendTestEvent(
        { env: c.env, db, now: scope.now() },
        trigger,
        c.req.valid('json'),
        actorOf(c.get('principal')),
      );
      return c.json(deliveryOut(row), 202);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'triggers.read' },
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/triggers/{triggerId}/preview',
      tags,
      summary:
        "Preview the prompt against a sample (or given) event, and whether the trigger's filters pass it",
      description: 'Nothing runs and nothing is recorded.',
      request: { params: TriggerParams, body: body(TriggerPreviewRequest) },
      responses: { 200: json(TriggerPreview, 'The preview') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const trigger = await findTrigger(scope.db(), c.get('member').orgId, c.req.valid('param').triggerId);
      return c.json(await previewTrigger(trigger, c.req.valid('json'), scope.now()), 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'triggers.read' },
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/trigger-preview',
      tags,
      summary: 'Preview the prompt of a trigger not yet saved (the create form)',
      request: { params: OrgParams, body: body(TriggerDraftPreviewRequest) },
      responses: { 200: json(TriggerPreview, 'The preview') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const input = c.req.valid('json');
      const draft = {
        id: 'trg_preview',
        name: 'preview',
        kind: input.kind,
        config: input.config as Record<string, unknown>,
      };
      const { event, payload } = input;
      return c.json(
        await previewTrigger(
          draft,
          { ...(event === undefined ? {} : { event }), ...(payload === undefined ? {} : { payload }) },
          scope.now(),
        ),
        200,
      );
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'triggers.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/triggers/{triggerId}/next-runs',
      tags,
      summary: "A schedule's next run times (default five)",
      request: { params: TriggerParams, query: NextRunsQuery },
      responses: { 200: json(NextRuns, 'Run times, soonest first') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const trigger = await findTrigger(scope.db(), c.get('member').orgId, c.req.valid('param').triggerId);
      const config = trigger.config as { cron?: unknown; timezone?: unknown };
      if (
        trigger.kind !== 'schedule' ||
        typeof config.cron !== 'string' ||
        typeof config.timezone !== 'string'
      )
        throw new ProblemError('conflict', 'Only schedules have run times.');
      const items = nextRuns(config.cron, config.timezone, c.req.valid('query').count, scope.now());
      return c.json({ timezone: config.timezone, items: items.map((d) => d.toISOString()) }, 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'triggers.manage' },
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/triggers/{triggerId}/secret',
      tags,
      summary: 'Rotate the signing secret (the old one keeps verifying for graceSeconds)',
      description:
        'A generated secret is in this response only. Slack triggers take the new secret from the Slack app.',
      request: { params: TriggerParams, body: body(RotateTriggerSecret) },
      responses: { 200: json(RotatedTriggerSecret, 'Rotated') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const deps = { db: scope.db(), config: scope.config(), kv: scope.kv(), now: scope.now() };
      const current = await findTrigger(deps.db, c.get('member').orgId, c.req.valid('param').triggerId);
      const rotated = await rotateSecret(deps, current, actorOf(c.get('principal')), c.req.valid('json'));
      return c.json(
        {
          trigger: triggerOut(rotated.row, deps.config.services.public_url, deps.now),
          signingSecret: rotated.signingSecret,
        },
        200,
      );
    },
  }),
];
