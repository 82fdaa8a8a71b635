import type { Config, TokenPurpose } from '@airlock/config';
import { exportJWK, generateKeyPair, type JWTHeaderParameters, SignJWT } from 'jose';

// TEST ONLY — the bad-token matrix every token consumer must refuse (ADR 0100):
// `/tunnel`, `/pty`, `/runner/connect`, the preview verifier, and whatever
// consumes a token next. Each case is a token an attacker can actually make:
// signed with what a `keys[kid]` lookup on a plain object would hand the
// verifier for an inherited kid (`constructor` → `function Object() {…}`), or
// signed with the purpose's real key but wrong in one claim or header (what a
// leaked key of another deployment, a token of another purpose, or a clock
// trick would give). Runs in workerd and in Node alike (jose + WebCrypto).

export interface MatrixCase {
  readonly name: string;
  readonly token: string;
  /**
   * Well signed, but for something else (another session, runner or org): only a consumer that
   * knows what it serves can refuse it; the bare verifier accepts it.
   */
  readonly contextual?: true;
}

export interface MatrixInput<P extends TokenPurpose> {
  readonly config: Config;
  readonly purpose: P;
  /** The claims a good token for this consumer carries (besides iss, aud, iat, exp, jti, purpose). */
  readonly claims: Readonly<Record<string, unknown>> & { readonly sub: string; readonly org: string };
  /** A `sub` of the same kind that names something else (another session, another runner). */
  readonly otherSub: string;
  readonly otherOrg: string;
  /** Seconds since the epoch (the consumer's clock). */
  readonly now?: number;
}

const encoder = new TextEncoder();

/** Every name a plain object inherits: the kids a `record[kid]` lookup would answer for. */
export const INHERITED_NAMES: readonly string[] = Object.getOwnPropertyNames(Object.prototype).sort();

/**
 * What `TextEncoder.encode(keys[kid])` signs with when `keys` is a plain object and `kid` one of
 * its inherited names — public knowledge (`function Object() { [native code] }`, `[object Object]`).
 */
export function attackerSecret(kid: string): Uint8Array {
  const inherited = ({} as Record<string, unknown>)[kid];
  return encoder.encode(String(inherited));
}

const b64url = (text: string) =>
  btoa(String.fromCharCode(...encoder.encode(text)))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');

function randomJti(): string {
  return b64url(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(18)))).slice(0, 24);
}

/**
 * The headline forgery: a token for `claims` whose header names an inherited `kid` and whose
 * signature uses the inherited value as the secret. Needs no key, only the ids.
 */
export async function forgeWithInheritedKid<P extends TokenPurpose>(
  input: Pick<MatrixInput<P>, 'config' | 'purpose' | 'claims' | 'now'>,
  kid = 'constructor',
): Promise<string> {
  const settings = input.config.tokens[input.purpose];
  const now = input.now ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ ...input.claims, purpose: input.purpose })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .setJti(randomJti())
    .sign(attackerSecret(kid));
}

const OTHER_PURPOSE: Readonly<Record<TokenPurpose, TokenPurpose>> = {
  bootstrap: 'pty',
  pty: 'bootstrap',
  runner: 'bootstrap',
  preview: 'pty',
};

