import { invites, loginSessions, memberships, otpChallenges, users } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, desc, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import type { RequestScope } from '../../lib/context.ts';
import { createMailer, MailError } from '../../lib/mail.ts';
import { ProblemError } from '../../lib/problem.ts';
import { clientIp, enforceRateLimit } from '../../lib/rate-limit.ts';
import {
  constantTimeEqual,
  HASH_PURPOSE,
  hashSecret,
  randomDigits,
  randomSecret,
} from '../../lib/secret-hash.ts';

// Email one-time-code login. A code is stored only as an HMAC bound to its
// challenge id; each challenge allows `auth.otp.allowed_attempts` checks
// (counted atomically in Postgres), and requests and checks are also rate
// limited per email and per IP in Redis. Success consumes the code once,
// creates the user on first login, accepts open invites, and opens an opaque
// login session whose cookie value is stored only as a hash.

const HOUR = 3600;

async function codeHash(pepper: string, challengeId: string, code: string): Promise<string> {
  return hashSecret(pepper, HASH_PURPOSE.otp, `${challengeId}:${code}`);
}

export async function requestCode(scope: RequestScope, email: string, headers: Headers): Promise<void> {
  const config = scope.config();
  const ip = clientIp(headers);
  await enforceRateLimit(
    scope,
    { name: 'otp-send-email', limit: config.auth.otp.sends_per_hour, windowSeconds: HOUR },
    email,
    'login codes for this address',
  );
  await enforceRateLimit(
    scope,
    { name: 'otp-send-ip', limit: config.limits.otp_sends_per_ip_per_hour, windowSeconds: HOUR },
    ip,
    'login codes from this address',
  );
  const db = scope.db();
  if (!config.auth.allow_signup) {
    // Answer the same either way, so the endpoint does not reveal who has an account.
    const [known] = await db
      .select({ id: users.id })
      .from(users)
      .where(eq(users.email, email))
      .union(
        db
          .select({ id: invites.id })
          .from(invites)
          .where(and(eq(invites.email, email), isNull(invites.acceptedAt), isNull(invites.revokedAt))),
      )
      .limit(1);
    if (known === undefined) {
      scope.log.info('login code not sent: signup is closed');
      return;
    }
  }
  const now = scope.now();
  const id = newId('otp', now.getTime());
  const code = randomDigits(config.auth.otp.length);
  // Only the newest code of an address is valid.
  await db
    .update(otpChallenges)
    .set({ consumedAt: now })
    .where(and(eq(otpChallenges.email, email), isNull(otpChallenges.consumedAt)));
  await db.insert(otpChallenges).values({
    id,
    email,
    codeHash: await codeHash(config.auth.pepper, id, code),
    expiresAt: new Date(now.getTime() + config.auth.otp.expires_in_seconds * 1000),
    requestIp: ip,
    createdAt: now,
  });
  const minutes = Math.round(config.auth.otp.expires_in_seconds / 60);
  try {
    await createMailer(config, scope.log).send({
      to: email,
      subject: `Your Airlock login code: ${code}`,
      text: `Your Airlock login code is ${code}\n\nIt expires in ${minutes} minutes. If you did not ask for it, ignore this mail.\n`,
    });
  } catch (error) {
    await db.delete(otpChallenges).where(eq(otpChallenges.id, id));
    if (error instanceof MailError)
      throw new ProblemError('unavailable', 'The login code could not be sent; try again shortly.');
    throw error;
  }
}

type Reason = 'no_code' | 'expired' | 'wrong_code' | 'attempts_exhausted';

function refused(reason: Reason, detail: string, extensions: Record<string, unknown> = {}): ProblemError {
  return new ProblemError('unauthenticated', detail, { extensions: { reason, ...extensions } });
}

export interface LoginOutcome {
  readonly userId: string;
  readonly loginSessionId: string;
  /** The cookie value; returned to the browser once, stored only as a hash. */
  readonly cookie: string;
  readonly expiresAt: Date;
}

