import type { Role } from '@airlock/schema/api';
import type { ApiRoute } from '../route.ts';
import type { World } from './world.ts';

// How to aim a request at each route of the registry: a value for every path
// parameter, a valid body for every route that takes one, and the success
// status a valid request gets. Shared by the authorization matrix and the
// OpenAPI contract test, so a new route is taught to both in one place.

export const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;
const unique = () => crypto.randomUUID().slice(0, 8);

/** How each path parameter is filled, from a world and the calling role. */
export const PARAMS: Readonly<Record<string, (w: World, role: Role) => string>> = {
  orgId: (w) => w.orgId,
  connectionId: (w) => w.connectionId,
  profileId: (w) => w.profileId,
  versionId: (w) => w.publishedVersionId,
  snapshotId: (w) => w.snapshotId,
  sessionId: (w) => w.sessionId,
  runnerId: (w) => w.runnerId,
  triggerId: (w) => w.triggerId,
  deliveryId: (w) => w.deliveryId,
  inviteId: (w) => w.inviteId,
  memberId: (w) => w.people.member.membershipId,
  tokenId: (w, role) => w.people[role].tokenId,
  loginSessionId: (w, role) => w.people[role].loginSessionId,
};

/** Routes that act on the draft rather than the published version. */
const DRAFT_ROUTES = new Set([
  routeKey('patch', '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}'),
  routeKey('post', '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}/publish'),
  routeKey('post', '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}/setup-tests'),
]);

/** A valid body for every route that takes one. */
export const BODIES: Readonly<Record<string, (w: World) => unknown>> = {
  [routeKey('post', '/auth/otp/request')]: () => ({ email: `m-${unique()}@example.test` }),
  [routeKey('post', '/auth/otp/verify')]: () => ({ email: `m-${unique()}@example.test`, code: '000000' }),
  [routeKey('post', '/orgs')]: () => ({ name: 'New', slug: `new-${unique()}` }),
  [routeKey('post', '/auth/device')]: () => ({ client: { name: 'matrix' } }),
  [routeKey('post', '/auth/device/token')]: () => ({ deviceCode: `unknown-device-code-${unique()}` }),
  [routeKey('post', '/auth/device/lookup')]: () => ({ userCode: 'BCDF-GHJK' }),
  [routeKey('post', '/auth/device/approve')]: (w) => ({ userCode: 'BCDF-GHJK', orgId: w.orgId }),
  [routeKey('post', '/auth/device/deny')]: () => ({ userCode: 'BCDF-GHJK' }),
  [routeKey('patch', '/orgs/{orgId}')]: () => ({ name: 'Renamed' }),
  [routeKey('patch', '/orgs/{orgId}/members/{memberId}')]: () => ({ role: 'admin' }),
  [routeKey('post', '/orgs/{orgId}/invites')]: () => ({
    email: `i-${unique()}@example.test`,
    role: 'member',
  }),
  [routeKey('post', '/orgs/{orgId}/tokens')]: () => ({ name: 'cli' }),
  [routeKey('post', '/orgs/{orgId}/connections')]: () => ({
    integration: 'anthropic',
    name: `Anthropic ${unique()}`,
    credentials: { api_key: 'sk-ant-matrix-0000' },
  }),
  [routeKey('patch', '/orgs/{orgId}/connections/{connectionId}')]: () => ({ name: `Renamed ${unique()}` }),
  [routeKey('post', '/orgs/{orgId}/profiles')]: () => ({ name: `Profile ${unique()}` }),
  [routeKey('patch', '/orgs/{orgId}/profiles/{profileId}')]: () => ({ description: 'changed' }),
  [routeKey('patch', '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}')]: () => ({
    setupScript: 'echo hi',
  }),
  [routeKey('post', '/orgs/{orgId}/sessions')]: (w) => ({ profileId: w.profileId }),
  [routeKey('post', '/orgs/{orgId}/sessions/{sessionId}/pty-token')]: () => ({ mode: 'ro' }),
  [routeKey('post', '/orgs/{orgId}/sessions/{sessionId}/terminals')]: () => ({ terminal: 'shell' }),
  [routeKey('post', '/orgs/{orgId}/runners')]: () => ({ name: `runner-${unique()}` }),
  [routeKey('post', '/orgs/{orgId}/triggers')]: (w) => ({
    kind: 'schedule',
    name: `t-${unique()}`,
    profileId: w.profileId,
    config: { cron: '*/5 * * * *', timezone: 'Europe/Berlin', promptTemplate: 'Check' },
  }),
  [routeKey('patch', '/orgs/{orgId}/triggers/{triggerId}')]: () => ({ enabled: false }),
  [routeKey('post', '/orgs/{orgId}/triggers/{triggerId}/test-event')]: () => ({}),
  [routeKey('post', '/orgs/{orgId}/triggers/{triggerId}/preview')]: () => ({
    promptTemplate: 'At {{ schedule.time }}',
  }),
  [routeKey('post', '/orgs/{orgId}/trigger-preview')]: () => ({
    kind: 'schedule',
    config: { cron: '0 9 * * MON', timezone: 'UTC', promptTemplate: 'Weekly at {{ schedule.local }}' },
  }),
  [routeKey('post', '/orgs/{orgId}/triggers/{triggerId}/secret')]: () => ({ graceSeconds: 0 }),
};

