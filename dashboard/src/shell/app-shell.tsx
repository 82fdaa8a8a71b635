import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, Outlet, useNavigate, useRouterState } from '@tanstack/react-router';
import { api } from '../api/endpoints.ts';
import { meQuery, useOrg } from '../api/session.ts';
import { Button } from '../ui/button.tsx';

// The frame of every org page: a skip link, the navigation (only what the
// role may see), the org switcher and the user's menu.

const NAV = [
  { to: '/orgs/$orgId', label: 'Overview', exact: true },
  { to: '/orgs/$orgId/sessions', label: 'Sessions', permission: 'sessions.read' },
  { to: '/orgs/$orgId/profiles', label: 'Profiles', permission: 'profiles.read' },
  { to: '/orgs/$orgId/connections', label: 'Connections', permission: 'connections.read' },
  { to: '/orgs/$orgId/audit', label: 'Audit', permission: 'audit.read' },
  { to: '/orgs/$orgId/runners', label: 'Runners', permission: 'runners.read' },
  { to: '/orgs/$orgId/settings', label: 'Settings', permission: 'org.read' },
] as const;

function OrgSwitcher() {
  const { orgId } = useOrg();
  const me = useQuery(meQuery).data;
  const navigate = useNavigate();
  const path = useRouterState({ select: (s) => s.location.pathname });
  if (me === undefined) return null;
  return (
    <label className="org-switcher">
      <span className="visually-hidden">Organization</span>
      <select
        value={orgId}
        onChange={(event) => {
          const next = event.target.value;
          if (next === '__new') {
            void navigate({ to: '/welcome' });
            return;
          }
          // Stay on the same kind of page in the other org (its list, not this org's item).
          const section = path.split('/')[3];
          void navigate({ to: section === undefined ? `/orgs/${next}` : `/orgs/${next}/${section}` });
        }}
      >
        {me.memberships.map((m) => (
          <option key={m.orgId} value={m.orgId}>
            {m.orgName}
          </option>
        ))}
        {me.via === 'session' && <option value="__new">+ New organization…</option>}
      </select>
    </label>
  );
}

export function AppShell() {
  const org = useOrg();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const logout = useMutation({
    mutationFn: () => api.logout(),
    onSuccess: async () => {
      queryClient.clear();
      await navigate({ to: '/login' });
    },
  });
  return (
    <div className="shell">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            ◈
          </span>{' '}
          Airlock
        </div>
        <OrgSwitcher />
        <nav aria-label="Main">
          <ul>
            {NAV.filter((item) => !('permission' in item) || org.can(item.permission)).map((item) => (
              <li key={item.to}>
                <Link
                  to={item.to}
                  params={{ orgId: org.orgId }}
                  activeOptions={{ exact: 'exact' in item && item.exact }}
                  activeProps={{ 'aria-current': 'page', className: 'active' }}
                >
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="user">
          <span className="user-email" title={org.me.user.email}>
            {org.me.user.email}
          </span>
          <span className="muted">{org.role}</span>
          <Button variant="ghost" busy={logout.isPending} onClick={() => logout.mutate()}>
            Log out
          </Button>
        </div>
      </aside>
      <main id="main" className="content">
        <Outlet />
      </main>
    </div>
  );
}
