import type { Role } from '@airlock/schema/api';
import {
  apiTokens,
  connections,
  invites,
  loginSessions,
  memberships,
  orgs,
  profileVersions,
  runners,
  sandboxProfiles,
  sessions,
  snapshots,
  triggerDeliveries,
  triggers,
  users,
} from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { Sealer } from '../../lib/crypto.ts';
import { HASH_PURPOSE, hashSecret, randomSecret } from '../../lib/secret-hash.ts';
import { scheduleEvent } from '../../triggers/sources/schedule.ts';
import { API_TOKEN_PREFIX } from '../auth/credentials.ts';
import type { Harness } from './harness.ts';

// A complete org written straight into Postgres: three members (one per
// role) with login sessions and API tokens, and one of every resource — a
// connection with sealed credentials, a profile with a published version
// (ready snapshot) and a draft, a session, a runner, a trigger, an invite.
// Tests get ids to aim requests at and secrets to scan responses for.

export interface Person {
  readonly userId: string;
  readonly email: string;
  readonly membershipId: string;
  readonly cookie: string;
  readonly loginSessionId: string;
  readonly token: string;
  readonly tokenId: string;
}

export interface World {
  readonly orgId: string;
  readonly people: Readonly<Record<Role, Person>>;
  readonly connectionId: string;
  readonly profileId: string;
  readonly publishedVersionId: string;
  readonly draftVersionId: string;
  readonly snapshotId: string;
  readonly sessionId: string;
  readonly runnerId: string;
  readonly triggerId: string;
  /** A delivery of that trigger (a schedule tick, its event kept). */
  readonly deliveryId: string;
  readonly inviteId: string;
  /** The connection's API key as stored (sealed). */
  readonly apiKey: string;
}

const tag = () => crypto.randomUUID().slice(0, 8);

export async function createWorld(h: Harness): Promise<World> {
  const db = h.db();
  const now = new Date(h.now);
  const pepper = h.config.auth.pepper;
  const orgId = newId('org');
  const suffix = tag();
  await db.insert(orgs).values({ id: orgId, name: `World ${suffix}`, slug: `world-${suffix}` });

  const person = async (role: Role): Promise<Person> => {
    const userId = newId('user');
    const email = `${role}-${tag()}@world.test`;
    const membershipId = newId('membership');
    const cookie = h.secret(randomSecret(32));
    const token = h.secret(`${API_TOKEN_PREFIX}${randomSecret(32)}`);
    const loginSessionId = newId('loginSession');
    const tokenId = newId('apiToken');
    await db.insert(users).values({ id: userId, email });
    await db.insert(memberships).values({ id: membershipId, orgId, userId, role });
    await db.insert(loginSessions).values({
      id: loginSessionId,
      userId,
      tokenHash: await hashSecret(pepper, HASH_PURPOSE.session, cookie),
      expiresAt: new Date(now.getTime() + 3600_000),
    });
    await db.insert(apiTokens).values({
      id: tokenId,
      orgId,
      userId,
      name: `${role} token`,
      displayPrefix: token.slice(0, 12),
      tokenHash: await hashSecret(pepper, HASH_PURPOSE.apiToken, token),
    });
    return { userId, email, membershipId, cookie, loginSessionId, token, tokenId };
  };
  const people = {
    owner: await person('owner'),
    admin: await person('admin'),
    member: await person('member'),
  };

  const connectionId = newId('connection');
  const apiKey = h.secret(`sk-world-${randomSecret(24)}`);
  const sealed = await new Sealer(h.config.integrations).seal(
    JSON.stringify({ api_key: apiKey }),
    connectionId,
  );
  await db.insert(connections).values({
    id: connectionId,
    orgId,
    integration: 'openai',
    name: 'OpenAI',
    credentialCiphertext: sealed.ciphertext,
    credentialNonce: sealed.nonce,
    credentialKeyVersion: sealed.keyVersion,
  });

  const profileId = newId('profile');
  const publishedVersionId = newId('profileVersion');
  const draftVersionId = newId('profileVersion');
  await db.insert(sandboxProfiles).values({ id: profileId, orgId, name: 'Web' });
  await db.insert(profileVersions).values([
    {
      id: publishedVersionId,
      profileId,
      orgId,
      number: 1,
      status: 'published',
      modelConnectionId: connectionId,
      publishedAt: now,
    },
    { id: draftVersionId, profileId, orgId, number: 2, modelConnectionId: connectionId },
  ]);
  const snapshotId = newId('snapshot');
  await db.insert(snapshots).values({
    id: snapshotId,
    orgId,
    profileVersionId: publishedVersionId,
    status: 'ready',
    provider: 'docker',
    imageRef: 'sha256:world',
  });
  const sessionId = newId('session');
  await db.insert(sessions).values({
    id: sessionId,
    orgId,
    profileId,
    profileVersionId: publishedVersionId,
    snapshotId,
    startedBy: people.member.userId,
    provider: 'docker',
    status: 'running',
  });
  const runnerId = newId('runner');
  await db.insert(runners).values({ id: runnerId, orgId, name: 'runner-1' });
  const triggerId = newId('trigger');
  await db.insert(triggers).values({
    id: triggerId,
    orgId,
    profileId,
    kind: 'schedule',
    name: 'nightly',
    config: { cron: '0 3 * * *', timezone: 'UTC', promptTemplate: 'Tidy up' },
  });
  const deliveryId = newId('delivery');
  await db.insert(triggerDeliveries).values({
    id: deliveryId,
    triggerId,
    orgId,
    source: 'schedule',
    deliveryId: 'schedule:2026-01-01T03:00:00.000Z',
    status: 'filtered',
    event: 'schedule',
    reason: 'seeded',
    payload: scheduleEvent(new Date('2026-01-01T03:00:00Z'), '0 3 * * *', 'UTC') as unknown as Record<
      string,
      unknown
    >,
  });
  const inviteId = newId('invite');
  await db
    .insert(invites)
    .values({ id: inviteId, orgId, email: `invitee-${tag()}@world.test`, role: 'member' });
  return {
    orgId,
    people,
    connectionId,
    profileId,
    publishedVersionId,
    draftVersionId,
    snapshotId,
    sessionId,
    runnerId,
    triggerId,
    deliveryId,
    inviteId,
    apiKey,
  };
}
