import type { Role } from '@airlock/schema/api';
import type { RequestScope } from '../lib/context.ts';
import type { Env } from '../lib/env.ts';

// What a control-plane handler sees besides the request scope: who is
// calling (set by the access middleware) and, on org routes, their membership.

export interface Principal {
  readonly userId: string;
  readonly email: string;
  readonly via: 'session' | 'token';
  readonly loginSessionId: string | null;
  readonly tokenId: string | null;
  /** An API token acts only inside the org it was created for. */
  readonly tokenOrgId: string | null;
}

export interface OrgMember {
  readonly orgId: string;
  readonly membershipId: string;
  readonly role: Role;
}

export interface ApiEnv {
  Bindings: Env;
  Variables: { scope: RequestScope; principal: Principal; member: OrgMember };
}

/** Dates leave the API as RFC 3339 strings. */
export function iso(date: Date): string;
export function iso(date: Date | null): string | null;
export function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

/** The acting user/token, as audit events and `created_by` columns record it. */
export function actorOf(principal: Principal): { actorUserId: string; actorTokenId: string | null } {
  return { actorUserId: principal.userId, actorTokenId: principal.tokenId };
}
