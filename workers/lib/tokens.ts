import type { Config, TokenPurpose } from '@airlock/config';
import { type ClaimsOf, TOKEN_CLAIMS } from '@airlock/schema/tokens';
import { errors, jwtVerify, SignJWT } from 'jose';

// Signed tokens per purpose (bootstrap, pty, runner, preview): HS256 with the
// purpose's active key, `kid` in the header; every configured kid verifies, so
// keys rotate by adding a kid, activating it, and later removing the old one.
// A token of one purpose never verifies as another: keys, issuer and audience
// differ, and the `purpose` claim is checked.

export type TokenErrorCode =
  | 'malformed'
  | 'expired'
  | 'bad_signature'
  | 'unknown_kid'
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
  const secret = settings.keys[settings.active_kid];
  if (secret === undefined)
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
    .sign(encoder.encode(secret));
  return { token, jti, expiresAt: exp };
}

export async function verifyToken<P extends TokenPurpose>(
  config: Config,
  purpose: P,
  token: string,
  options: { now?: number } = {},
): Promise<ClaimsOf<P>> {
  const settings = config.tokens[purpose];
  let claims: unknown;
  try {
    const result = await jwtVerify(
      token,
      async (header) => {
        const secret = header.kid === undefined ? undefined : settings.keys[header.kid];
        if (secret === undefined)
          throw new TokenError('unknown_kid', `token key ${header.kid ?? '(none)'} is not configured`);
        return encoder.encode(secret);
      },
      {
        algorithms: ['HS256'],
        issuer: settings.issuer,
        audience: settings.audience,
        ...(options.now === undefined ? {} : { currentDate: new Date(options.now * 1000) }),
      },
    );
    claims = result.payload;
  } catch (error) {
    if (error instanceof TokenError) throw error;
    if (error instanceof errors.JWTExpired) throw new TokenError('expired', 'token has expired');
    if (error instanceof errors.JWSSignatureVerificationFailed)
      throw new TokenError('bad_signature', 'token signature is invalid');
    if (error instanceof errors.JWTClaimValidationFailed)
      throw new TokenError('wrong_audience', `token ${error.claim} is not for this use`);
    throw new TokenError('malformed', 'token is malformed');
  }
  if ((claims as { purpose?: unknown }).purpose !== purpose)
    throw new TokenError('wrong_purpose', `not a ${purpose} token`);
  const parsed = TOKEN_CLAIMS[purpose].safeParse(claims);
  if (!parsed.success) throw new TokenError('malformed', `${purpose} token claims are malformed`);
  return parsed.data as ClaimsOf<P>;
}
