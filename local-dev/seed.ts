import { newId } from '@airlock/schema/ids';
import pg from 'pg';

// The first org and its owner, so a fresh `./dev start` can be logged into at
// once. Running it again changes nothing.

export interface SeedResult {
  readonly orgId: string;
  readonly email: string;
  readonly created: boolean;
}

export async function seedFirstOrg(databaseUrl: string, email: string): Promise<SeedResult> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('begin');
    const address = email.trim().toLowerCase();
    await client.query('insert into users (id, email) values ($1, $2) on conflict (email) do nothing', [
      newId('user'),
      address,
    ]);
    const user = await client.query<{ id: string }>('select id from users where email = $1', [address]);
    const org = await client.query<{ id: string }>(
      `insert into orgs (id, name, slug) values ($1, 'Local', 'local') on conflict (slug) do nothing returning id`,
      [newId('org')],
    );
    const orgId =
      org.rows[0]?.id ??
      (await client.query<{ id: string }>(`select id from orgs where slug = 'local'`)).rows[0]?.id;
    const userId = user.rows[0]?.id;
    if (!orgId || !userId) throw new Error('seeding did not produce an org and a user');
    await client.query(
      `insert into memberships (id, org_id, user_id, role) values ($1, $2, $3, 'owner') on conflict (org_id, user_id) do nothing`,
      [newId('membership'), orgId, userId],
    );
    await client.query('commit');
    return { orgId, email: address, created: org.rowCount === 1 };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}
