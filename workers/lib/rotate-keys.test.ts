import { env } from 'cloudflare:workers';
import { configFromWorkerEnv } from '@airlock/config';
import { connections, sandboxSecrets, signingKeys, triggers } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { Harness } from '../control-plane/testing/harness.ts';
import { createWorld } from '../control-plane/testing/world.ts';
import { Sealer } from './crypto.ts';
import { openDb } from './db.ts';
import { rotateKeys } from './rotate-keys.ts';

// Key rotation against real Postgres: every sealed column of the org moves to
// the new key version and still opens to the same plaintext; a tampered row
// is reported and left alone; a second run has nothing to do. (Scoped to the
// test's org so the other suites sharing this database keep their key.)

const h = new Harness();
afterAll(() => h.close());

const base = configFromWorkerEnv(env).integrations;
const v1 = base.master_keys[String(base.active_master_key_version)] ?? '';
const v2key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
const v2 = new Sealer({
  active_master_key_version: 9,
  master_keys: { [String(base.active_master_key_version)]: v1, '9': v2key },
});
const v2only = new Sealer({ active_master_key_version: 9, master_keys: { '9': v2key } });

describe('rotateKeys', () => {
  it('re-seals connections, signing keys, trigger secrets and secrets-in-sandbox with the active key, row by row', async () => {
    const w = await createWorld(h);
    const db = h.db();
    const old = new Sealer(base);
    const keyId = newId('signingKey');
    const privateKey = h.secret('-----BEGIN OPENSSH PRIVATE KEY-----rotation');
    const sealedKey = await old.seal(privateKey, keyId);
    await db.insert(signingKeys).values({
      id: keyId,
      orgId: w.orgId,
      publicKey: 'ssh-ed25519 AAAA rotation',
      privateKeyCiphertext: sealedKey.ciphertext,
      privateKeyNonce: sealedKey.nonce,
      privateKeyKeyVersion: sealedKey.keyVersion,
    });
    const webhookSecret = h.secret('whsec-rotation-0123456789');
    const sealedSecret = await old.seal(webhookSecret, w.triggerId);
    await db
      .update(triggers)
      .set({
        secretCiphertext: sealedSecret.ciphertext,
        secretNonce: sealedSecret.nonce,
        secretKeyVersion: sealedSecret.keyVersion,
      })
      .where(eq(triggers.id, w.triggerId));
    const secretId = newId('sandboxSecret');
    const inSandbox = h.secret('npm-token-in-sandbox-0123456789');
    const sealedInSandbox = await old.seal(inSandbox, secretId);
    await db.insert(sandboxSecrets).values({
      id: secretId,
      orgId: w.orgId,
      ciphertext: sealedInSandbox.ciphertext,
      nonce: sealedInSandbox.nonce,
      keyVersion: sealedInSandbox.keyVersion,
    });
    // A second connection whose ciphertext was tampered with.
    const tamperedId = newId('connection');
    const good = await old.seal('{"api_key":"x"}', tamperedId);
    const bytes = Uint8Array.from(atob(good.ciphertext), (c) => c.charCodeAt(0));
    bytes[3] = (bytes[3] ?? 0) ^ 0xff;
    await db.insert(connections).values({
      id: tamperedId,
      orgId: w.orgId,
      integration: 'openai',
      name: 'tampered',
      credentialCiphertext: btoa(String.fromCharCode(...bytes)),
      credentialNonce: good.nonce,
      credentialKeyVersion: good.keyVersion,
    });

    const handle = openDb(h.config);
    try {
      const report = await rotateKeys(handle.pool, v2, { orgIds: [w.orgId], batchSize: 1 });
      expect(report.rotated).toEqual({ connections: 1, signing_keys: 1, sandbox_secrets: 1, triggers: 1 });
      expect(report.failures).toEqual([
        expect.objectContaining({
          table: 'connections',
          id: tamperedId,
          reason: expect.stringContaining('does not authenticate'),
        }),
      ]);

      const [conn] = await db.select().from(connections).where(eq(connections.id, w.connectionId));
      expect(conn?.credentialKeyVersion).toBe(9);
      const opened = await v2only.open(
        { ciphertext: conn?.credentialCiphertext ?? '', nonce: conn?.credentialNonce ?? '', keyVersion: 9 },
        w.connectionId,
      );
      expect(JSON.parse(opened)).toEqual({ api_key: w.apiKey });
      const [key] = await db.select().from(signingKeys).where(eq(signingKeys.id, keyId));
      expect(
        await v2only.open(
          { ciphertext: key?.privateKeyCiphertext ?? '', nonce: key?.privateKeyNonce ?? '', keyVersion: 9 },
          keyId,
        ),
      ).toBe(privateKey);
      const [trigger] = await db.select().from(triggers).where(eq(triggers.id, w.triggerId));
      expect(
        await v2only.open(
          { ciphertext: trigger?.secretCiphertext ?? '', nonce: trigger?.secretNonce ?? '', keyVersion: 9 },
          w.triggerId,
        ),
      ).toBe(webhookSecret);
      const [secret] = await db.select().from(sandboxSecrets).where(eq(sandboxSecrets.id, secretId));
      expect(secret?.keyVersion).toBe(9);
      expect(await v2only.open(secret ?? sealedInSandbox, secretId)).toBe(inSandbox);
      const [tampered] = await db.select().from(connections).where(eq(connections.id, tamperedId));
      expect(tampered?.credentialKeyVersion).toBe(base.active_master_key_version);

      const again = await rotateKeys(handle.pool, v2, { orgIds: [w.orgId] });
      expect(again.rotated).toEqual({ connections: 0, signing_keys: 0, sandbox_secrets: 0, triggers: 0 });
      expect(again.failures).toHaveLength(1);
    } finally {
      // Leave the shared database readable with the suite's own key.
      await db.delete(connections).where(inArray(connections.id, [tamperedId]));
      await db.delete(sandboxSecrets).where(eq(sandboxSecrets.id, secretId));
      await handle.end();
    }
  });
});