export async function verifyCode(
  scope: RequestScope,
  email: string,
  code: string,
  headers: Headers,
): Promise<LoginOutcome> {
  const config = scope.config();
  const ip = clientIp(headers);
  const perHour = config.limits.otp_verifies_per_hour;
  await enforceRateLimit(
    scope,
    { name: 'otp-verify-email', limit: perHour, windowSeconds: HOUR },
    email,
    'code checks for this address',
  );
  await enforceRateLimit(
    scope,
    { name: 'otp-verify-ip', limit: perHour, windowSeconds: HOUR },
    ip,
    'code checks from this address',
  );
  const db = scope.db();
  const now = scope.now();
  const allowed = config.auth.otp.allowed_attempts;
  const [challenge] = await db
    .select()
    .from(otpChallenges)
    .where(and(eq(otpChallenges.email, email), isNull(otpChallenges.consumedAt)))
    .orderBy(desc(otpChallenges.createdAt))
    .limit(1);
  if (challenge === undefined)
    throw refused('no_code', 'No login code is pending for this address; request one.');
  if (challenge.expiresAt <= now) throw refused('expired', 'The login code has expired; request a new one.');
  // Count the attempt before comparing, atomically, so parallel guesses cannot exceed the allowance.
  const [counted] = await db
    .update(otpChallenges)
    .set({ attempts: sql`${otpChallenges.attempts} + 1` })
    .where(
      and(
        eq(otpChallenges.id, challenge.id),
        lt(otpChallenges.attempts, allowed),
        isNull(otpChallenges.consumedAt),
      ),
    )
    .returning({ attempts: otpChallenges.attempts });
  if (counted === undefined)
    throw refused('attempts_exhausted', 'Too many wrong codes; request a new one.', { attemptsLeft: 0 });
  const expected = await codeHash(config.auth.pepper, challenge.id, code);
  if (!constantTimeEqual(expected, challenge.codeHash)) {
    const left = allowed - counted.attempts;
    throw left > 0
      ? refused('wrong_code', `That code is not right; ${left} attempt${left === 1 ? '' : 's'} left.`, {
          attemptsLeft: left,
        })
      : refused(
          'attempts_exhausted',
          'That code is not right, and no attempts are left; request a new one.',
          {
            attemptsLeft: 0,
          },
        );
  }
  const [consumed] = await db
    .update(otpChallenges)
    .set({ consumedAt: now })
    .where(
      and(
        eq(otpChallenges.id, challenge.id),
        isNull(otpChallenges.consumedAt),
        gt(otpChallenges.expiresAt, now),
      ),
    )
    .returning({ id: otpChallenges.id });
  if (consumed === undefined) throw refused('no_code', 'That code was already used; request a new one.');

  const cookie = randomSecret(32);
  const tokenHash = await hashSecret(config.auth.pepper, HASH_PURPOSE.session, cookie);
  const expiresAt = new Date(now.getTime() + config.auth.session.ttl_seconds * 1000);
  const loginSessionId = newId('loginSession', now.getTime());
  const userId = await db.transaction(async (tx) => {
    await tx
      .insert(users)
      .values({ id: newId('user', now.getTime()), email, createdAt: now })
      .onConflictDoNothing({ target: users.email });
    const [user] = await tx
      .update(users)
      .set({ lastLoginAt: now })
      .where(eq(users.email, email))
      .returning({ id: users.id });
    if (user === undefined) throw new Error('user row vanished during login');
    // Accept every open invite of this address.
    const open = await tx
      .update(invites)
      .set({ acceptedAt: now })
      .where(and(eq(invites.email, email), isNull(invites.acceptedAt), isNull(invites.revokedAt)))
      .returning({ orgId: invites.orgId, role: invites.role });
    for (const invite of open)
      await tx
        .insert(memberships)
        .values({
          id: newId('membership', now.getTime()),
          orgId: invite.orgId,
          userId: user.id,
          role: invite.role,
          createdAt: now,
        })
        .onConflictDoNothing();
    await tx.insert(loginSessions).values({
      id: loginSessionId,
      userId: user.id,
      tokenHash,
      userAgent: headers.get('user-agent')?.slice(0, 300) ?? null,
      ip,
      createdAt: now,
      lastSeenAt: now,
      expiresAt,
    });
    return user.id;
  });
  return { userId, loginSessionId, cookie, expiresAt };
}
