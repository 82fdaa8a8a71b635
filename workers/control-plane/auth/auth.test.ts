import { loginSessions, otpChallenges } from '@airlock/schema/db';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { freshEmail, Harness, latestCode, login, mailUrl } from '../testing/harness.ts';

// Email OTP login, sessions and API tokens against the real stack: codes come
// from the mail sink, the clock is injected to expire them.

const h = new Harness();
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

const ip = () => ({ 'cf-connecting-ip': `192.0.2.${Math.floor(Math.random() * 250)}` });
interface Problem {
  code: string;
  detail: string;
  reason?: string;
  attemptsLeft?: number;
}

describe('email OTP login', () => {
  it('mails a code of the configured length, logs in with it, and stores only hashes', async () => {
    const email = freshEmail('login');
    const headers = ip();
    const requested = await h.call('POST', '/auth/otp/request', {
      body: { email: email.toUpperCase() },
      headers,
    });
    expect(requested.status).toBe(202);
    expect(requested.json).toEqual({
      sent: true,
      codeLength: h.config.auth.otp.length,
      expiresInSeconds: h.config.auth.otp.expires_in_seconds,
    });
    const code = h.secret(await latestCode(email));
    expect(code).toMatch(new RegExp(`^\\d{${h.config.auth.otp.length}}$`));
    const verified = h.disclosure(
      await h.call<{ user: { email: string }; via: string }>('POST', '/auth/otp/verify', {
        body: { email, code },
        headers,
      }),
    );
    expect(verified.status).toBe(200);
    expect(verified.json).toMatchObject({ user: { email }, via: 'session', memberships: [] });
    const setCookie = verified.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^airlock_session=[A-Za-z0-9_-]{40,};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('Secure');
    expect(setCookie).toContain('SameSite=Lax');
    const cookie = h.secret(/airlock_session=([^;]+)/.exec(setCookie)?.[1] ?? '');
    const me = await h.call<{ user: { email: string } }>('GET', '/me', { cookie });
    expect(me.status).toBe(200);
    expect(me.json.user.email).toBe(email);

    const db = h.db();
    const challenges = await db.select().from(otpChallenges).where(eq(otpChallenges.email, email));
    expect(challenges).toHaveLength(1);
    expect(challenges[0]?.codeHash).not.toContain(code);
    expect(challenges[0]?.consumedAt).not.toBeNull();
    const sessions = await db.select().from(loginSessions).where(eq(loginSessions.tokenHash, cookie));
    expect(sessions).toEqual([]);

    // The code is single-use.
    const again = await h.call<Problem>('POST', '/auth/otp/verify', { body: { email, code }, headers });
    expect(again.status).toBe(401);
    expect(again.json.reason).toBe('no_code');
  });

  it('refuses a wrong code, counting attempts until none are left', async () => {
    const email = freshEmail('wrong');
    const headers = ip();
    await h.call('POST', '/auth/otp/request', { body: { email }, headers });
    const code = h.secret(await latestCode(email));
    const wrong = code.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
    const allowed = h.config.auth.otp.allowed_attempts;
    for (let attempt = 1; attempt <= allowed; attempt++) {
      const reply = await h.call<Problem>('POST', '/auth/otp/verify', {
        body: { email, code: wrong },
        headers,
      });
      expect(reply.status).toBe(401);
      expect(reply.headers.get('content-type')).toBe('application/problem+json');
      expect(reply.json.attemptsLeft).toBe(allowed - attempt);
      expect(reply.json.reason).toBe(attempt < allowed ? 'wrong_code' : 'attempts_exhausted');
    }
    // Even the right code no longer works once attempts are exhausted.
    const right = await h.call<Problem>('POST', '/auth/otp/verify', { body: { email, code }, headers });
    expect(right.status).toBe(401);
    expect(right.json.reason).toBe('attempts_exhausted');
  });

  it('refuses an expired code (injected clock)', async () => {
    const email = freshEmail('expiry');
    const headers = ip();
    await h.call('POST', '/auth/otp/request', { body: { email }, headers });
    const code = h.secret(await latestCode(email));
    h.advance(h.config.auth.otp.expires_in_seconds + 1);
    try {
      const reply = await h.call<Problem>('POST', '/auth/otp/verify', { body: { email, code }, headers });
      expect(reply.status).toBe(401);
      expect(reply.json).toMatchObject({ code: 'unauthenticated', reason: 'expired' });
    } finally {
      h.advance(-(h.config.auth.otp.expires_in_seconds + 1));
    }
  });

  it('only honours the newest code of an address', async () => {
    const email = freshEmail('newest');
    const headers = ip();
    await h.call('POST', '/auth/otp/request', { body: { email }, headers });
    const first = h.secret(await latestCode(email));
    await h.call('POST', '/auth/otp/request', { body: { email }, headers });
    const second = h.secret(await latestCode(email));
    if (first !== second) {
      const old = await h.call('POST', '/auth/otp/verify', { body: { email, code: first }, headers });
      expect(old.status).toBe(401);
    }
    expect(
      h.disclosure(await h.call('POST', '/auth/otp/verify', { body: { email, code: second }, headers }))
        .status,
    ).toBe(200);
  });

  it('rate-limits code requests per email address', async () => {
    const email = freshEmail('flood');
    const limit = h.config.auth.otp.sends_per_hour;
    for (let i = 0; i < limit; i++)
      expect((await h.call('POST', '/auth/otp/request', { body: { email }, headers: ip() })).status).toBe(
        202,
      );
    const refused = await h.call<Problem>('POST', '/auth/otp/request', { body: { email }, headers: ip() });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.json.code).toBe('rate_limited');
  });

  it('validates the request body with per-field errors', async () => {
    const reply = await h.call<{ errors: { path: string }[] }>('POST', '/auth/otp/verify', {
      body: { email: 'not-an-email', code: 'abc', extra: 1 },
    });
    expect(reply.status).toBe(422);
    expect(reply.json.errors.map((e) => e.path).sort()).toEqual(['', 'code', 'email']);
  });

  it('refuses a login post from a foreign browser origin', async () => {
    const reply = await h.call('POST', '/auth/otp/request', {
      body: { email: freshEmail('csrf') },
      origin: 'https://evil.example',
    });
    expect(reply.status).toBe(403);
  });
});