/**
 * Routes whose valid sample does not get the documented success status in a
 * seeded world, and what it gets instead, with the reason.
 */
export const SAMPLE_OUTCOMES: Readonly<Record<string, { status: number; why: string }>> = {
  [routeKey('post', '/auth/otp/verify')]: { status: 401, why: 'the sample code was never mailed' },
  [routeKey('post', '/auth/device/token')]: {
    status: 400,
    why: 'the sample device code was never issued (`invalid_grant`, as RFC 8628 answers)',
  },
  [routeKey('post', '/auth/device/lookup')]: { status: 422, why: 'the sample user code was never issued' },
  [routeKey('post', '/auth/device/approve')]: { status: 422, why: 'the sample user code was never issued' },
  [routeKey('post', '/auth/device/deny')]: { status: 422, why: 'the sample user code was never issued' },
  [routeKey('delete', '/orgs/{orgId}/connections/{connectionId}')]: {
    status: 409,
    why: "the world's profile versions use its one connection (revoking is the way out)",
  },
  [routeKey('post', '/orgs/{orgId}/profiles/{profileId}/versions/{versionId}/setup-tests')]: {
    status: 409,
    why: "the world's draft has no setup script to test",
  },
  [routeKey('post', '/orgs/{orgId}/triggers/{triggerId}/secret')]: {
    status: 409,
    why: "the world's trigger is a schedule without a callback URL, which has no secret to rotate",
  },
  [routeKey('post', '/orgs/{orgId}/sessions/{sessionId}/terminals')]: {
    status: 409,
    why: 'the seeded session has no sandbox behind its gateway',
  },
};

export interface Target {
  readonly method: string;
  readonly path: string;
  readonly key: string;
  readonly hasBody: boolean;
  /** The status a valid request by an allowed caller gets. */
  readonly success: number;
}

export function targetOf(route: ApiRoute): Target {
  const key = routeKey(route.route.method, route.route.path);
  const documented = Object.keys(route.route.responses)
    .map(Number)
    .filter((status) => status >= 200 && status < 300);
  const outcome = Object.hasOwn(SAMPLE_OUTCOMES, key) ? SAMPLE_OUTCOMES[key] : undefined;
  if (documented.length !== 1 && outcome === undefined)
    throw new Error(`${key} documents ${documented.length} success statuses; say which in SAMPLE_OUTCOMES`);
  return {
    method: route.route.method.toUpperCase(),
    path: route.route.path,
    key,
    hasBody: route.route.request?.body !== undefined,
    success: outcome?.status ?? documented[0] ?? 200,
  };
}

/** The target's path with its parameters filled; `resources` may be another org's world. */
export function urlOf(target: Target, world: World, role: Role, resources: World = world): string {
  return target.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const fill = PARAMS[name];
    if (fill === undefined) throw new Error(`no way to fill {${name}} of ${target.key}; add it to PARAMS`);
    if (name === 'versionId' && DRAFT_ROUTES.has(target.key)) return resources.draftVersionId;
    return fill(name === 'orgId' ? world : resources, role);
  });
}
