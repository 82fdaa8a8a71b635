import { env } from 'cloudflare:workers';
import { configFromWorkerEnv } from '@airlock/config';
import { memberships, orgs, users } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, eq, sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { type DbHandle, openDb, pgErrorOf } from './db.ts';

// Drizzle over @neondatabase/serverless, inside workerd, against real Postgres
// through the local Neon-protocol proxy: the path production takes to Neon.

const handles: DbHandle[] = [];
function open(): DbHandle {
  const handle = openDb(configFromWorkerEnv(env));
  handles.push(handle);
  return handle;
}
afterEach(async () => {
  for (const h of handles.splice(0)) await h.end();
});

describe('Postgres through the Neon serverless driver', () => {
  it('runs typed inserts and joins', async () => {
    const { db } = open();
    const orgId = newId('org');
    const userId = newId('user');
    await db.insert(orgs).values({ id: orgId, name: 'Acme', slug: `acme-${orgId.slice(-8).toLowerCase()}` });
    await db.insert(users).values({ id: userId, email: `${userId.toLowerCase()}@example.com` });
    await db.insert(memberships).values({ id: newId('membership'), orgId, userId, role: 'owner' });

    const rows = await db
      .select({ email: users.email, role: memberships.role, org: orgs.name })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .innerJoin(orgs, eq(orgs.id, memberships.orgId))
      .where(eq(memberships.orgId, orgId));
    expect(rows).toEqual([{ email: `${userId.toLowerCase()}@example.com`, role: 'owner', org: 'Acme' }]);
  });

  it('commits a transaction as a whole and rolls back a failed one', async () => {
    const { db } = open();
    const orgId = newId('org');
    await db.transaction(async (tx) => {
      await tx.insert(orgs).values({ id: orgId, name: 'Tx', slug: `tx-${orgId.slice(-8).toLowerCase()}` });
      await tx.update(orgs).set({ name: 'Tx committed' }).where(eq(orgs.id, orgId));
    });
    const failedId = newId('org');
    await expect(
      db.transaction(async (tx) => {
        await tx
          .insert(orgs)
          .values({ id: failedId, name: 'Gone', slug: `gone-${failedId.slice(-8).toLowerCase()}` });
        // Violates orgs_slug_shape: the whole transaction must roll back.
        await tx.insert(orgs).values({ id: newId('org'), name: 'Bad', slug: 'NOT A SLUG' });
      }),
    ).rejects.toThrow();
    const found = await db
      .select({ id: orgs.id, name: orgs.name })
      .from(orgs)
      .where(sql`${orgs.id} in (${orgId}, ${failedId})`);
    expect(found).toEqual([{ id: orgId, name: 'Tx committed' }]);
  });

  it('enforces the unique rules the schema declares', async () => {
    const { db } = open();
    const orgId = newId('org');
    const userId = newId('user');
    await db.insert(orgs).values({ id: orgId, name: 'U', slug: `u-${orgId.slice(-8).toLowerCase()}` });
    await db.insert(users).values({ id: userId, email: `${userId.toLowerCase()}@example.com` });
    await db.insert(memberships).values({ id: newId('membership'), orgId, userId, role: 'member' });
    const error = await db
      .insert(memberships)
      .values({ id: newId('membership'), orgId, userId, role: 'admin' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(pgErrorOf(error)).toMatchObject({ code: '23505', constraint: 'memberships_org_user_key' });
    const count = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
    expect(count).toEqual([{ n: 1 }]);
  });

  it('serves queries in parallel from one pool', async () => {
    const { db } = open();
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => db.execute(sql`select ${i}::int as i, pg_sleep(0.2)`)),
    );
    expect(results.map((r) => (r.rows[0] as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
  });
});
