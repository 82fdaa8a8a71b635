import { DEVICE_USER_CODE_ALPHABET } from '@airlock/schema/api';
import { apiTokens, memberships } from '@airlock/schema/db';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Granted, poll, randomIp, startLogin } from '../testing/device-login.ts';
import { Harness } from '../testing/harness.ts';
import { createWorld, type World } from '../testing/world.ts';

// Attacks on device-code login (ADR 0170), as an attacker would try them:
// replaying a used device code or user code, racing the redemption, approving
// for an org one does not belong to, making a victim's browser approve
// (CSRF), minting tokens with a token, brute-forcing user codes, and phishing
// with a code whose origin the approver cannot see.

const h = new Harness();
let home: World;
let foreign: World;
beforeAll(async () => {
  home = await createWorld(h);
  foreign = await createWorld(h);
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

async function approve(userCode: string, cookie: string, orgId: string) {
  return h.call<{ code: string }>('POST', '/auth/device/approve', { cookie, body: { userCode, orgId } });
}

async function tokensOf(userId: string): Promise<number> {
  return (await h.db().select({ id: apiTokens.id }).from(apiTokens).where(eq(apiTokens.userId, userId)))
    .length;
}

describe('device login attacks', () => {
  it('replay: a redeemed device code gets no second token, and its user code cannot be approved again', async () => {
    const started = await startLogin(h);
    expect((await approve(started.userCode, home.people.member.cookie, home.orgId)).status).toBe(200);
    const first = h.disclosure(await poll(h, started.deviceCode));
    expect(first.status).toBe(200);
    h.secret((first.json as Granted).token);
    const before = await tokensOf(home.people.member.userId);
    for (let i = 0; i < 3; i++) {
      const again = await poll(h, started.deviceCode);
      expect(again.status).toBe(400);
      expect(again.json.error).toBe('invalid_grant');
    }
    expect((await approve(started.userCode, home.people.member.cookie, home.orgId)).status).toBe(422);
    expect(await tokensOf(home.people.member.userId)).toBe(before);
  });

  it('race: of many simultaneous polls after approval, exactly one gets a token', async () => {
    const started = await startLogin(h);
    expect((await approve(started.userCode, home.people.admin.cookie, home.orgId)).status).toBe(200);
    const before = await tokensOf(home.people.admin.userId);
    h.advance(30);
    const replies = await Promise.all(
      Array.from({ length: 6 }, () =>
        h.call<Granted & { error?: string }>('POST', '/auth/device/token', {
          body: { deviceCode: started.deviceCode },
          headers: { 'cf-connecting-ip': randomIp() },
        }),
      ),
    );
    const granted = replies.filter((r) => r.status === 200);
    expect(granted).toHaveLength(1);
    for (const r of granted) h.secret(h.disclosure(r).json.token);
    expect(await tokensOf(home.people.admin.userId)).toBe(before + 1);
  });

  it('an org member cannot approve a login for an org they do not belong to (404), and the code stays usable', async () => {
    const started = await startLogin(h);
    const attempt = await approve(started.userCode, home.people.owner.cookie, foreign.orgId);
    expect(attempt.status).toBe(404);
    expect(attempt.text).not.toContain(foreign.people.owner.email);
    expect((await poll(h, started.deviceCode)).json.error).toBe('authorization_pending');
    // The honest approval still works, and the token acts in the approver's org only.
    expect((await approve(started.userCode, home.people.owner.cookie, home.orgId)).status).toBe(200);
    const granted = h.disclosure(await poll(h, started.deviceCode));
    const token = h.secret((granted.json as Granted).token);
    expect((await h.call('GET', `/orgs/${foreign.orgId}/connections`, { token })).status).toBe(404);
    expect((await h.call('GET', `/orgs/${home.orgId}/connections`, { token })).status).toBe(200);
  });

  it('an API token cannot approve a login (no token mints tokens), and a foreign page cannot make a browser approve', async () => {
    const started = await startLogin(h);
    const viaToken = await h.call('POST', '/auth/device/approve', {
      token: home.people.owner.token,
      body: { userCode: started.userCode, orgId: home.orgId },
    });
    expect(viaToken.status).toBe(403);
    for (const origin of ['https://evil.example', null]) {
      const csrf = await h.call('POST', '/auth/device/approve', {
        cookie: home.people.owner.cookie,
        origin,
        body: { userCode: started.userCode, orgId: home.orgId },
      });
      expect(csrf.status).toBe(403);
    }
    expect((await poll(h, started.deviceCode)).json.error).toBe('authorization_pending');
  });

  it('a login decided once cannot be flipped: deny after approve and approve after deny are refused', async () => {
    const started = await startLogin(h);
    const [a, b] = await Promise.all([
      approve(started.userCode, home.people.owner.cookie, home.orgId),
      h.call('POST', '/auth/device/deny', {
        cookie: home.people.admin.cookie,
        body: { userCode: started.userCode },
      }),
    ]);
    expect([a.status, b.status].filter((s) => s === 200)).toHaveLength(1);
    // The loser finds the code already decided (409) or already forgotten (422).
    expect([409, 422]).toContain(a.status === 200 ? b.status : a.status);
    const outcome = await poll(h, started.deviceCode);
    if (a.status === 200) {
      expect(outcome.status).toBe(200);
      h.secret(h.disclosure(outcome).json.token);
    } else expect(outcome.json.error).toBe('access_denied');
  });

  it('brute force: user codes carry ~34 bits, and guessing is cut off per user long before that matters', async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 12; i++) codes.add((await startLogin(h)).userCode);
    expect(codes.size).toBe(12);
    for (const code of codes)
      expect(code.replace('-', '')).toMatch(new RegExp(`^[${DEVICE_USER_CODE_ALPHABET}]{8}$`));
    expect(DEVICE_USER_CODE_ALPHABET.length ** 8).toBeGreaterThan(2 ** 34);

    // A fresh attacker (own org, own address) guesses; the right code is waiting all along.
    const attacker = (await createWorld(h)).people.member;
    const target = await startLogin(h);
    const guesses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const guess = `BBBB${DEVICE_USER_CODE_ALPHABET[i % 20]}BB${DEVICE_USER_CODE_ALPHABET[(i * 7) % 20]}`;
      if (guess === target.userCode.replace('-', '')) continue;
      const reply = await h.call('POST', '/auth/device/lookup', {
        cookie: attacker.cookie,
        body: { userCode: guess },
        headers: { 'cf-connecting-ip': randomIp() },
      });
      guesses.push(reply.status);
    }
    expect(guesses.slice(0, 20).every((s) => s === 422)).toBe(true);
    expect(guesses.slice(20).every((s) => s === 429)).toBe(true);
    // Once cut off, even the right code does not help this attacker.
    const right = await h.call('POST', '/auth/device/approve', {
      cookie: attacker.cookie,
      body: { userCode: target.userCode, orgId: home.orgId },
    });
    expect(right.status).toBe(429);
    expect((await poll(h, target.deviceCode)).json.error).toBe('authorization_pending');
  });

  it('phishing: the approver sees where the request came from, and whether that is their own address', async () => {
    const attackerIp = '198.51.100.66';
    const started = await startLogin(h, attackerIp, { name: 'airlock CLI', hostname: 'your-laptop' });
    const victimIp = '192.0.2.10';
    const info = await h.call<{ requestIp: string; sameIp: boolean; yourIp: string }>(
      'POST',
      '/auth/device/lookup',
      {
        cookie: home.people.member.cookie,
        body: { userCode: started.userCode },
        headers: { 'cf-connecting-ip': victimIp },
      },
    );
    expect(info.json).toMatchObject({ requestIp: attackerIp, yourIp: victimIp, sameIp: false });
    // The device code never leaves in anything but the start reply.
    expect(info.text).not.toContain(started.deviceCode);
  });

  it('phishing: a client cannot describe itself with control or direction-override characters', async () => {
    // U+202E flips the rest of the line on the approval page ("laptop" then reads otherwise);
    // an ANSI escape or a newline forges lines where the name is printed.
    for (const hostname of ['my\u202Epotpal', 'laptop\u001b[2K', 'laptop\nApproved by IT', 'lap\u200Btop']) {
      const reply = await h.call<{ errors: { path: string }[] }>('POST', '/auth/device', {
        body: { client: { name: 'airlock CLI', hostname } },
        headers: { 'cf-connecting-ip': randomIp() },
      });
      expect(reply.status, JSON.stringify(hostname)).toBe(422);
      expect(reply.json.errors.map((e) => e.path)).toEqual(['client.hostname']);
    }
    // Ordinary names in any script are fine.
    await startLogin(h, randomIp(), { name: 'airlock CLI', hostname: 'Jürgens-MacBook — büro' });
  });
});

