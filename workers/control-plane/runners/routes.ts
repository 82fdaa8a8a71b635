import type { Config } from '@airlock/config';
import { CreateRunner, PathId, Runner, RunnerCredentials, RunnerList } from '@airlock/schema/api';
import { runners } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, asc, eq } from 'drizzle-orm';
import type { Database } from '../../lib/db.ts';
import { ProblemError } from '../../lib/problem.ts';
import { runnerTokenHash } from '../../lib/secret-hash.ts';
import { mintToken } from '../../lib/tokens.ts';
import { recordAudit } from '../audit/record.ts';
import { guarded } from '../db-errors.ts';
import { iso } from '../env.ts';
import { body, createRoute, defineRoute, json, OrgParams } from '../route.ts';

// Runner registration: a runners row plus a runner token (jose, purpose
// `runner`, sub = runner id) shown once. The row keeps only an HMAC of the
// token's jti (`runnerTokenHash` in lib/secret-hash.ts), which the edge
// compares on connect; re-keying or revoking replaces or clears it.

const tags = ['runners'];
const RunnerParams = OrgParams.extend({ runnerId: PathId });
const HEALTHY_WITHIN_MS = 2 * 60 * 1000;

type RunnerRow = typeof runners.$inferSelect;

function runnerOut(row: RunnerRow, now: Date): Runner {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    provider: row.provider,
    capacity: row.capacity,
    labels: row.labels,
    version: row.version,
    hostInfo: row.hostInfo,
    activeSandboxes: row.activeSandboxes,
    createdAt: iso(row.createdAt),
    lastHeartbeatAt: iso(row.lastHeartbeatAt),
    revokedAt: iso(row.revokedAt),
    healthy:
      row.status === 'online' &&
      row.lastHeartbeatAt !== null &&
      now.getTime() - row.lastHeartbeatAt.getTime() <= HEALTHY_WITHIN_MS,
  };
}

async function findRunner(db: Database, orgId: string, id: string): Promise<RunnerRow> {
  const [row] = await db
    .select()
    .from(runners)
    .where(and(eq(runners.id, id), eq(runners.orgId, orgId)));
  if (row === undefined) throw new ProblemError('not_found', `No runner ${id} in this org.`);
  return row;
}

/** A fresh runner token and the hash its row keeps. */
async function issueRunnerToken(config: Config, runnerId: string, orgId: string, now: Date) {
  const minted = await mintToken(
    config,
    'runner',
    { sub: runnerId, org: orgId },
    { now: Math.floor(now.getTime() / 1000) },
  );
  return {
    token: minted.token,
    tokenHash: await runnerTokenHash(config.auth.pepper, minted.jti),
    expiresAt: new Date(minted.expiresAt * 1000).toISOString(),
  };
}

export const runnerRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'runners.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/runners',
      tags,
      summary: 'Runners with their health',
      request: { params: OrgParams },
      responses: { 200: json(RunnerList, 'Runners') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const rows = await scope
        .db()
        .select()
        .from(runners)
        .where(eq(runners.orgId, c.get('member').orgId))
        .orderBy(asc(runners.name));
      const now = scope.now();
      return c.json({ items: rows.map((r) => runnerOut(r, now)) }, 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'runners.manage' },
    problems: ['conflict'],
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/runners',
      tags,
      summary: 'Register a runner; its token is in this response only',
      request: { params: OrgParams, body: body(CreateRunner) },
      responses: { 201: json(RunnerCredentials, 'The runner and its token') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const config = scope.config();
      const member = c.get('member');
      const principal = c.get('principal');
      const input = c.req.valid('json');
      const now = scope.now();
      const id = newId('runner', now.getTime());
      const issued = await issueRunnerToken(config, id, member.orgId, now);
      const row = await guarded(
        () =>
          scope.db().transaction(async (tx) => {
            const [created] = await tx
              .insert(runners)
              .values({
                id,
                orgId: member.orgId,
                name: input.name,
                provider: input.provider,
                capacity: input.capacity,
                labels: input.labels,
                tokenHash: issued.tokenHash,
                createdBy: principal.userId,
                createdAt: now,
              })
              .returning();
            await recordAudit(
              tx,
              {
                orgId: member.orgId,
                action: 'runner.registered',
                principal,
                targetId: id,
                detail: { name: input.name },
              },
              now,
            );
            return created;
          }),
        { runners_org_name_key: `A runner named "${input.name}" exists already.` },
      );
      if (row === undefined) throw new Error('runner insert returned nothing');
      return c.json(
        {
          runner: runnerOut(row, now),
          token: issued.token,
          expiresAt: issued.expiresAt,
        },
        201,
      );
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'runners.read' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/runners/{runnerId}',
      tags,
      summary: 'A runner',
      request: { params: RunnerParams },
      responses: { 200: json(Runner, 'The runner') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      return c.json(
        runnerOut(
          await findRunner(scope.db(), c.get('member').orgId, c.req.valid('param').runnerId),
          scope.now(),
        ),
        200,
      );
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'runners.manage' },
    problems: ['conflict'],
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/runners/{runnerId}/token',
      tags,
      summary: 'Re-key a runner: a new token (shown once); the old one stops working',
      request: { params: RunnerParams },
      responses: { 201: json(RunnerCredentials, 'The runner and its new token') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const config = scope.config();
      const member = c.get('member');
      const current = await findRunner(scope.db(), member.orgId, c.req.valid('param').runnerId);
      if (current.status === 'revoked')
        throw new ProblemError('conflict', 'This runner is revoked; register a new one.');
      const now = scope.now();
      const issued = await issueRunnerToken(config, current.id, member.orgId, now);
      const row = await scope.db().transaction(async (tx) => {
        const [updated] = await tx
          .update(runners)
          .set({ tokenHash: issued.tokenHash })
          .where(eq(runners.id, current.id))
          .returning();
        await recordAudit(
          tx,
          {
            orgId: member.orgId,
            action: 'runner.rekeyed',
            principal: c.get('principal'),
            targetId: current.id,
          },
          now,
        );
        return updated;
      });
      if (row === undefined) throw new ProblemError('not_found', 'No such runner.');
      return c.json(
        {
          runner: runnerOut(row, now),
          token: issued.token,
          expiresAt: issued.expiresAt,
        },
        201,
      );
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'runners.manage' },
    route: createRoute({
      method: 'delete',
      path: '/orgs/{orgId}/runners/{runnerId}',
      tags,
      summary: 'Revoke a runner: its token stops working at once',
      request: { params: RunnerParams },
      responses: { 200: json(Runner, 'Revoked') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const current = await findRunner(scope.db(), member.orgId, c.req.valid('param').runnerId);
      const now = scope.now();
      const row = await scope.db().transaction(async (tx) => {
        const [updated] = await tx
          .update(runners)
          .set({ status: 'revoked', tokenHash: null, revokedAt: current.revokedAt ?? now })
          .where(eq(runners.id, current.id))
          .returning();
        await recordAudit(
          tx,
          {
            orgId: member.orgId,
            action: 'runner.revoked',
            principal: c.get('principal'),
            targetId: current.id,
          },
          now,
        );
        return updated;
      });
      return c.json(runnerOut(row ?? current, now), 200);
    },
  }),
];
