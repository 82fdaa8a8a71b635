import type { Config } from '@airlock/config';
import { connections, sessions, snapshots } from '@airlock/schema/db';
import { and, eq, inArray } from 'drizzle-orm';
import type { Database } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { createLogger } from '../lib/log.ts';
import { E2bProvider, sandboxProvider } from '../providers/index.ts';
import type { ProviderAccount } from '../providers/types.ts';
import { LIVE } from './session-state.ts';

// The cron's orphan sweep at remote providers (issue 15): an E2B sandbox
// Airlock made (metadata `airlock=1`) whose owner — a session or a snapshot
// build — is no longer live is killed. Teardown normally does this; the sweep
// catches the sandbox a lost workflow or a failed kill left behind (E2B's own
// timeout, the TTL + 5 min, is the last backstop and still bills until then).

/** Accounts looked at per tick (the deployment's, or orgs' E2B connections). */
const ACCOUNTS = 50;
/** A `stopping` session's lifecycle is still tearing down: not an orphan yet. */
const SESSION_OWNS = [...LIVE, 'stopping'] as const;
const BUILD_OWNS = ['pending', 'building'] as const;

async function accounts(db: Database, config: Config): Promise<ProviderAccount[]> {
  if (config.sandbox.provider_credentials === 'deployment')
    return config.sandbox.e2b?.api_key === undefined ? [] : [{ orgId: '', connectionId: null }];
  const rows = await db
    .select({ orgId: connections.orgId, id: connections.id })
    .from(connections)
    .where(and(eq(connections.integration, 'e2b'), eq(connections.status, 'active')))
    .limit(ACCOUNTS);
  return rows.map((r) => ({ orgId: r.orgId, connectionId: r.id }));
}

async function ownerIsLive(db: Database, owner: string): Promise<boolean> {
  const [session] = await db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.id, owner), inArray(sessions.status, [...SESSION_OWNS])));
  if (session !== undefined) return true;
  const [build] = await db
    .select({ id: snapshots.id })
    .from(snapshots)
    .where(and(eq(snapshots.id, owner), inArray(snapshots.status, [...BUILD_OWNS])));
  return build !== undefined;
}

export async function sweepRemoteOrphans(deps: {
  env: Env;
  db: Database;
  config: Config;
}): Promise<{ killed: string[] }> {
  const log = createLogger({ job: 'remote-orphan-sweep' });
  const killed: string[] = [];
  for (const account of await accounts(deps.db, deps.config)) {
    try {
      const provider = await sandboxProvider('e2b', deps, account);
      if (!(provider instanceof E2bProvider)) continue;
      for (const sandbox of await provider.listOwned()) {
        // An org's account holds only that org's sandboxes; one labelled otherwise is not ours to judge.
        if (account.connectionId !== null && sandbox.orgId !== account.orgId) continue;
        if (await ownerIsLive(deps.db, sandbox.owner)) continue;
        await provider.destroy(
          { provider: 'e2b', sandboxId: sandbox.owner, runnerId: null, externalId: sandbox.externalId },
          { operationId: 'orphan-sweep' },
        );
        killed.push(sandbox.externalId);
        log.info('killed an orphaned E2B sandbox', { owner: sandbox.owner, externalId: sandbox.externalId });
      }
    } catch (error) {
      log.warn('the E2B orphan sweep skipped an account', {
        connectionId: account.connectionId,
        error: String(error).slice(0, 200),
      });
    }
  }
  return { killed };
}
