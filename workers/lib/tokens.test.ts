import { env } from 'cloudflare:workers';
import { type Config, configFromWorkerEnv } from '@airlock/config';
import { describe, expect, it } from 'vitest';
import { attackerSecret, badTokens, INHERITED_NAMES } from '../testing/token-matrix.ts';
import { mintToken, TokenError, verifyToken } from './tokens.ts';

const config = configFromWorkerEnv(env);
const withKeys = (purpose: 'pty', keys: Record<string, string>, active: string): Config => ({
  ...config,
  tokens: { ...config.tokens, [purpose]: { ...config.tokens[purpose], keys, active_kid: active } },
});

describe('signed tokens', () => {
  it('mints and verifies a bootstrap token with its claims', async () => {
    const { token, jti } = await mintToken(config, 'bootstrap', { sub: 'ses_1', org: 'org_1' });
    const claims = await verifyToken(config, 'bootstrap', token);
    expect(claims).toMatchObject({
      sub: 'ses_1',
      org: 'org_1',
      purpose: 'bootstrap',
      jti,
      aud: 'airlock-tunnel',
    });
  });

  it('refuses a token of another purpose', async () => {
    const { token } = await mintToken(config, 'pty', {
      sub: 'ses_1',
      org: 'org_1',
      uid: 'usr_1',
      mode: 'ro',
    });
    await expect(verifyToken(config, 'bootstrap', token)).rejects.toMatchObject({
      code: expect.stringMatching(/unknown_kid|bad_signature|wrong_audience/),
    });
  });

  it('refuses an expired token', async () => {
    const { token } = await mintToken(
      config,
      'bootstrap',
      { sub: 'ses_1', org: 'org_1' },
      { ttlSeconds: 60, now: 1_000_000 },
    );
    await expect(verifyToken(config, 'bootstrap', token)).rejects.toMatchObject({ code: 'expired' });
    await expect(verifyToken(config, 'bootstrap', token, { now: 1_000_030 })).resolves.toMatchObject({
      sub: 'ses_1',
    });
  });

  it('refuses a forged signature and garbage', async () => {
    const { token } = await mintToken(config, 'bootstrap', { sub: 'ses_1', org: 'org_1' });
    const [h, p] = token.split('.');
    await expect(verifyToken(config, 'bootstrap', `${h}.${p}.AAAA`)).rejects.toMatchObject({
      code: 'bad_signature',
    });
    await expect(verifyToken(config, 'bootstrap', 'not-a-jwt')).rejects.toMatchObject({ code: 'malformed' });
  });

  it('keeps verifying the old kid after rotation, and stops once it is removed', async () => {
    const old = withKeys('pty', { k1: 'a'.repeat(32) }, 'k1');
    const { token } = await mintToken(old, 'pty', { sub: 'ses_1', org: 'org_1', uid: 'usr_1', mode: 'rw' });
    const rotated = withKeys('pty', { k1: 'a'.repeat(32), k2: 'b'.repeat(32) }, 'k2');
    await expect(verifyToken(rotated, 'pty', token)).resolves.toMatchObject({ mode: 'rw' });
    const fresh = await mintToken(rotated, 'pty', { sub: 'ses_1', org: 'org_1', uid: 'usr_1', mode: 'rw' });
    expect(JSON.parse(atob(fresh.token.split('.')[0] ?? ''))).toMatchObject({ kid: 'k2' });
    const retired = withKeys('pty', { k2: 'b'.repeat(32) }, 'k2');
    await expect(verifyToken(retired, 'pty', token)).rejects.toMatchObject({ code: 'unknown_kid' });
  });
});

