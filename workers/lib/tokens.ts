import type { Config, TokenPurpose } from '@airlock/config';
import { type ClaimsOf, TOKEN_CLAIMS } from '@airlock/schema/tokens';
import { errors, jwtVerify, SignJWT } from 'jose';

// Signed tokens per purpose (bootstrap, pty, runner, preview): HS256 with the
// purpose's active key, `kid` in the header; every configured kid verifies, so
// keys rotate by adding a kid, activating it, and later removing the old one.
// A token of one purpose never verifies as another: keys, issuer and audience
// differ, and the `purpose` claim is checked.
//
// The `kid` comes from the token, i.e. from anyone: it is looked up among the
// configured keys only (`Object.hasOwn`), never as `keys[kid]` — on a plain
// object `keys['constructor']` is the `Object` function, whose text is public
// (ADR 0100). The same goes for the active kid when minting.

export type TokenErrorCode =
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'bad_signature'
  | 'unknown_kid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'wrong_purpose';

export class TokenError extends Error {
  readonly code: TokenErrorCode;
  constructor(code: TokenErrorCode, message: string) {
    super(message);
    this.name = 'TokenError';
    this.code = code;
  }
}

const encoder = new TextEncoder();

/** Seconds a token's `iat` may lie ahead of our clock (the minting and verifying isolates' clocks). */
const CLOCK_SKEW_SECONDS = 30;

/** The configured secret for `kid`, or null: own keys only, never an inherited property. */
function configuredKey(keys: Readonly<Record<string, string>>, kid: unknown): Uint8Array | null {
  if (typeof kid !== 'string' || !Object.hasOwn(keys, kid)) return null;
  const secret = keys[kid];
  return typeof secret === 'string' && secret !== '' ? encoder.encode(secret) : null;
}

type Body<P extends TokenPurpose> = Omit<ClaimsOf<P>, 'iss' | 'aud' | 'iat' | 'exp' | 'jti' | 'purpose'>;

export interface MintOptions {
  /** Seconds; defaults to the purpose's ttl_seconds. */
  readonly ttlSeconds?: number;
  readonly jti?: string;
  /** Seconds since the epoch; injectable for tests. */
  readonly now?: number;
}

export function randomTokenId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

export async function mintToken<P extends TokenPurpose>(
  config: Config,
  purpose: P,
  body: Body<P>,
  options: MintOptions = {},
): Promise<{ token: string; jti: string; expiresAt: number }> {
  const settings = config.tokens[purpose];
  const secret = configuredKey(settings.keys, settings.active_kid);
  if (secret === null)
    throw new TokenError('unknown_kid', `no key ${settings.active_kid} for ${purpose} tokens`);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const exp = now + (options.ttlSeconds ?? settings.ttl_seconds);
  const jti = options.jti ?? randomTokenId();
  const token = await new SignJWT({ ...body, purpose })
    .setProtectedHeader({ alg: 'HS256', kid: settings.active_kid, typ: 'JWT' })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(secret);
  return { token, jti, expiresAt: exp };
}

export async function verifyToken<P extends TokenPurpose>(
  config: Config,
  purpose: P,
  token: string,
  options: { now?: number } = {},
): Promise<ClaimsOf<P>> {
  const settings = config.tokens[purpose];
  const now = options.now ?? Math.floor(Date.now() / 1000);
  let claims: unknown;
  try {
    const result = await jwtVerify(
      token,
      async (header) => {
        const secret = configuredKey(settings.keys, header.kid);
        if (secret === null) throw new TokenError('unknown_kid', 'token key is not configured');
        return secret;
      },
      {
        algorithms: ['HS256'],
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: ['iat', 'exp', 'jti'],
        currentDate: new Date(now * 1000),
      },
    );
    claims = result.payload;
  } catch (error) {
    if (error instanceof TokenError) throw error;
    if (error instanceof errors.JWTExpired) throw new TokenError('expired', 'token has expired');
    if (error instanceof errors.JWSSignatureVerificationFailed)
      throw new TokenError('bad_signature', 'token signature is invalid');
    if (error instanceof errors.JWTClaimValidationFailed) {
      if (error.claim === 'nbf') throw new TokenError('not_yet_valid', 'token is not valid yet');
      if (error.claim === 'iss') throw new TokenError('wrong_issuer', 'token issuer is not for this use');
      if (error.claim === 'aud') throw new TokenError('wrong_audience', 'token audience is not for this use');
    }
    throw new TokenError('malformed', 'token is malformed');
  }
  // jose checks `iat` only against a maximum age; a token issued in the future is refused here.
  const iat = (claims as { iat?: unknown }).iat;
  if (typeof iat !== 'number' || iat > now + CLOCK_SKEW_SECONDS)
    throw new TokenError('not_yet_valid', 'token is issued in the future');
  if ((claims as { purpose?: unknown }).purpose !== purpose)
    throw new TokenError('wrong_purpose', `not a ${purpose} token`);
  const parsed = TOKEN_CLAIMS[purpose].safeParse(claims);
  if (!parsed.success) throw new TokenError('malformed', `${purpose} token claims are malformed`);
  return parsed.data as ClaimsOf<P>;
}
