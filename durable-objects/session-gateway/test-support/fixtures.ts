import { env } from 'cloudflare:workers';
import { configFromWorkerEnv } from '@airlock/config';
import {
  auditEvents,
  connections,
  memberships,
  orgs,
  profileVersions,
  sandboxProfiles,
  sessions,
  users,
} from '@airlock/schema/db';
import { DEFAULT_SESSION_SETTINGS, type SessionSettings } from '@airlock/schema/gateway';
import { newId } from '@airlock/schema/ids';
import type { EgressRoute, RuntimePlan } from '@airlock/schema/plan';
import { eq } from 'drizzle-orm';
import '../../../local-dev/stand-ins/provided.ts';
import { Sealer } from '../../../workers/lib/crypto.ts';
import { type Database, openDb } from '../../../workers/lib/db.ts';
import { mintToken } from '../../../workers/lib/tokens.ts';
import type { SessionGateway } from '../index.ts';
import { SandboxPeer } from './sandbox-peer.ts';

// Test fixtures for gateway suites: real rows in the shared Postgres (fresh
// ids per test), sealed connection credentials, real bootstrap tokens, a plan
// applied through the gateway's RPC, and a scripted sandbox connected through
// the edge.

export const config = configFromWorkerEnv(env);

export async function withDb<T>(run: (db: Database) => Promise<T>): Promise<T> {
  const handle = openDb(config);
  try {
    return await run(handle.db);
  } finally {
    await handle.end();
  }
}

export interface World {
  readonly orgId: string;
  readonly userId: string;
  readonly profileId: string;
  readonly versionId: string;
  readonly sessionId: string;
}

/**
 * An org with an owner, a published profile version and a running session started by the owner;
 * given an org and user, another session in that org.
 */
export async function createWorld(existing?: { orgId: string; userId: string }): Promise<World> {
  const orgId = existing?.orgId ?? newId('org');
  const userId = existing?.userId ?? newId('user');
  const profileId = newId('profile');
  const versionId = newId('profileVersion');
  const sessionId = newId('session');
  await withDb(async (db) => {
    if (existing === undefined) {
      await db
        .insert(orgs)
        .values({ id: orgId, name: 'Gateway test', slug: `gw-${orgId.slice(-12).toLowerCase()}` });
      await db.insert(users).values({ id: userId, email: `${userId.toLowerCase()}@example.test` });
      await db.insert(memberships).values({ id: newId('membership'), orgId, userId, role: 'owner' });
    }
    await db.insert(sandboxProfiles).values({ id: profileId, orgId, name: `p-${profileId}` });
    await db.insert(profileVersions).values({
      id: versionId,
      profileId,
      orgId,
      number: 1,
      status: 'published',
      publishedAt: new Date(),
    });
    await db.insert(sessions).values({
      id: sessionId,
      orgId,
      profileId,
      profileVersionId: versionId,
      status: 'running',
      startedBy: userId,
      provider: 'docker',
    });
  });
  return { orgId, userId, profileId, versionId, sessionId };
}

export async function createConnection(
  orgId: string,
  integration: string,
  credential: Record<string, unknown>,
  connectionConfig: Record<string, unknown> = {},
): Promise<string> {
  const id = newId('connection');
  const sealed = await new Sealer(config.integrations).seal(JSON.stringify(credential), id);
  await withDb((db) =>
    db.insert(connections).values({
      id,
      orgId,
      integration,
      name: `${integration}-${id.slice(-6)}`,
      config: connectionConfig,
      credentialCiphertext: sealed.ciphertext,
      credentialNonce: sealed.nonce,
      credentialKeyVersion: sealed.keyVersion,
    }),
  );
  return id;
}

