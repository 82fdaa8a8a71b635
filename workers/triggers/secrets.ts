import type { Config } from '@airlock/config';
import type { triggers } from '@airlock/schema/db';
import { type Sealed, Sealer } from '../lib/crypto.ts';
import type { Env } from '../lib/env.ts';
import { randomSecret } from '../lib/secret-hash.ts';

// A trigger's signing secrets: generated (or, for Slack, given) at creation,
// sealed like connection credentials with the trigger id as context, shown
// once. A rotation keeps the old secret verifying for a grace period. A GitHub
// App's webhook may instead be verified with the App connection's
// `webhook_secret`, which only the broker opens.

export type TriggerRow = typeof triggers.$inferSelect;

/** A new secret in the sender's format: Standard Webhooks wants `whsec_` + base64. */
export function generateSecret(source: 'github' | 'generic'): string {
  if (source === 'github') return randomSecret(32);
  const raw = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...raw))}`;
}

export async function sealSecret(config: Config, secret: string, triggerId: string): Promise<Sealed> {
  return new Sealer(config.integrations).seal(secret, triggerId);
}

export type SecretsResult =
  | { readonly ok: true; readonly secrets: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/** Every secret that verifies this trigger's requests right now (current first). */
export async function verificationSecrets(
  env: Env,
  config: Config,
  trigger: TriggerRow,
  now: Date,
): Promise<SecretsResult> {
  const settings = trigger.config as { secretFrom?: unknown; connectionId?: unknown };
  if (settings.secretFrom === 'connection' && typeof settings.connectionId === 'string') {
    const resolved = await env.BROKER.resolve({
      orgId: trigger.orgId,
      connectionId: settings.connectionId,
      source: 'secret',
      field: 'webhook_secret',
    });
    return resolved.ok
      ? { ok: true, secrets: [resolved.value] }
      : { ok: false, reason: `the connection's webhook secret is unavailable (${resolved.code})` };
  }
  const sealer = new Sealer(config.integrations);
  const secrets: string[] = [];
  if (trigger.secretCiphertext !== null && trigger.secretNonce !== null && trigger.secretKeyVersion !== null)
    secrets.push(
      await sealer.open(
        {
          ciphertext: trigger.secretCiphertext,
          nonce: trigger.secretNonce,
          keyVersion: trigger.secretKeyVersion,
        },
        trigger.id,
      ),
    );
  if (
    trigger.previousSecretCiphertext !== null &&
    trigger.previousSecretNonce !== null &&
    trigger.previousSecretKeyVersion !== null &&
    trigger.previousSecretExpiresAt !== null &&
    trigger.previousSecretExpiresAt > now
  )
    secrets.push(
      await sealer.open(
        {
          ciphertext: trigger.previousSecretCiphertext,
          nonce: trigger.previousSecretNonce,
          keyVersion: trigger.previousSecretKeyVersion,
        },
        trigger.id,
      ),
    );
  return secrets.length === 0
    ? { ok: false, reason: 'the trigger has no signing secret' }
    : { ok: true, secrets };
}

/** The current secret alone (signing result callbacks). */
export async function currentSecret(config: Config, trigger: TriggerRow): Promise<string | null> {
  if (trigger.secretCiphertext === null || trigger.secretNonce === null || trigger.secretKeyVersion === null)
    return null;
  return new Sealer(config.integrations).open(
    {
      ciphertext: trigger.secretCiphertext,
      nonce: trigger.secretNonce,
      keyVersion: trigger.secretKeyVersion,
    },
    trigger.id,
  );
}