describe('device login floods', () => {
  it('one address starting logins is cut off at 30 an hour (429 with Retry-After)', async () => {
    const ip = randomIp();
    for (let i = 0; i < 30; i++) await startLogin(h, ip);
    const refused = await h.call('POST', '/auth/device', {
      body: {},
      headers: { 'cf-connecting-ip': ip },
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another address is unaffected.
    await startLogin(h);
  });

  it('one address polling (made-up device codes included) is cut off at 120 a minute; a login from elsewhere still completes', async () => {
    const started = await startLogin(h);
    const ip = randomIp();
    const statuses: number[] = [];
    for (let round = 0; round < 11; round++) {
      const replies = await Promise.all(
        Array.from({ length: 11 }, () =>
          h.call('POST', '/auth/device/token', {
            body: { deviceCode: crypto.randomUUID() },
            headers: { 'cf-connecting-ip': ip },
          }),
        ),
      );
      statuses.push(...replies.map((r) => r.status));
    }
    expect(statuses.filter((s) => s === 400)).toHaveLength(120);
    expect(statuses.filter((s) => s === 429)).toHaveLength(1);
    // Even the real device code is refused from the flooding address…
    const flooded = await h.call<{ code: string }>('POST', '/auth/device/token', {
      body: { deviceCode: started.deviceCode },
      headers: { 'cf-connecting-ip': ip },
    });
    expect(flooded.status).toBe(429);
    // …while the honest CLI, elsewhere, gets its token.
    expect((await approve(started.userCode, home.people.admin.cookie, home.orgId)).status).toBe(200);
    const granted = h.disclosure(await poll(h, started.deviceCode));
    expect(granted.status).toBe(200);
    h.secret((granted.json as Granted).token);
  });

  it('guessing user codes from many accounts on one address is cut off at 60 checks an hour', async () => {
    const a = await createWorld(h);
    const b = await createWorld(h);
    const accounts = [a.people.owner, a.people.admin, a.people.member, b.people.owner];
    const ip = randomIp();
    const statuses: number[] = [];
    for (const account of accounts)
      for (let i = 0; i < 16; i++) {
        const reply = await h.call('POST', '/auth/device/lookup', {
          cookie: account.cookie,
          body: {
            userCode: `CCCC${DEVICE_USER_CODE_ALPHABET[i % 20]}CC${DEVICE_USER_CODE_ALPHABET[(i * 3) % 20]}`,
          },
          headers: { 'cf-connecting-ip': ip },
        });
        statuses.push(reply.status);
      }
    // Each account stays under its own 20, but the address is done after 60 in all.
    expect(statuses.slice(0, 60).every((s) => s === 422)).toBe(true);
    expect(statuses.slice(60).every((s) => s === 429)).toBe(true);
  });
});

describe('device login tokens', () => {
  it('the approver leaving the org before the CLI polls: no token (access_denied), nothing minted', async () => {
    const org = await createWorld(h);
    const leaver = org.people.member;
    const started = await startLogin(h);
    expect((await approve(started.userCode, leaver.cookie, org.orgId)).status).toBe(200);
    await h
      .db()
      .delete(memberships)
      .where(and(eq(memberships.orgId, org.orgId), eq(memberships.userId, leaver.userId)));
    const before = await tokensOf(leaver.userId);
    const outcome = await poll(h, started.deviceCode);
    expect(outcome.status).toBe(400);
    expect(outcome.json.error).toBe('access_denied');
    expect(await tokensOf(leaver.userId)).toBe(before);
    // And the code is spent: no retry after being re-added.
    expect((await poll(h, started.deviceCode)).json.error).toBe('invalid_grant');
  });

  it("the token carries the approver's role in that one org, no more, and dies after 90 days (401 problem+json)", async () => {
    const org = await createWorld(h);
    const started = await startLogin(h);
    expect((await approve(started.userCode, org.people.member.cookie, org.orgId)).status).toBe(200);
    const granted = h.disclosure(await poll(h, started.deviceCode));
    const token = h.secret((granted.json as Granted).token);
    expect((await h.call('GET', `/orgs/${org.orgId}/profiles`, { token })).status).toBe(200);
    // A member may not invite; neither may the member's CLI.
    const invite = await h.call('POST', `/orgs/${org.orgId}/invites`, {
      token,
      body: { email: `x-${crypto.randomUUID().slice(0, 8)}@world.test`, role: 'admin' },
    });
    expect(invite.status).toBe(403);
    h.advance(89 * 86_400);
    expect((await h.call('GET', '/me', { token })).status).toBe(200);
    h.advance(2 * 86_400);
    const expired = await h.call<{ detail: string }>('GET', '/me', { token });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('content-type')).toBe('application/problem+json');
    expect(expired.json.detail).toMatch(/expired/);
  });
});
