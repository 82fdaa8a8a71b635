import { env } from 'cloudflare:workers';
import { type Config, configFromWorkerEnv } from '@airlock/config';
import { describe, expect, it } from 'vitest';
import { mintToken, verifyToken } from './tokens.ts';

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
