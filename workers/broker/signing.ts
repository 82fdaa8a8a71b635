import { signingKeys } from '@airlock/schema/db';
import type { SigningKeyInfo } from '@airlock/schema/gateway';
import { newId } from '@airlock/schema/ids';
import { and, eq, isNull } from 'drizzle-orm';
import type { Sealer } from '../lib/crypto.ts';
import type { Database } from '../lib/db.ts';
import { base64, ed25519PublicLine } from './ssh-signature.ts';

// The org's commit-signing key: Ed25519, created on first use, the private
// half sealed (row id as context) and opened only here. One active key per org
// (a partial unique index); two first uses racing both try to insert and the
// loser reads the winner's key.

export interface OpenedSigningKey extends SigningKeyInfo {
  readonly privateKey: CryptoKey;
  readonly publicRaw: Uint8Array;
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

async function activeRow(db: Database, orgId: string) {
  return (
    await db
      .select()
      .from(signingKeys)
      .where(and(eq(signingKeys.orgId, orgId), isNull(signingKeys.revokedAt)))
      .limit(1)
  )[0];
}

async function create(db: Database, sealer: Sealer, orgId: string): Promise<void> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer);
  const raw = new Uint8Array((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer);
  const id = newId('signingKey');
  const sealed = await sealer.seal(base64(pkcs8), id);
  await db
    .insert(signingKeys)
    .values({
      id,
      orgId,
      publicKey: ed25519PublicLine(raw, `airlock:${orgId}`),
      privateKeyCiphertext: sealed.ciphertext,
      privateKeyNonce: sealed.nonce,
      privateKeyKeyVersion: sealed.keyVersion,
    })
    .onConflictDoNothing();
}

export async function signingKeyInfo(db: Database, sealer: Sealer, orgId: string): Promise<SigningKeyInfo> {
  let row = await activeRow(db, orgId);
  if (row === undefined) {
    await create(db, sealer, orgId);
    row = await activeRow(db, orgId);
  }
  if (row === undefined) throw new Error('no signing key after creating one');
  return { keyId: row.id, publicKey: row.publicKey };
}

export async function openSigningKey(db: Database, sealer: Sealer, orgId: string): Promise<OpenedSigningKey> {
  const info = await signingKeyInfo(db, sealer, orgId);
  const row = await activeRow(db, orgId);
  if (row === undefined || row.id !== info.keyId) throw new Error('the signing key changed while opening it');
  const pkcs8 = fromBase64(
    await sealer.open(
      {
        ciphertext: row.privateKeyCiphertext,
        nonce: row.privateKeyNonce,
        keyVersion: row.privateKeyKeyVersion,
      },
      row.id,
    ),
  );
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
  const blob = fromBase64(row.publicKey.split(' ')[1] ?? '');
  // The blob is string("ssh-ed25519") || string(key): the key is its last 32 bytes.
  return { ...info, privateKey, publicRaw: blob.subarray(blob.length - 32) };
}