export async function openStoredCredential(connectionId: string): Promise<Record<string, unknown>> {
  return withDb(async (db) => {
    const row = (await db.select().from(connections).where(eq(connections.id, connectionId)))[0];
    if (row === undefined) throw new Error('no connection');
    const plaintext = await new Sealer(config.integrations).open(
      {
        ciphertext: row.credentialCiphertext,
        nonce: row.credentialNonce,
        keyVersion: row.credentialKeyVersion,
      },
      row.id,
    );
    return JSON.parse(plaintext) as Record<string, unknown>;
  });
}

export async function auditRows(sessionId: string) {
  return withDb((db) =>
    db.select().from(auditEvents).where(eq(auditEvents.sessionId, sessionId)).orderBy(auditEvents.at),
  );
}

let routeCounter = 0;

export function route(
  overrides: Partial<EgressRoute> & Pick<EgressRoute, 'upstream' | 'credential'>,
): EgressRoute {
  routeCounter++;
  return {
    id: `rt_test_${routeCounter}`,
    match: { hosts: ['api.example.com'], pathPrefixes: [], methods: [] },
    inject: { kind: 'bearer', target: 'authorization' },
    integration: 'test_api',
    ...overrides,
  };
}

export function plan(world: World, egressRoutes: EgressRoute[], passthrough: string[] = []): RuntimePlan {
  return {
    schemaVersion: 1,
    orgId: world.orgId,
    profileId: world.profileId,
    profileVersionId: world.versionId,
    versionNumber: 1,
    egressRoutes,
    passthrough,
    files: [],
    processes: [],
    workspace: [],
    env: { OPENAI_API_KEY: 'airlock-brokered' },
    agent: { runtime: 'codex', interactive: ['codex'], headless: ['codex', 'exec'] },
    stopSessionOnLeak: false,
  };
}

export function gateway(sessionId: string): DurableObjectStub<SessionGateway> {
  return env.SESSION_GATEWAY.get(env.SESSION_GATEWAY.idFromName(sessionId));
}

/** A well-signed bootstrap token for the world's session, that its gateway was never told of. */
export async function bootstrapToken(world: World, options: { ttlSeconds?: number; now?: number } = {}) {
  return mintToken(config, 'bootstrap', { sub: world.sessionId, org: world.orgId }, options);
}

/** A bootstrap token as the lifecycle makes one: minted, and its `jti` handed to the gateway. */
export async function grantedBootstrapToken(world: World, options: { assignment?: string } = {}) {
  const minted = await bootstrapToken(world);
  const granted = await gateway(world.sessionId).expectBootstrap({
    sessionId: world.sessionId,
    orgId: world.orgId,
    jti: minted.jti,
    expiresAt: minted.expiresAt,
    assignment: options.assignment ?? 'p1',
  });
  if (!granted.ok) throw new Error(`expectBootstrap: ${granted.message}`);
  return minted;
}

export async function ptyToken(world: World, mode: 'rw' | 'ro') {
  return (await mintToken(config, 'pty', { sub: world.sessionId, org: world.orgId, uid: world.userId, mode }))
    .token;
}

/** A session with `routes` applied and a sandbox connected. */
export async function startSession(
  routes: (world: World) => Promise<EgressRoute[]> | EgressRoute[],
  options: { passthrough?: string[]; settings?: Partial<SessionSettings>; world?: World } = {},
): Promise<{ world: World; stub: DurableObjectStub<SessionGateway>; peer: SandboxPeer; bootstrap: string }> {
  const world = options.world ?? (await createWorld());
  const stub = gateway(world.sessionId);
  const applied = await stub.applyPlan({
    sessionId: world.sessionId,
    revision: 1,
    plan: plan(world, await routes(world), options.passthrough ?? []),
    attribution: { startedBy: world.userId, triggerId: null, triggerDeliveryId: null },
    settings: { ...DEFAULT_SESSION_SETTINGS, ...options.settings },
  });
  if (!applied.ok) throw new Error(`applyPlan: ${applied.message}`);
  const { token } = await grantedBootstrapToken(world);
  const peer = await SandboxPeer.connect(world.sessionId, token);
  return { world, stub, peer, bootstrap: token };
}
