import type { Me, Permission, Role } from '@airlock/schema/api';
import { can } from '@airlock/schema/api';
import { queryOptions, useQuery } from '@tanstack/react-query';
import { useParams } from '@tanstack/react-router';
import { ApiError } from './client.ts';
import { api } from './endpoints.ts';

// Who is logged in, and their role in the org of the current page. The role
// comes from the same permission table the API enforces, so the dashboard
// hides what a role cannot do instead of letting it fail.

export const meQuery = queryOptions({
  queryKey: ['me'],
  queryFn: () => api.me(),
  staleTime: 30_000,
  retry: (count, error) => !(error instanceof ApiError && error.status === 401) && count < 2,
});

export interface OrgContext {
  readonly orgId: string;
  readonly orgName: string;
  readonly role: Role;
  readonly me: Me;
  readonly can: (permission: Permission) => boolean;
}

export function useOrg(): OrgContext {
  const { orgId } = useParams({ strict: false }) as { orgId?: string };
  const me = useQuery(meQuery).data;
  const membership = me?.memberships.find((m) => m.orgId === orgId);
  if (me === undefined || membership === undefined || orgId === undefined)
    throw new Error('useOrg is used outside an org page whose membership was checked');
  return {
    orgId,
    orgName: membership.orgName,
    role: membership.role,
    me,
    can: (permission) => can(membership.role, permission),
  };
}