/** The bad tokens for one consumer; add the consumer's own replayed token as a case of its own. */
export async function badTokens<P extends TokenPurpose>(input: MatrixInput<P>): Promise<MatrixCase[]> {
  const settings = input.config.tokens[input.purpose];
  const realKey = Object.hasOwn(settings.keys, settings.active_kid)
    ? encoder.encode(settings.keys[settings.active_kid])
    : null;
  if (realKey === null) throw new Error(`no active ${input.purpose} key in the test config`);
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const good = {
    ...input.claims,
    purpose: input.purpose,
    iss: settings.issuer,
    aud: settings.audience,
    iat: now,
    exp: now + 60,
  };
  const sign = (
    claims: Record<string, unknown>,
    key: Uint8Array | CryptoKey,
    header: Partial<JWTHeaderParameters> = {},
  ) =>
    new SignJWT({ jti: randomJti(), ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: settings.active_kid, ...header })
      .sign(key);
  const real = (claims: Record<string, unknown>, header: Partial<JWTHeaderParameters> = {}) =>
    sign({ ...good, ...claims }, realKey, header);

  const cases: MatrixCase[] = [];
  for (const kid of INHERITED_NAMES)
    cases.push({
      name: `kid ${kid} (inherited)`,
      token: await forgeWithInheritedKid({ ...input, now }, kid),
    });

  const noKid = await new SignJWT({ jti: randomJti(), ...good })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(realKey);
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const other = OTHER_PURPOSE[input.purpose];
  const otherSettings = input.config.tokens[other];
  const otherKey = Object.hasOwn(otherSettings.keys, otherSettings.active_kid)
    ? (otherSettings.keys[otherSettings.active_kid] ?? '')
    : '';
  cases.push(
    { name: 'unknown kid', token: await real({}, { kid: 'not-a-configured-kid' }) },
    { name: 'no kid', token: noKid },
    {
      name: 'alg none',
      token: `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT', kid: settings.active_kid }))}.${b64url(JSON.stringify({ jti: randomJti(), ...good }))}.`,
    },
    { name: 'alg HS384', token: await real({}, { alg: 'HS384' }) },
    { name: 'alg RS256', token: await sign(good, rsa.privateKey, { alg: 'RS256' }) },
    {
      name: 'alg RS256, public key embedded',
      token: await sign(good, rsa.privateKey, { alg: 'RS256', jwk: await exportJWK(rsa.publicKey) }),
    },
    { name: 'wrong purpose claim', token: await real({ purpose: other }) },
    {
      name: `a ${other} token`,
      token: await sign(
        { ...good, purpose: other, iss: otherSettings.issuer, aud: otherSettings.audience },
        encoder.encode(otherKey),
        { kid: otherSettings.active_kid },
      ),
    },
    { name: 'wrong audience', token: await real({ aud: `${settings.audience}-elsewhere` }) },
    { name: 'wrong issuer', token: await real({ iss: `${settings.issuer}-elsewhere` }) },
    { name: 'expired', token: await real({ iat: now - 3600, exp: now - 1800 }) },
    { name: 'not yet valid (nbf)', token: await real({ nbf: now + 600, exp: now + 1200 }) },
    { name: 'issued in the future (iat)', token: await real({ iat: now + 600, exp: now + 1200 }) },
    { name: 'bad signature', token: `${(await real({})).slice(0, -6)}AAAAAA` },
    { name: 'another sub', token: await real({ sub: input.otherSub }), contextual: true },
    { name: 'another org', token: await real({ org: input.otherOrg }), contextual: true },
  );
  return cases;
}

/** What a consumer answered, however it was reached (workerd `fetch`, or a Node WebSocket client). */
export interface Answer {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: string;
}

/** A workerd `Response` as an `Answer`; an accepted WebSocket is closed at once. */
export async function answerOf(response: Response): Promise<Answer> {
  // workerd's Response carries the accepted socket; the type is spelled out so Node code compiles too.
  const socket = (
    response as { webSocket?: { accept(): void; close(code: number, reason: string): void } | null }
  ).webSocket;
  if (socket) {
    socket.accept();
    socket.close(1000, 'test');
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: response.status === 101 ? '' : await response.text(),
  };
}

export interface Refusal {
  readonly name: string;
  readonly status: number;
  /** The body is problem+json whose `status` is the response's. */
  readonly problem: boolean;
}

export function refusal(name: string, answer: Answer): Refusal {
  let problem = false;
  if (answer.contentType?.includes('application/problem+json')) {
    try {
      problem = (JSON.parse(answer.body) as { status?: unknown }).status === answer.status;
    } catch {
      problem = false;
    }
  }
  return { name, status: answer.status, problem };
}

/**
 * Send every case through `consume` and describe each answer; a test compares the list with
 * `refusedAll(cases)`, so a failure names every case that got through.
 */
export async function answers(
  cases: readonly MatrixCase[],
  consume: (token: string) => Promise<Answer>,
): Promise<Refusal[]> {
  const out: Refusal[] = [];
  for (const c of cases) out.push(refusal(c.name, await consume(c.token)));
  return out;
}

export function refusedAll(cases: readonly MatrixCase[]): Refusal[] {
  return cases.map((c) => ({ name: c.name, status: 401, problem: true }));
}
