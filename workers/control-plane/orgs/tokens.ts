import { ApiToken, CreateApiToken, CreatedApiToken, can, Ok, PathId } from '@airlock/schema/api';
import { apiTokens } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { ProblemError } from '../../lib/problem.ts';
import { HASH_PURPOSE, hashSecret, randomSecret } from '../../lib/secret-hash.ts';
import { recordAudit } from '../audit/record.ts';
import { API_TOKEN_PREFIX } from '../auth/credentials.ts';
import { iso } from '../env.ts';
import { body, createRoute, defineRoute, json, OrgParams } from '../route.ts';

// API tokens for the CLI and automation: created by a logged-in member for
// one org, shown once, stored as an HMAC, revocable, with a last-used time.

const tags = ['tokens'];

function tokenOut(row: typeof apiTokens.$inferSelect): ApiToken {
  return {
    id: row.id,
    orgId: row.orgId,
    name: row.name,
    displayPrefix: row.displayPrefix,
    createdAt: iso(row.createdAt),
    lastUsedAt: iso(row.lastUsedAt),
    expiresAt: iso(row.expiresAt),
    revokedAt: iso(row.revokedAt),
  };
}

export const tokenRoutes = [
  defineRoute({
    access: { kind: 'org', permission: 'tokens.own' },
    route: createRoute({
      method: 'get',
      path: '/orgs/{orgId}/tokens',
      tags,
      summary: "The caller's API tokens in this org",
      request: { params: OrgParams },
      responses: { 200: json(z.object({ items: z.array(ApiToken) }).meta({ id: 'ApiTokenList' }), 'Tokens') },
    }),
    handler: async (c) => {
      const rows = await c
        .get('scope')
        .db()
        .select()
        .from(apiTokens)
        .where(
          and(eq(apiTokens.orgId, c.get('member').orgId), eq(apiTokens.userId, c.get('principal').userId)),
        )
        .orderBy(desc(apiTokens.createdAt));
      return c.json({ items: rows.map(tokenOut) }, 200);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'tokens.own', sessionOnly: true },
    route: createRoute({
      method: 'post',
      path: '/orgs/{orgId}/tokens',
      tags,
      summary: 'Create an API token (shown once)',
      request: { params: OrgParams, body: body(CreateApiToken) },
      responses: { 201: json(CreatedApiToken, 'The token, in this response only') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const principal = c.get('principal');
      const input = c.req.valid('json');
      const now = scope.now();
      const token = `${API_TOKEN_PREFIX}${randomSecret(32)}`;
      const id = newId('apiToken', now.getTime());
      const row = await scope.db().transaction(async (tx) => {
        const [created] = await tx
          .insert(apiTokens)
          .values({
            id,
            orgId: member.orgId,
            userId: principal.userId,
            name: input.name,
            displayPrefix: token.slice(0, 12),
            tokenHash: await hashSecret(scope.config().auth.pepper, HASH_PURPOSE.apiToken, token),
            createdAt: now,
            expiresAt:
              input.expiresInDays === undefined
                ? null
                : new Date(now.getTime() + input.expiresInDays * 86_400_000),
          })
          .returning();
        await recordAudit(
          tx,
          {
            orgId: member.orgId,
            action: 'token.created',
            principal,
            targetId: id,
            detail: { name: input.name },
          },
          now,
        );
        return created;
      });
      if (row === undefined) throw new Error('token insert returned nothing');
      return c.json({ apiToken: tokenOut(row), token }, 201);
    },
  }),
  defineRoute({
    access: { kind: 'org', permission: 'tokens.own' },
    route: createRoute({
      method: 'delete',
      path: '/orgs/{orgId}/tokens/{tokenId}',
      tags,
      summary: 'Revoke an API token (yours; owners and admins: any in the org)',
      request: { params: OrgParams.extend({ tokenId: PathId }) },
      responses: { 200: json(Ok, 'Revoked') },
    }),
    handler: async (c) => {
      const scope = c.get('scope');
      const member = c.get('member');
      const principal = c.get('principal');
      const { tokenId } = c.req.valid('param');
      const anyToken = can(member.role, 'members.manage');
      const now = scope.now();
      const revoked = await scope.db().transaction(async (tx) => {
        const [row] = await tx
          .update(apiTokens)
          .set({ revokedAt: now })
          .where(
            and(
              eq(apiTokens.id, tokenId),
              eq(apiTokens.orgId, member.orgId),
              isNull(apiTokens.revokedAt),
              ...(anyToken ? [] : [eq(apiTokens.userId, principal.userId)]),
            ),
          )
          .returning({ id: apiTokens.id });
        if (row !== undefined)
          await recordAudit(
            tx,
            { orgId: member.orgId, action: 'token.revoked', principal, targetId: row.id },
            now,
          );
        return row;
      });
      if (revoked === undefined)
        throw new ProblemError('not_found', `No active token ${tokenId} you may revoke.`);
      return c.json({ ok: true as const }, 200);
    },
  }),
];
