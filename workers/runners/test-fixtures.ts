import { env } from 'cloudflare:workers';
import { type Config, configFromWorkerEnv } from '@airlock/config';
import { orgs, profileVersions, runners, sandboxProfiles, sessions, users } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { type DbHandle, openDb } from '../lib/db.ts';
import { issueRunnerToken } from './credentials.ts';

// Rows the runner/hub/provider tests need, with fresh ids per test (the
// database is shared by every test file of a run).

export const config: Config = configFromWorkerEnv(env);

export function database(): DbHandle {
  return openDb(config);
}

export async function seedOrg(db: DbHandle['db']): Promise<{ orgId: string; userId: string }> {
  const orgId = newId('org');
  const userId = newId('user');
  await db
    .insert(orgs)
    .values({ id: orgId, name: 'Runner test', slug: `rt-${orgId.slice(-12).toLowerCase()}` });
  await db.insert(users).values({ id: userId, email: `${userId.toLowerCase()}@example.com` });
  return { orgId, userId };
}

/** A registered runner with a current token (as the registration endpoint would make it). */
export async function seedRunner(
  db: DbHandle['db'],
  orgId: string,
  values: Partial<typeof runners.$inferInsert> = {},
): Promise<{ runnerId: string; token: string }> {
  const runnerId = newId('runner');
  const { token, tokenHash } = await issueRunnerToken(config, { runnerId, orgId });
  await db
    .insert(runners)
    .values({ id: runnerId, orgId, name: runnerId.toLowerCase(), tokenHash, ...values });
  return { runnerId, token };
}

export async function seedSession(
  db: DbHandle['db'],
  who: { orgId: string; userId: string },
  status: (typeof sessions.$inferInsert)['status'] = 'running',
): Promise<string> {
  const profileId = newId('profile');
  const versionId = newId('profileVersion');
  const sessionId = newId('session');
  await db.insert(sandboxProfiles).values({ id: profileId, orgId: who.orgId, name: profileId });
  await db.insert(profileVersions).values({ id: versionId, profileId, orgId: who.orgId, number: 1 });
  await db.insert(sessions).values({
    id: sessionId,
    orgId: who.orgId,
    profileId,
    profileVersionId: versionId,
    status,
    provider: 'docker',
    startedBy: who.userId,
  });
  return sessionId;
}