// The bad-token matrix (ADR 0100) against the verifier of every purpose. The
// consumers (`/tunnel`, `/pty`, `/runner/connect`) run it too, with the cases
// only they can refuse; preview has no consumer yet, so its verifier is it.
const MATRIX_CLAIMS = {
  bootstrap: { sub: 'ses_01MATRIXSESSION000000000', org: 'org_01MATRIXORG00000000000000' },
  pty: {
    sub: 'ses_01MATRIXSESSION000000000',
    org: 'org_01MATRIXORG00000000000000',
    uid: 'usr_01M',
    mode: 'rw',
  },
  runner: { sub: 'rnr_01MATRIXRUNNER0000000000', org: 'org_01MATRIXORG00000000000000' },
  preview: { sub: 'ses_01MATRIXSESSION000000000', org: 'org_01MATRIXORG00000000000000', port: 3000 },
} as const;

describe('the bad-token matrix at the verifier', () => {
  for (const purpose of ['bootstrap', 'pty', 'runner', 'preview'] as const) {
    it(`refuses every forged or misdirected ${purpose} token`, async () => {
      const cases = await badTokens({
        config,
        purpose,
        claims: MATRIX_CLAIMS[purpose],
        otherSub: `${MATRIX_CLAIMS[purpose].sub.slice(0, 4)}01OTHER`,
        otherOrg: 'org_01OTHERORG',
      });
      expect(cases.length).toBeGreaterThan(INHERITED_NAMES.length + 10);
      const outcomes: string[] = [];
      for (const c of cases.filter((c) => c.contextual !== true)) {
        const outcome = await verifyToken(config, purpose, c.token).then(
          () => 'accepted',
          (error: unknown) => (error instanceof TokenError ? 'refused' : `threw ${String(error)}`),
        );
        outcomes.push(`${c.name}: ${outcome}`);
      }
      expect(outcomes.filter((o) => !o.endsWith(': refused'))).toEqual([]);
      // The good token of the same shape verifies: the matrix tests the cases, not a broken setup.
      const good = await mintToken(config, purpose, MATRIX_CLAIMS[purpose] as never);
      await expect(verifyToken(config, purpose, good.token)).resolves.toMatchObject({ purpose });
    });
  }

  it('says why: an inherited kid is unknown, a future iat or nbf is not yet valid', async () => {
    const cases = await badTokens({
      config,
      purpose: 'bootstrap',
      claims: MATRIX_CLAIMS.bootstrap,
      otherSub: 'ses_01OTHER',
      otherOrg: 'org_01OTHER',
    });
    const reason = async (name: string) => {
      const token = cases.find((c) => c.name === name)?.token ?? '';
      return verifyToken(config, 'bootstrap', token).catch((error: TokenError) => error.code);
    };
    expect(await reason('kid constructor (inherited)')).toBe('unknown_kid');
    expect(await reason('kid __proto__ (inherited)')).toBe('unknown_kid');
    expect(await reason('no kid')).toBe('unknown_kid');
    expect(await reason('issued in the future (iat)')).toBe('not_yet_valid');
    expect(await reason('not yet valid (nbf)')).toBe('not_yet_valid');
    expect(await reason('wrong issuer')).toBe('wrong_issuer');
    expect(await reason('wrong audience')).toBe('wrong_audience');
    expect(await reason('alg none')).toBe('malformed');
  });

  it('knows what the attacker signs with: the inherited value as text', () => {
    expect(new TextDecoder().decode(attackerSecret('constructor'))).toBe(
      'function Object() { [native code] }',
    );
    expect(new TextDecoder().decode(attackerSecret('__proto__'))).toBe('[object Object]');
  });

  it('verifies a configured kid that happens to share a name with an inherited property', async () => {
    const named = withKeys('pty', { constructor: 'c'.repeat(32) }, 'constructor');
    const { token } = await mintToken(named, 'pty', { sub: 'ses_1', org: 'org_1', uid: 'usr_1', mode: 'ro' });
    await expect(verifyToken(named, 'pty', token)).resolves.toMatchObject({ mode: 'ro' });
    // …and an active kid that names no configured key mints nothing, whatever it inherits.
    const dangling = withKeys('pty', { k1: 'a'.repeat(32) }, 'constructor');
    await expect(
      mintToken(dangling, 'pty', { sub: 'ses_1', org: 'org_1', uid: 'usr_1', mode: 'ro' }),
    ).rejects.toMatchObject({ code: 'unknown_kid' });
  });
});
