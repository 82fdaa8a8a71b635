import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { at, createdAt, pk, updatedAt } from './columns.ts';
import { connectionStatusEnum } from './enums.ts';
import { orgs, users } from './identity.ts';

export const connections = pgTable(
  'connections',
  {
    id: pk(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    /** Catalog key of the integration (e.g. `openai`, `github_app`); the catalog lives in code. */
    integration: text('integration').notNull(),
    name: text('name').notNull(),
    status: connectionStatusEnum('status').notNull().default('active'),
    /** Non-secret settings: upstream base-URL override, GitHub App id, installation id, … */
    config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
    /** AES-256-GCM ciphertext (base64) of the credential JSON, its nonce, and the master key version used. */
    credentialCiphertext: text('credential_ciphertext').notNull(),
    credentialNonce: text('credential_nonce').notNull(),
    credentialKeyVersion: integer('credential_key_version').notNull(),
    statusReason: text('status_reason'),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('connections_org_name_key').on(t.orgId, t.name),
    index('connections_org_idx').on(t.orgId, t.integration),
    index('connections_key_version_idx').on(t.credentialKeyVersion),
  ],
);

/** The org's commit-signing keys; the private half is sealed and only the broker opens it. */
export const signingKeys = pgTable(
  'signing_keys',
  {
    id: pk(),
    orgId: text('org_id')
      .notNull()
      .references(() => orgs.id, { onDelete: 'cascade' }),
    /** OpenSSH public key line, e.g. `ssh-ed25519 AAAA… airlock`. */
    publicKey: text('public_key').notNull(),
    privateKeyCiphertext: text('private_key_ciphertext').notNull(),
    privateKeyNonce: text('private_key_nonce').notNull(),
    privateKeyKeyVersion: integer('private_key_key_version').notNull(),
    createdAt: createdAt(),
    revokedAt: at('revoked_at'),
  },
  (t) => [
    uniqueIndex('signing_keys_one_active_key').on(t.orgId).where(sql`${t.revokedAt} is null`),
    index('signing_keys_key_version_idx').on(t.privateKeyKeyVersion),
  ],
);
