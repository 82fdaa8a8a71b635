import {
  can,
  DEVICE_USER_CODE_ALPHABET,
  DEVICE_USER_CODE_LENGTH,
  type DeviceTokenErrorCode,
  formatUserCode,
} from '@airlock/schema/api';
import { apiTokens, memberships, users } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { and, eq } from 'drizzle-orm';
import type { RequestScope } from '../../lib/context.ts';
import { ProblemError } from '../../lib/problem.ts';
import { clientIp, enforceRateLimit } from '../../lib/rate-limit.ts';
import { HASH_PURPOSE, hashSecret, randomSecret } from '../../lib/secret-hash.ts';
import { recordAudit } from '../audit/record.ts';
import { API_TOKEN_PREFIX } from '../auth/credentials.ts';
import type { Principal } from '../env.ts';
import { validationProblem } from '../validation.ts';

// Device-code login (RFC 8628 semantics; ADR 0170), kept in Redis: a pending
// request lives as long as its codes (minutes), under the HMACs of its device
// code and user code — never the codes. The decision (approve for one org, or
// deny) is written once with SET NX, the token is minted once (a second SET NX
// marks the device code redeemed), and the user code is forgotten as soon as
// it is decided, so neither code can be replayed.

export const DEVICE_CODE_TTL_SECONDS = 600;
export const DEVICE_POLL_INTERVAL_SECONDS = 5;
/** RFC 8628 §3.5: each slow_down adds 5 seconds to the interval. */
const SLOW_DOWN_STEP_SECONDS = 5;
/** An API token from a device login expires; the CLI logs in again. */
export const DEVICE_TOKEN_DAYS = 90;
/** Redis keeps a record a little past its expiry, so a late poll hears `expired_token`. */
const KEEP_SECONDS = DEVICE_CODE_TTL_SECONDS + 300;
const HOUR = 3600;

interface DeviceRecord {
  readonly userCodeHash: string;
  readonly client: {
    readonly name: string;
    readonly version: string | null;
    readonly hostname: string | null;
    readonly platform: string | null;
  };
  readonly requestIp: string;
  readonly requestUserAgent: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly interval: number;
  readonly lastPollAt: number | null;
}

type Decision =
  | { readonly decision: 'approved'; readonly userId: string; readonly orgId: string }
  | { readonly decision: 'denied'; readonly userId: string };

function keys(scope: RequestScope, deviceCodeHash: string) {
  const kv = scope.kv();
  return {
    request: kv.key('device', 'req', deviceCodeHash),
    decision: kv.key('device', 'decision', deviceCodeHash),
    redeemed: kv.key('device', 'redeemed', deviceCodeHash),
  };
}
const userCodeKey = (scope: RequestScope, userCodeHash: string) =>
  scope.kv().key('device', 'user', userCodeHash);

/** Uniform over the alphabet: bytes ≥ 240 (12 × 20) are rejected, so there is no modulo bias. */
function randomUserCode(): string {
  const span = DEVICE_USER_CODE_ALPHABET.length;
  const cutoff = 256 - (256 % span);
  let out = '';
  while (out.length < DEVICE_USER_CODE_LENGTH)
    for (const byte of crypto.getRandomValues(new Uint8Array(DEVICE_USER_CODE_LENGTH * 2)))
      if (byte < cutoff && out.length < DEVICE_USER_CODE_LENGTH)
        out += DEVICE_USER_CODE_ALPHABET[byte % span];
  return out;
}

export interface StartedDeviceLogin {
  readonly deviceCode: string;
  readonly userCode: string;
  readonly expiresIn: number;
  readonly interval: number;
}

export async function startDeviceLogin(
  scope: RequestScope,
  client: {
    name: string;
    version?: string | undefined;
    hostname?: string | undefined;
    platform?: string | undefined;
  },
  headers: Headers,
): Promise<StartedDeviceLogin> {
  const config = scope.config();
  const ip = clientIp(headers);
  await enforceRateLimit(
    scope,
    { name: 'device-start-ip', limit: 30, windowSeconds: HOUR },
    ip,
    'CLI logins from this address',
  );
  const redis = scope.kv().redis;
  const now = scope.now().getTime();
  const deviceCode = randomSecret(32);
  const deviceCodeHash = await hashSecret(config.auth.pepper, HASH_PURPOSE.deviceCode, deviceCode);
  // A user code must name one pending request: claim it with NX, drawing again on the rare clash.
  for (let attempt = 0; attempt < 5; attempt++) {
    const userCode = randomUserCode();
    const userCodeHash = await hashSecret(config.auth.pepper, HASH_PURPOSE.deviceUserCode, userCode);
    const claimed = await redis.set(userCodeKey(scope, userCodeHash), deviceCodeHash, {
      nx: true,
      ex: KEEP_SECONDS,
    });
    if (claimed !== 'OK') continue;
    const record: DeviceRecord = {
      userCodeHash,
      client: {
        name: client.name,
        version: client.version ?? null,
        hostname: client.hostname ?? null,
        platform: client.platform ?? null,
      },
      requestIp: ip,
      requestUserAgent: headers.get('user-agent')?.slice(0, 200) ?? null,
      createdAt: now,
      expiresAt: now + DEVICE_CODE_TTL_SECONDS * 1000,
      interval: DEVICE_POLL_INTERVAL_SECONDS,
      lastPollAt: null,
    };
    await redis.set(keys(scope, deviceCodeHash).request, JSON.stringify(record), { ex: KEEP_SECONDS });
    return {
      deviceCode,
      userCode: formatUserCode(userCode),
      expiresIn: DEVICE_CODE_TTL_SECONDS,
      interval: DEVICE_POLL_INTERVAL_SECONDS,
    };
  }
  throw new ProblemError('unavailable', 'Could not allocate a login code; try again.');
}