describe('login sessions', () => {
  it('are revoked by logout and by revoking them from another session', async () => {
    const email = freshEmail('revoke');
    const laptop = await login(h, email);
    const phone = await login(h, email);
    const list = await h.call<{ items: { id: string; current: boolean }[] }>('GET', '/auth/sessions', {
      cookie: laptop,
    });
    expect(list.json.items.length).toBe(2);
    const phoneSession = list.json.items.find((s) => !s.current);
    expect((await h.call('DELETE', `/auth/sessions/${phoneSession?.id}`, { cookie: laptop })).status).toBe(
      200,
    );
    expect((await h.call('GET', '/me', { cookie: phone })).status).toBe(401);
    expect((await h.call('POST', '/auth/logout', { cookie: laptop })).status).toBe(200);
    expect((await h.call('GET', '/me', { cookie: laptop })).status).toBe(401);
  });

  it('refuse cookie-authenticated writes without a trusted Origin (CSRF)', async () => {
    const cookie = await login(h, freshEmail('csrf'));
    const body = { name: 'Acme', slug: `acme-${crypto.randomUUID().slice(0, 8)}` };
    expect((await h.call('POST', '/orgs', { cookie, body, origin: null })).status).toBe(403);
    expect((await h.call('POST', '/orgs', { cookie, body, origin: 'https://evil.example' })).status).toBe(
      403,
    );
    expect((await h.call('POST', '/orgs', { cookie, body })).status).toBe(201);
  });
});

