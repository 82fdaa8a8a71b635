import { allowsPlainHttp } from '@airlock/config';
import {
  Connection,
  ConnectionList,
  CreateConnection,
  Ok,
  PathId,
  UpdateConnection,
} from '@airlock/schema/api';
import { connections } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { integrationByKey } from '@airlock/schema/plan';
import { and, asc, eq } from 'drizzle-orm';
import { Sealer } from '../../lib/crypto.ts';
import { ProblemError } from '../../lib/problem.ts';
import { recordAudit } from '../audit/record.ts';
import { guarded } from '../db-errors.ts';
import { body, createRoute, defineRoute, json, OrgParams } from '../route.ts';
import { validationProblem } from '../validation.ts';
import { connectionErrors, connectionOut, destinationErrors, sealedColumns } from './service.ts';

const tags = ['connections'];
const ConnectionParams = OrgParams.extend({ connectionId: PathId });
const NAME_TAKEN = (name: string) => ({
  connections_org_name_key: `A connection named "${name}" exists already.`,
});

export const connectionRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'connections.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/connections',
      tags,
      summary: 'Connections of the org (never their secrets)',
      request: { params: OrgParams },
      responses: { 200: json(ConnectionList, 'Connections') },
    }),
    handler: async (c) => {
      const rows = await c
        .get('scope')
        .db()
        .select()
        .from(connections)
        .where(eq(connections.orgId, c.get('member').orgId))
        .orderBy(asc(connections.name));
      return c.json({ items: rows.map((r) => connectionOut(r, integrationByKey(r.integration))) }, 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'connections.manage' },
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/connections',
      tags,
      summary: 'Create a connection; credentials are sealed and never returned',
      request: { params: OrgParams, body: body(CreateConnection) },
      responses: { 201: json(Connection, 'Created') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const principal = c.get('principal');
      const input = c.req.valid('json');
      const def = integrationByKey(input.integration);
      if (def === undefined)
        throw validationProblem([
          {
            path: 'integration',
            message: `unknown integration "${input.integration}"`,
            code: 'unknown_integration',
          },
        ]);
      const errors = connectionErrors(def, input.config, input.credentials, {
        allowPlainHttp: allowsPlainHttp(scope.config()),
      });
      if (errors.length > 0) throw validationProblem(errors);
      const now = scope.now();
      const id = newId('connection', now.getTime());
      const sealed = await new Sealer(scope.config().integrations).seal(
        JSON.stringify(input.credentials),
        id,
      );
      const row = await guarded(
        () =>
          scope.db().transaction(async (tx) => {
            const [created] = await tx
              .insert(connections)
              .values({
                id,
                orgId: member.orgId,
                integration: def.key,
                name: input.name,
                config: input.config,
                ...sealedColumns(sealed),
                createdBy: principal.userId,
                createdAt: now,
                updatedAt: now,
              })
              .returning();
            await recordAudit(
              tx,
              {
                orgId: member.orgId,
                action: 'connection.created',
                principal,
                connectionId: id,
                targetId: id,
                detail: { integration: def.key, name: input.name },
              },
              now,
            );
            return created;
          }),
        NAME_TAKEN(input.name),
      );
      if (row === undefined) throw new Error('connection insert returned nothing');
      return c.json(connectionOut(row, def), 201);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'connections.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/connections/{connectionId}',
      tags,
      summary: 'A connection',
      request: { params: ConnectionParams },
      responses: { 200: json(Connection, 'The connection') },
    }),
    handler: async (c) => {
      const row = await findConnection(
        c.get('scope').db(),
        c.get('member').orgId,
        c.req.valid('param').connectionId,
      );
      return c.json(connectionOut(row, integrationByKey(row.integration)), 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'connections.manage' },
    route: createRoute({
      method: 'patch',
      path: '/orgs/{orgId}/connections/{connectionId}',
      tags,
      summary: 'Rename, change settings, replace credentials, or revoke/restore a connection',
      description:
        'Changing where the credential is sent (a destination field such as `base_url`) needs `credentials` re-entered in the same request: 422 naming each field otherwise. Outside `env = "local"`, destinations must be https://.',
      request: { params: ConnectionParams, body: body(UpdateConnection) },
      responses: { 200: json(Connection, 'Updated') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const principal = c.get('principal');
      const input = c.req.valid('json');
      const db = scope.db();
      const current = await findConnection(db, member.orgId, c.req.valid('param').connectionId);
      const def = integrationByKey(current.integration);
      if (def === undefined)
        throw new ProblemError('conflict', `Integration ${current.integration} is no longer offered.`);
      const config = input.config ?? (current.config as Record<string, string>);
      const destination = destinationErrors(def, current.config, config, input.credentials);
      const errors = [
        ...destination.errors,
        ...connectionErrors(def, config, input.credentials, {
          allowPlainHttp: allowsPlainHttp(scope.config()),
        }),
      ];
      if (errors.length > 0) throw validationProblem(errors);
      const now = scope.now();
      const sealed =
        input.credentials === undefined
          ? {}
          : sealedColumns(
              await new Sealer(scope.config().integrations).seal(
                JSON.stringify(input.credentials),
                current.id,
              ),
            );
      const row = await guarded(
        () =>
          db.transaction(async (tx) => {
            const [updated] = await tx
              .update(connections)
              .set({
                ...(input.name === undefined ? {} : { name: input.name }),
                ...(input.config === undefined ? {} : { config: input.config }),
                ...(input.status === undefined ? {} : { status: input.status, statusReason: null }),
                ...sealed,
                updatedAt: now,
              })
              .where(and(eq(connections.id, current.id), eq(connections.orgId, member.orgId)))
              .returning();
            const action =
              input.status === 'revoked'
                ? 'connection.revoked'
                : input.credentials !== undefined
                  ? 'connection.credentials_replaced'
                  : 'connection.updated';
            await recordAudit(
              tx,
              {
                orgId: member.orgId,
                action,
                principal,
                connectionId: current.id,
                targetId: current.id,
                detail: {
                  changed: Object.keys(input).sort(),
                  ...(destination.moved.length === 0 ? {} : { destinationChanged: destination.moved }),
                },
              },
              now,
            );
            return updated;
          }),
        NAME_TAKEN(input.name ?? ''),
      );
      if (row === undefined) throw new ProblemError('not_found', 'No such connection.');
      return c.json(connectionOut(row, def), 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'connections.manage' },
    route: createRoute({
      method: 'delete',
      path: '/orgs/{orgId}/connections/{connectionId}',
      tags,
      summary: 'Delete a connection (409 while a profile version uses it; revoke it instead)',
      request: { params: ConnectionParams },
      responses: { 200: json(Ok, 'Deleted') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const principal = c.get('principal');
      const db = scope.db();
      const current = await findConnection(db, member.orgId, c.req.valid('param').connectionId);
      const now = scope.now();
      await guarded(() =>
        db.transaction(async (tx) => {
          await tx
            .delete(connections)
            .where(and(eq(connections.id, current.id), eq(connections.orgId, member.orgId)));
          await recordAudit(
            tx,
            {
              orgId: member.orgId,
              action: 'connection.deleted',
              principal,
              connectionId: current.id,
              targetId: current.id,
              detail: { integration: current.integration, name: current.name },
            },
            now,
          );
        }),
      ).catch((error: unknown) => {
        if (error instanceof ProblemError && error.code === 'conflict')
          throw new ProblemError(
            'conflict',
            'Profile versions use this connection; revoke it instead, or remove it from them.',
          );
        throw error;
      });
      return c.json({ ok: true as const }, 200);
    },
  }),
];

export async function findConnection(
  db: ReturnType<import('../../lib/context.ts').RequestScope['db']>,
  orgId: string,
  id: string,
): Promise<typeof connections.$inferSelect> {
  const [row] = await db
    .select()
    .from(connections)
    .where(and(eq(connections.id, id), eq(connections.orgId, orgId)));
  if (row === undefined) throw new ProblemError('not_found', `No connection ${id} in this org.`);
  return row;
}