function tokenError(error: DeviceTokenErrorCode, detail: string, extensions: Record<string, unknown> = {}) {
  return new ProblemError('bad_request', detail, { extensions: { error, ...extensions } });
}

async function readRecord(scope: RequestScope, key: string): Promise<DeviceRecord | null> {
  const raw = await scope.kv().redis.get<string>(key);
  return raw === null ? null : (JSON.parse(raw) as DeviceRecord);
}

export interface RedeemedDeviceLogin {
  readonly token: string;
  readonly row: typeof apiTokens.$inferSelect;
  readonly email: string;
}

/** The CLI's poll: pending, slow down, denied, expired, or — once — the API token. */
export async function pollDeviceLogin(
  scope: RequestScope,
  deviceCode: string,
  headers: Headers,
): Promise<RedeemedDeviceLogin> {
  const config = scope.config();
  await enforceRateLimit(
    scope,
    { name: 'device-poll-ip', limit: 120, windowSeconds: 60 },
    clientIp(headers),
    'login polls from this address',
  );
  const redis = scope.kv().redis;
  const now = scope.now().getTime();
  const k = keys(scope, await hashSecret(config.auth.pepper, HASH_PURPOSE.deviceCode, deviceCode));
  const record = await readRecord(scope, k.request);
  if (record === null)
    throw tokenError('invalid_grant', 'Unknown or already used device code; log in again.');
  if (record.expiresAt <= now) throw tokenError('expired_token', 'The login code has expired; log in again.');
  if (record.lastPollAt !== null && now - record.lastPollAt < record.interval * 1000) {
    const interval = record.interval + SLOW_DOWN_STEP_SECONDS;
    await redis.set(k.request, JSON.stringify({ ...record, interval, lastPollAt: now }), { keepTtl: true });
    throw tokenError('slow_down', `Polling too fast; wait ${interval} s between polls.`, { interval });
  }
  await redis.set(k.request, JSON.stringify({ ...record, lastPollAt: now }), { keepTtl: true });
  const rawDecision = await redis.get<string>(k.decision);
  if (rawDecision === null)
    throw tokenError('authorization_pending', 'Waiting for the login to be approved in the dashboard.', {
      interval: record.interval,
    });
  const decision = JSON.parse(rawDecision) as Decision;
  if (decision.decision === 'denied')
    throw tokenError('access_denied', 'The login was denied in the dashboard.');
  // Single use: only the first poll after approval gets a token.
  const first = await redis.set(k.redeemed, '1', { nx: true, ex: KEEP_SECONDS });
  if (first !== 'OK') throw tokenError('invalid_grant', 'This device code was already used; log in again.');
  await redis.del(k.request, k.decision, userCodeKey(scope, record.userCodeHash));
  return mintToken(scope, decision, record);
}

async function mintToken(
  scope: RequestScope,
  decision: Extract<Decision, { decision: 'approved' }>,
  record: DeviceRecord,
): Promise<RedeemedDeviceLogin> {
  const config = scope.config();
  const db = scope.db();
  const now = scope.now();
  // The approver may have left the org (or lost the right) since approving.
  const [member] = await db
    .select({ role: memberships.role, email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, decision.orgId), eq(memberships.userId, decision.userId)));
  if (member === undefined || !can(member.role, 'tokens.own'))
    throw tokenError('access_denied', 'The approver can no longer create tokens in that org.');
  const token = `${API_TOKEN_PREFIX}${randomSecret(32)}`;
  const id = newId('apiToken', now.getTime());
  const name =
    `${record.client.name}${record.client.hostname === null ? '' : ` on ${record.client.hostname}`}`.slice(
      0,
      100,
    );
  const row = await db.transaction(async (tx) => {
    const [created] = await tx
      .insert(apiTokens)
      .values({
        id,
        orgId: decision.orgId,
        userId: decision.userId,
        name,
        displayPrefix: token.slice(0, 12),
        tokenHash: await hashSecret(config.auth.pepper, HASH_PURPOSE.apiToken, token),
        createdAt: now,
        expiresAt: new Date(now.getTime() + DEVICE_TOKEN_DAYS * 86_400_000),
      })
      .returning();
    await recordAudit(
      tx,
      {
        orgId: decision.orgId,
        action: 'token.created',
        principal: null,
        targetId: id,
        detail: { name, via: 'device', requestIp: record.requestIp, approvedBy: decision.userId },
      },
      now,
    );
    return created;
  });
  if (row === undefined) throw new Error('token insert returned nothing');
  return { token, row, email: member.email };
}

