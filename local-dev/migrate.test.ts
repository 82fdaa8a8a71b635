import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { applyMigrations, MIGRATIONS_DIR } from './migrate.ts';
import { createDatabase } from './services/postgres.ts';

async function query<T>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

const freshDatabase = () =>
  createDatabase(inject('airlock').databaseUrl, `mig_${randomBytes(6).toString('hex')}`);

describe('migrations', () => {
  it('apply cleanly to an empty database, then do nothing the second time', async () => {
    const url = await freshDatabase();
    const first = await applyMigrations(url);
    expect(first.applied).toBeGreaterThanOrEqual(2);
    const tables = await query<{ tablename: string }>(
      url,
      "select tablename from pg_tables where schemaname = 'public' order by 1",
    );
    expect(tables.map((t) => t.tablename)).toEqual(
      expect.arrayContaining([
        'orgs',
        'users',
        'connections',
        'profile_versions',
        'sessions',
        'session_runtime_plans',
        'trigger_deliveries',
        'audit_events',
      ]),
    );
    expect(await applyMigrations(url)).toEqual({ applied: 0 });
  });

  it('are safe to run from several processes at once', async () => {
    const url = await freshDatabase();
    const results = await Promise.all([applyMigrations(url), applyMigrations(url), applyMigrations(url)]);
    expect(results.map((r) => r.applied).sort()).toEqual([0, 0, results.reduce((n, r) => n + r.applied, 0)]);
  });

  it('make a published profile version immutable in the database itself', async () => {
    const url = await freshDatabase();
    await applyMigrations(url);
    await query(
      url,
      `
      insert into orgs (id, name, slug) values ('org_1', 'O', 'o-one');
      insert into sandbox_profiles (id, org_id, name) values ('prf_1', 'org_1', 'p');
      insert into profile_versions (id, profile_id, org_id, number, status, published_at)
        values ('prv_1', 'prf_1', 'org_1', 1, 'published', now());
    `,
    );
    await expect(
      query(url, "update profile_versions set setup_script = 'x' where id = 'prv_1'"),
    ).rejects.toMatchObject({
      code: 'AL409',
    });
    await expect(
      query(
        url,
        "insert into profile_versions (id, profile_id, org_id, number, status) values ('prv_2', 'prf_1', 'org_1', 1, 'draft')",
      ),
    ).rejects.toMatchObject({ constraint: 'profile_versions_number_key' });
    await query(
      url,
      "insert into profile_versions (id, profile_id, org_id, number) values ('prv_3', 'prf_1', 'org_1', 2)",
    );
    await expect(
      query(
        url,
        "insert into profile_versions (id, profile_id, org_id, number) values ('prv_4', 'prf_1', 'org_1', 3)",
      ),
    ).rejects.toMatchObject({ constraint: 'profile_versions_one_draft' });
  });

  it('give versions written before CLI versions were recorded the verified version, published ones too', async () => {
    // Migrate to just before agent_runtimes (a copy of the folder with a shorter journal), write rows, then finish.
    const dir = mkdtempSync(join(tmpdir(), 'airlock-mig-'));
    try {
      cpSync(MIGRATIONS_DIR, dir, { recursive: true });
      const journalPath = join(dir, 'meta/_journal.json');
      const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: Array<{ tag: string }> };
      const cut = journal.entries.findIndex((e) => /^\d{4}_agent_runtimes$/.test(e.tag));
      expect(cut).toBeGreaterThan(0);
      writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, cut) }));
      const url = await freshDatabase();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await migrate(drizzle(client), { migrationsFolder: dir });
      } finally {
        await client.end();
      }
      await query(
        url,
        `
        insert into orgs (id, name, slug) values ('org_1', 'O', 'o-one');
        insert into sandbox_profiles (id, org_id, name) values ('prf_1', 'org_1', 'p');
        insert into profile_versions (id, profile_id, org_id, number, status, published_at, agent_runtime)
          values ('prv_1', 'prf_1', 'org_1', 1, 'published', now(), 'claude-code');
        insert into profile_versions (id, profile_id, org_id, number) values ('prv_2', 'prf_1', 'org_1', 2);
      `,
      );
      expect((await applyMigrations(url)).applied).toBeGreaterThanOrEqual(1);
      const rows = await query<{ id: string; agent_version: string }>(
        url,
        'select id, agent_version from profile_versions order by id',
      );
      expect(rows).toEqual([
        { id: 'prv_1', agent_version: '2.1.328' },
        { id: 'prv_2', agent_version: '0.169.0' },
      ]);
      // The trigger is back: the published version is frozen again.
      await expect(
        query(url, "update profile_versions set agent_version = 'latest' where id = 'prv_1'"),
      ).rejects.toMatchObject({ code: 'AL409' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
