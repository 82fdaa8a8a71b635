import { connections } from '@airlock/schema/db';
import type { BrokerErrorCode } from '@airlock/schema/gateway';
import { and, eq } from 'drizzle-orm';
import type { Sealer } from '../lib/crypto.ts';
import type { Database } from '../lib/db.ts';

// Reading a connection for the broker: the row must belong to the org the
// plan names and be active; its credential is opened with the row id as the
// sealing context (a ciphertext copied to another row does not decrypt).

export interface OpenedConnection {
  readonly id: string;
  readonly integration: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly credential: Readonly<Record<string, unknown>>;
  /** The ciphertext the credential was read from (for compare-and-set updates). */
  readonly ciphertext: string;
}

export type BrokerFailure = { readonly ok: false; readonly code: BrokerErrorCode; readonly message: string };

export async function openConnection(
  db: Database,
  sealer: Sealer,
  orgId: string,
  connectionId: string,
): Promise<{ ok: true; connection: OpenedConnection } | BrokerFailure> {
  const row = (
    await db
      .select()
      .from(connections)
      .where(and(eq(connections.id, connectionId), eq(connections.orgId, orgId)))
      .limit(1)
  )[0];
  if (row === undefined)
    return {
      ok: false,
      code: 'CONNECTION_NOT_FOUND',
      message: `connection ${connectionId} does not exist in this org`,
    };
  if (row.status !== 'active') {
    const why = row.statusReason === null ? '' : ` (${row.statusReason})`;
    return {
      ok: false,
      code: 'CONNECTION_NOT_ACTIVE',
      message: `connection ${connectionId} is ${row.status}${why}`,
    };
  }
  let credential: unknown;
  try {
    const plaintext = await sealer.open(
      {
        ciphertext: row.credentialCiphertext,
        nonce: row.credentialNonce,
        keyVersion: row.credentialKeyVersion,
      },
      row.id,
    );
    credential = JSON.parse(plaintext);
  } catch {
    return {
      ok: false,
      code: 'CREDENTIAL_INVALID',
      message: `the stored credential of ${connectionId} cannot be opened`,
    };
  }
  if (typeof credential !== 'object' || credential === null || Array.isArray(credential))
    return {
      ok: false,
      code: 'CREDENTIAL_INVALID',
      message: `the stored credential of ${connectionId} is not an object`,
    };
  return {
    ok: true,
    connection: {
      id: row.id,
      integration: row.integration,
      config: row.config,
      credential: credential as Record<string, unknown>,
      ciphertext: row.credentialCiphertext,
    },
  };
}

/** Replace the credential only if nobody changed it since `expected` was read. */
export async function compareAndSetCredential(
  db: Database,
  sealer: Sealer,
  connectionId: string,
  expected: string,
  credential: Readonly<Record<string, unknown>>,
): Promise<boolean> {
  const sealed = await sealer.seal(JSON.stringify(credential), connectionId);
  const updated = await db
    .update(connections)
    .set({
      credentialCiphertext: sealed.ciphertext,
      credentialNonce: sealed.nonce,
      credentialKeyVersion: sealed.keyVersion,
      updatedAt: new Date(),
    })
    .where(and(eq(connections.id, connectionId), eq(connections.credentialCiphertext, expected)))
    .returning({ id: connections.id });
  return updated.length === 1;
}

export async function markConnectionError(db: Database, connectionId: string, reason: string): Promise<void> {
  await db
    .update(connections)
    .set({ status: 'error', statusReason: reason.slice(0, 300), updatedAt: new Date() })
    .where(eq(connections.id, connectionId));
}

/** A stored credential or config field by name: own fields only, never an inherited property. */
export function stringField(source: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = Object.hasOwn(source, name) ? source[name] : undefined;
  return typeof value === 'string' && value !== ''
    ? value
    : typeof value === 'number'
      ? String(value)
      : undefined;
}