/** Brute-forcing user codes costs a logged-in user: every check counts, per user and per address. */
async function limitChecks(scope: RequestScope, principal: Principal, headers: Headers): Promise<void> {
  await enforceRateLimit(
    scope,
    { name: 'device-check-user', limit: 20, windowSeconds: HOUR },
    principal.userId,
    'login code checks by you',
  );
  await enforceRateLimit(
    scope,
    { name: 'device-check-ip', limit: 60, windowSeconds: HOUR },
    clientIp(headers),
    'login code checks from this address',
  );
}

interface Pending {
  readonly deviceCodeHash: string;
  readonly record: DeviceRecord;
  readonly userCodeHash: string;
}

/** The pending request a user code names, or a 422 on the field (unknown, decided and expired look alike). */
async function findPending(scope: RequestScope, userCode: string): Promise<Pending> {
  const config = scope.config();
  const userCodeHash = await hashSecret(config.auth.pepper, HASH_PURPOSE.deviceUserCode, userCode);
  const unknown = validationProblem([
    {
      path: 'userCode',
      message:
        'no CLI login is waiting for this code (it may have expired or been used); run `airlock login` again',
      code: 'unknown_user_code',
    },
  ]);
  const deviceCodeHash = await scope.kv().redis.get<string>(userCodeKey(scope, userCodeHash));
  if (deviceCodeHash === null) throw unknown;
  const record = await readRecord(scope, keys(scope, deviceCodeHash).request);
  if (record === null || record.expiresAt <= scope.now().getTime() || record.userCodeHash !== userCodeHash)
    throw unknown;
  return { deviceCodeHash, record, userCodeHash };
}

export async function describeDeviceLogin(
  scope: RequestScope,
  principal: Principal,
  userCode: string,
  headers: Headers,
) {
  await limitChecks(scope, principal, headers);
  const { record } = await findPending(scope, userCode);
  const yourIp = clientIp(headers);
  return {
    userCode: formatUserCode(userCode),
    client: record.client,
    requestIp: record.requestIp,
    requestUserAgent: record.requestUserAgent,
    yourIp,
    sameIp: yourIp === record.requestIp,
    createdAt: new Date(record.createdAt).toISOString(),
    expiresAt: new Date(record.expiresAt).toISOString(),
    tokenExpiresInDays: DEVICE_TOKEN_DAYS,
  };
}

/** Approve for `orgId` (where the caller may own tokens) or deny; decided once. */
export async function decideDeviceLogin(
  scope: RequestScope,
  principal: Principal,
  input: { userCode: string; approve: { orgId: string } | null },
  headers: Headers,
): Promise<{ decision: 'approved' | 'denied'; orgId: string | null }> {
  await limitChecks(scope, principal, headers);
  const pending = await findPending(scope, input.userCode);
  let decision: Decision;
  if (input.approve !== null) {
    const orgId = input.approve.orgId;
    // Only tokens.own in an org the caller belongs to; a foreign org is 404, as everywhere.
    const [membership] = await scope
      .db()
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, principal.userId)));
    if (membership === undefined) throw new ProblemError('not_found', `No org ${orgId} among yours.`);
    if (!can(membership.role, 'tokens.own'))
      throw new ProblemError('forbidden', `Your role (${membership.role}) may not create API tokens there.`);
    decision = { decision: 'approved', userId: principal.userId, orgId };
  } else decision = { decision: 'denied', userId: principal.userId };
  const redis = scope.kv().redis;
  const k = keys(scope, pending.deviceCodeHash);
  const set = await redis.set(k.decision, JSON.stringify(decision), { nx: true, ex: KEEP_SECONDS });
  if (set !== 'OK') throw new ProblemError('conflict', 'This CLI login was already approved or denied.');
  await redis.del(userCodeKey(scope, pending.userCodeHash));
  scope.log.info('device login decided', {
    decision: decision.decision,
    requestIp: pending.record.requestIp,
  });
  if (decision.decision === 'approved')
    await recordAudit(
      scope.db(),
      {
        orgId: decision.orgId,
        action: 'device.approved',
        principal,
        detail: {
          client: pending.record.client.name,
          hostname: pending.record.client.hostname,
          requestIp: pending.record.requestIp,
        },
      },
      scope.now(),
    );
  return { decision: decision.decision, orgId: decision.decision === 'approved' ? decision.orgId : null };
}
