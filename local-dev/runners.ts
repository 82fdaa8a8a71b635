import { randomBytes } from 'node:crypto';
import type { Config } from '@airlock/config';
import { newId } from '@airlock/schema/ids';
import pg from 'pg';
import { HASH_PURPOSE, hashSecret } from '../workers/lib/secret-hash.ts';
import { issueRunnerToken } from '../workers/runners/credentials.ts';

// A runner row and its token, made directly in Postgres: for `./dev start`'s
// local runner and for tests (the API's registration endpoint does the same
// for users). Registering an existing name issues a new token; the old one
// stops working.

async function withClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface RegisteredRunner {
  readonly runnerId: string;
  readonly orgId: string;
  readonly token: string;
}

export async function registerRunner(
  databaseUrl: string,
  config: Config,
  input: { orgId: string; name: string; capacity?: number },
): Promise<RegisteredRunner> {
  return withClient(databaseUrl, async (client) => {
    const existing = await client.query<{ id: string }>(
      'select id from runners where org_id = $1 and name = $2',
      [input.orgId, input.name],
    );
    const runnerId = existing.rows[0]?.id ?? newId('runner');
    const { token, tokenHash } = await issueRunnerToken(config, { runnerId, orgId: input.orgId });
    await client.query(
      `insert into runners (id, org_id, name, capacity, token_hash) values ($1, $2, $3, $4, $5)
       on conflict (id) do update set token_hash = excluded.token_hash, revoked_at = null,
         status = case when runners.status = 'revoked' then 'pending' else runners.status end`,
      [runnerId, input.orgId, input.name, input.capacity ?? 10, tokenHash],
    );
    return { runnerId, orgId: input.orgId, token };
  });
}

/** A fresh org to hang test runners on. */
export async function createOrg(databaseUrl: string, name: string): Promise<string> {
  return withClient(databaseUrl, async (client) => {
    const orgId = newId('org');
    await client.query('insert into orgs (id, name, slug) values ($1, $2, $3)', [
      orgId,
      name,
      `t-${orgId.slice(-16).toLowerCase()}`,
    ]);
    return orgId;
  });
}

export interface RunnerRow {
  readonly status: string;
  readonly version: string | null;
  readonly hostInfo: Record<string, unknown>;
  readonly activeSandboxes: number;
}

/** What Postgres says about a runner (for `./dev` output and tests). */
export async function runnerRow(databaseUrl: string, runnerId: string): Promise<RunnerRow | undefined> {
  return withClient(databaseUrl, async (client) => {
    const r = await client.query<{
      status: string;
      version: string | null;
      host_info: Record<string, unknown>;
      active_sandboxes: number;
    }>('select status, version, host_info, active_sandboxes from runners where id = $1', [runnerId]);
    const row = r.rows[0];
    return row === undefined
      ? undefined
      : {
          status: row.status,
          version: row.version,
          hostInfo: row.host_info,
          activeSandboxes: row.active_sandboxes,
        };
  });
}

/** A running session (with its profile, version and starter) for tests that watch a session's fate. */
export async function seedRunningSession(databaseUrl: string, orgId: string): Promise<string> {
  return withClient(databaseUrl, async (client) => {
    const [userId, profileId, versionId, sessionId] = [
      newId('user'),
      newId('profile'),
      newId('profileVersion'),
      newId('session'),
    ];
    await client.query('insert into users (id, email) values ($1, $2)', [
      userId,
      `${userId.toLowerCase()}@example.com`,
    ]);
    await client.query('insert into sandbox_profiles (id, org_id, name) values ($1, $2, $1)', [
      profileId,
      orgId,
    ]);
    await client.query(
      'insert into profile_versions (id, profile_id, org_id, number) values ($1, $2, $3, 1)',
      [versionId, profileId, orgId],
    );
    await client.query(
      `insert into sessions (id, org_id, profile_id, profile_version_id, status, provider, started_by)
       values ($1, $2, $3, $4, 'running', 'docker', $5)`,
      [sessionId, orgId, profileId, versionId, userId],
    );
    return sessionId;
  });
}

export async function sessionRow(
  databaseUrl: string,
  sessionId: string,
): Promise<{ status: string; failureReason: string | null } | undefined> {
  return withClient(databaseUrl, async (client) => {
    const r = await client.query<{ status: string; failure_reason: string | null }>(
      'select status, failure_reason from sessions where id = $1',
      [sessionId],
    );
    const row = r.rows[0];
    return row === undefined ? undefined : { status: row.status, failureReason: row.failure_reason };
  });
}

/** The runner's row as the provider sees it when it picks a runner for new work. */
export async function runnerStatus(databaseUrl: string, runnerId: string): Promise<string | undefined> {
  return withClient(databaseUrl, async (client) => {
    const row = await client.query<{ status: string }>('select status from runners where id = $1', [
      runnerId,
    ]);
    return row.rows[0]?.status;
  });
}

/** An owner of the org with an API token (returned once), for tests that drive the HTTP API. */
export async function createApiUser(databaseUrl: string, config: Config, orgId: string): Promise<string> {
  // `alk_`: API_TOKEN_PREFIX (workers/control-plane/auth/credentials.ts, not imported: it pulls the Worker in).
  const secret = `alk_${randomBytes(32).toString('base64url')}`;
  const tokenHash = await hashSecret(config.auth.pepper, HASH_PURPOSE.apiToken, secret);
  await withClient(databaseUrl, async (client) => {
    const userId = newId('user');
    await client.query('insert into users (id, email) values ($1, $2)', [
      userId,
      `${userId.toLowerCase()}@example.test`,
    ]);
    await client.query(`insert into memberships (id, org_id, user_id, role) values ($1, $2, $3, 'owner')`, [
      newId('membership'),
      orgId,
      userId,
    ]);
    await client.query(
      'insert into api_tokens (id, org_id, user_id, name, display_prefix, token_hash) values ($1, $2, $3, $4, $5, $6)',
      [newId('apiToken'), orgId, userId, 'test', secret.slice(0, 12), tokenHash],
    );
  });
  return secret;
}
