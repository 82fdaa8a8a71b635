import type { Config } from '@airlock/config';
import { runnerTokenHash } from '../lib/secret-hash.ts';
import { mintToken } from '../lib/tokens.ts';

// A runner's credential is a signed runner token (long-lived); the `runners`
// row keeps only an HMAC of its `jti` (lib/secret-hash.ts). The API's
// registration and re-key routes do the same; local tooling and tests use this.

/** A fresh token for `runnerId`; store `tokenHash` on the runner's row and show `token` once. */
export async function issueRunnerToken(
  config: Config,
  runner: { runnerId: string; orgId: string },
  options: { ttlSeconds?: number; now?: number } = {},
): Promise<{ token: string; tokenHash: string; expiresAt: number }> {
  const minted = await mintToken(config, 'runner', { sub: runner.runnerId, org: runner.orgId }, options);
  return {
    token: minted.token,
    tokenHash: await runnerTokenHash(config.auth.pepper, minted.jti),
    expiresAt: minted.expiresAt,
  };
}
