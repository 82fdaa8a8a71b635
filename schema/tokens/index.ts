import { z } from 'zod';

// Claims of each signed token purpose (HS256 JWTs, `kid` in the header names
// the key from config `tokens.<purpose>.keys`). Issuer, audience and lifetime
// come from config per purpose; these schemas are what a verifier accepts.

const base = {
  iss: z.string().min(1),
  aud: z.string().min(1),
  iat: z.number().int(),
  exp: z.number().int(),
  /** Unique per token: single-use tokens are redeemed by id, revocable ones revoked by it. */
  jti: z.string().min(16),
};

/**
 * Sandbox → tunnel. Single-use: the gateway records the jti. `sub` is the gateway's owner: a
 * session, or a snapshot build whose temporary sandbox has a gateway of its own (ADR 0035).
 */
export const BootstrapClaims = z.strictObject({
  ...base,
  purpose: z.literal('bootstrap'),
  sub: z.string().regex(/^(ses|snp)_/),
  org: z.string().regex(/^org_/),
});

/** Browser/CLI → terminal. Seconds-lived; `mode` decides whether input is accepted. */
export const PtyClaims = z.strictObject({
  ...base,
  purpose: z.literal('pty'),
  sub: z.string().regex(/^ses_/),
  org: z.string().regex(/^org_/),
  uid: z.string().regex(/^usr_/),
  mode: z.enum(['rw', 'ro']),
});

/** Runner → RunnerHub. Long-lived and revocable (the runner row holds the current jti hash). */
export const RunnerClaims = z.strictObject({
  ...base,
  purpose: z.literal('runner'),
  sub: z.string().regex(/^rnr_/),
  org: z.string().regex(/^org_/),
});

/** Access to a session's published port. */
export const PreviewClaims = z.strictObject({
  ...base,
  purpose: z.literal('preview'),
  sub: z.string().regex(/^ses_/),
  org: z.string().regex(/^org_/),
  port: z.number().int().min(1).max(65535),
});

export type BootstrapClaims = z.infer<typeof BootstrapClaims>;
export type PtyClaims = z.infer<typeof PtyClaims>;
export type RunnerClaims = z.infer<typeof RunnerClaims>;
export type PreviewClaims = z.infer<typeof PreviewClaims>;

export const TOKEN_CLAIMS = {
  bootstrap: BootstrapClaims,
  pty: PtyClaims,
  runner: RunnerClaims,
  preview: PreviewClaims,
} as const;

export type TokenPurposeName = keyof typeof TOKEN_CLAIMS;
export type ClaimsOf<P extends TokenPurposeName> = z.infer<(typeof TOKEN_CLAIMS)[P]>;