describe('API tokens', () => {
  it('are shown once, act in their org only, record last use, and stop working when revoked', async () => {
    const cookie = await login(h, freshEmail('tokens'));
    const slug = (s: string) => `${s}-${crypto.randomUUID().slice(0, 8)}`;
    const org = await h.call<{ id: string }>('POST', '/orgs', {
      cookie,
      body: { name: 'Tok', slug: slug('tok') },
    });
    const other = await h.call<{ id: string }>('POST', '/orgs', {
      cookie,
      body: { name: 'Other', slug: slug('other') },
    });
    const created = h.disclosure(
      await h.call<{ token: string; apiToken: { id: string; displayPrefix: string } }>(
        'POST',
        `/orgs/${org.json.id}/tokens`,
        {
          cookie,
          body: { name: 'ci' },
        },
      ),
    );
    expect(created.status).toBe(201);
    const token = h.secret(created.json.token);
    expect(token).toMatch(/^alk_[A-Za-z0-9_-]{40,}$/);
    expect(token.startsWith(created.json.apiToken.displayPrefix)).toBe(true);

    const me = await h.call<{ via: string; tokenOrgId: string; memberships: { orgId: string }[] }>(
      'GET',
      '/me',
      { token },
    );
    expect(me.json).toMatchObject({ via: 'token', tokenOrgId: org.json.id });
    expect(me.json.memberships.map((m) => m.orgId)).toEqual([org.json.id]);
    expect((await h.call('GET', `/orgs/${org.json.id}/connections`, { token })).status).toBe(200);
    // The user owns the other org, but this token is not for it.
    expect((await h.call('GET', `/orgs/${other.json.id}/connections`, { token })).status).toBe(404);
    // Token management needs a login session.
    expect((await h.call('POST', `/orgs/${org.json.id}/tokens`, { token, body: { name: 'x' } })).status).toBe(
      403,
    );

    const listed = await h.call<{ items: { id: string; lastUsedAt: string | null }[] }>(
      'GET',
      `/orgs/${org.json.id}/tokens`,
      { cookie },
    );
    expect(listed.json.items[0]?.lastUsedAt).not.toBeNull();
    expect(listed.text).not.toContain(token);

    expect(
      (await h.call('DELETE', `/orgs/${org.json.id}/tokens/${created.json.apiToken.id}`, { cookie })).status,
    ).toBe(200);
    const after = await h.call<Problem>('GET', '/me', { token });
    expect(after.status).toBe(401);
    expect(after.json.detail).toContain('revoked');
    expect((await h.call('GET', '/me', { token: 'alk_not-a-real-token' })).status).toBe(401);
  });
});

describe('invites', () => {
  it('are accepted when the invited address next logs in', async () => {
    const owner = await login(h, freshEmail('owner'));
    const org = await h.call<{ id: string }>('POST', '/orgs', {
      cookie: owner,
      body: { name: 'Inv', slug: `inv-${crypto.randomUUID().slice(0, 8)}` },
    });
    const invitee = freshEmail('invitee');
    const invite = await h.call('POST', `/orgs/${org.json.id}/invites`, {
      cookie: owner,
      body: { email: invitee, role: 'admin' },
    });
    expect(invite.status).toBe(201);
    const cookie = await login(h, invitee);
    const me = await h.call<{ memberships: { orgId: string; role: string }[] }>('GET', '/me', { cookie });
    expect(me.json.memberships).toEqual([expect.objectContaining({ orgId: org.json.id, role: 'admin' })]);
    const open = await h.call<{ items: unknown[] }>('GET', `/orgs/${org.json.id}/invites`, { cookie: owner });
    expect(open.json.items).toEqual([]);
  });
});

async function mailsTo(email: string): Promise<number> {
  const messages = (await (await fetch(`${mailUrl()}/messages`)).json()) as { to: string[] }[];
  return messages.filter((m) => m.to.includes(email)).length;
}

describe('closed signup', () => {
  it('mails codes only to existing users and invitees, answering the same to everyone', async () => {
    const closed = new Harness({ AIRLOCK_AUTH_ALLOW_SIGNUP: 'false' });
    try {
      const stranger = freshEmail('stranger');
      const reply = await closed.call('POST', '/auth/otp/request', {
        body: { email: stranger },
        headers: ip(),
      });
      expect(reply.status).toBe(202);
      await expect(latestCode(stranger)).rejects.toThrow('no login code');
      const known = freshEmail('known');
      await login(h, known); // signs up while signup is open
      const before = await mailsTo(known);
      expect(
        (await closed.call('POST', '/auth/otp/request', { body: { email: known }, headers: ip() })).status,
      ).toBe(202);
      expect(await mailsTo(known)).toBe(before + 1);
      h.secret(await latestCode(known));
    } finally {
      await closed.close();
    }
  });
});
