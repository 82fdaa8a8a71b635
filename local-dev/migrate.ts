import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../schema/db/migrations', import.meta.url));

// An arbitrary constant: concurrent `migrate` runs (two terminals, parallel
// test workers) queue on this advisory lock instead of racing.
const LOCK_KEY = 0x41_49_52_4c; // "AIRL"

/** Apply every pending migration; safe to run again and from several processes at once. */
export async function applyMigrations(databaseUrl: string): Promise<{ applied: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    const before = await countApplied(client);
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_DIR });
    const after = await countApplied(client);
    return { applied: after - before };
  } finally {
    await client.query('select pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {});
    await client.end();
  }
}

async function countApplied(client: pg.Client): Promise<number> {
  const exists = await client.query(`select to_regclass('drizzle.__drizzle_migrations') as t`);
  if (exists.rows[0]?.t === null) return 0;
  const result = await client.query('select count(*)::int as n from drizzle.__drizzle_migrations');
  return Number(result.rows[0]?.n ?? 0);
}
