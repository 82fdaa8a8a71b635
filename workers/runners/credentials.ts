import type { Config } from '@airlock/config';
import { mintToken } from '../lib/tokens.ts';

// A runner's credential is a signed runner token (long-lived); the `runners`
// row keeps only a hash of its `jti`. Issuing a new token replaces the hash,
// so the old token stops working at the edge; revoking clears it.

/** Hex SHA-256 of a token id, as stored in `runners.token_hash`. */
export async function runnerTokenHash(jti: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`runner:${jti}`));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A fresh token for `runnerId`; store `tokenHash` on the runner's row and show `token` once. */
export async function issueRunnerToken(
  config: Config,
  runner: { runnerId: string; orgId: string },
  options: { ttlSeconds?: number; now?: number } = {},
): Promise<{ token: string; tokenHash: string; expiresAt: number }> {
  const minted = await mintToken(config, 'runner', { sub: runner.runnerId, org: runner.orgId }, options);
  return { token: minted.token, tokenHash: await runnerTokenHash(minted.jti), expiresAt: minted.expiresAt };
}
