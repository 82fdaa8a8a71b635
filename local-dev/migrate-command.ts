import { join } from 'node:path';
import { devSecrets } from './dev-config.ts';
import { applyMigrations } from './migrate.ts';
import { STATE_DIR } from './paths.ts';
import { seedFirstOrg } from './seed.ts';
import { startPostgres } from './services/postgres.ts';

// `./dev migrate` and `./dev seed`: against AIRLOCK_DATABASE_URL, or the
// embedded Postgres in .airlock/pg (started for the duration of the command).

async function withDatabase<T>(run: (url: string) => Promise<T>): Promise<T> {
  const postgres = await startPostgres({
    externalUrl: process.env.AIRLOCK_DATABASE_URL,
    dataDir: join(STATE_DIR, 'pg'),
    password: devSecrets(STATE_DIR).postgresPassword,
  });
  try {
    return await run(postgres.url);
  } finally {
    await postgres.stop();
  }
}

export async function migrateCommand(): Promise<void> {
  const { applied } = await withDatabase(applyMigrations);
  process.stdout.write(applied === 0 ? 'migrations: up to date\n' : `migrations: applied ${applied}\n`);
}

export async function seedCommand(): Promise<void> {
  const email = process.env.AIRLOCK_DEV_EMAIL ?? 'admin@airlock.local';
  const result = await withDatabase((url) => seedFirstOrg(url, email));
  process.stdout.write(
    `seed: org ${result.orgId} with owner ${result.email}${result.created ? '' : ' (already there)'}\n`,
  );
}
