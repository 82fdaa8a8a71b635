import type { QueryClient } from '@tanstack/react-query';
import {
  createRootRouteWithContext,
  createRoute,
  createRouter,
  lazyRouteComponent,
  Outlet,
  redirect,
} from '@tanstack/react-router';
import { ApiError } from './api/client.ts';
import { meQuery } from './api/session.ts';
import { AuditPage, auditSearch } from './audit/audit-page.tsx';
import { DevicePage } from './auth/device-page.tsx';
import { LoginPage } from './auth/login-page.tsx';
import { WelcomePage } from './auth/welcome-page.tsx';
import { ConnectionPage } from './connections/connection-page.tsx';
import { ConnectionsPage } from './connections/connections-page.tsx';
import { NewConnectionPage } from './connections/new-connection-page.tsx';
import { OverviewPage } from './overview/overview-page.tsx';
import { PROFILE_TABS, type ProfileTab } from './profiles/profile-tabs.ts';
import { ProfilesPage } from './profiles/profiles-page.tsx';
import { RunnersPage } from './runners/runners-page.tsx';
import { SessionsPage } from './sessions/sessions-page.tsx';
import { SettingsPage } from './settings/settings-page.tsx';
import { AppShell } from './shell/app-shell.tsx';
import { NotFound, RouteError } from './shell/errors.tsx';

// The route tree. Org pages check the login (401 → /login, back here after)
// and the membership before they render; the editor and the terminal are
// split into their own chunks (CodeMirror, xterm) and load on first use.

interface RouterContext {
  readonly queryClient: QueryClient;
}

const root = createRootRouteWithContext<RouterContext>()({
  component: Outlet,
  notFoundComponent: NotFound,
});

async function requireLogin(queryClient: QueryClient, href: string) {
  try {
    return await queryClient.ensureQueryData(meQuery);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401)
      throw redirect({ to: '/login', search: { redirect: href } });
    throw error;
  }
}

const login = createRoute({
  getParentRoute: () => root,
  path: '/login',
  validateSearch: (search: Record<string, unknown>): { redirect?: string } =>
    typeof search.redirect === 'string' ? { redirect: search.redirect } : {},
  component: function Login() {
    const { redirect: target } = login.useSearch();
    return <LoginPage redirect={target} />;
  },
});

const index = createRoute({
  getParentRoute: () => root,
  path: '/',
  beforeLoad: async ({ context, location }) => {
    const me = await requireLogin(context.queryClient, location.href);
    const first = me.memberships[0];
    throw redirect(
      first === undefined ? { to: '/welcome' } : { to: '/orgs/$orgId', params: { orgId: first.orgId } },
    );
  },
});

const welcome = createRoute({
  getParentRoute: () => root,
  path: '/welcome',
  beforeLoad: ({ context, location }) => requireLogin(context.queryClient, location.href),
  component: WelcomePage,
});

/** Approve a CLI login (`airlock login`; ADR 0170), logged in, with the code from the link or typed. */
const device = createRoute({
  getParentRoute: () => root,
  path: '/device',
  validateSearch: (search: Record<string, unknown>): { code?: string } =>
    typeof search.code === 'string' ? { code: search.code } : {},
  beforeLoad: ({ context, location }) => requireLogin(context.queryClient, location.href),
  component: function Device() {
    return <DevicePage code={device.useSearch().code} />;
  },
});

const org = createRoute({
  getParentRoute: () => root,
  path: '/orgs/$orgId',
  beforeLoad: async ({ context, location, params }) => {
    const me = await requireLogin(context.queryClient, location.href);
    if (!me.memberships.some((m) => m.orgId === params.orgId)) throw redirect({ to: '/' });
  },
  component: AppShell,
  errorComponent: RouteError,
});

const child = <P extends string>(path: P) => ({ getParentRoute: () => org, path }) as const;

const overview = createRoute({ ...child('/'), component: OverviewPage });
const connections = createRoute({ ...child('connections'), component: ConnectionsPage });
const newConnection = createRoute({
  ...child('connections/new'),
  validateSearch: (search: Record<string, unknown>): { integration?: string } =>
    typeof search.integration === 'string' ? { integration: search.integration } : {},
  component: NewConnectionPage,
});
const connection = createRoute({ ...child('connections/$connectionId'), component: ConnectionPage });
const profiles = createRoute({ ...child('profiles'), component: ProfilesPage });

const profile = createRoute({
  ...child('profiles/$profileId'),
  validateSearch: (search: Record<string, unknown>): { tab?: ProfileTab; version?: string } => ({
    ...(PROFILE_TABS.includes(search.tab as ProfileTab) ? { tab: search.tab as ProfileTab } : {}),
    ...(typeof search.version === 'string' ? { version: search.version } : {}),
  }),
  component: lazyRouteComponent(() => import('./profiles/profile-page.tsx'), 'ProfilePage'),
});
const sessions = createRoute({ ...child('sessions'), component: SessionsPage });
const session = createRoute({
  ...child('sessions/$sessionId'),
  component: lazyRouteComponent(() => import('./sessions/session-page.tsx'), 'SessionPage'),
});
const audit = createRoute({ ...child('audit'), validateSearch: auditSearch, component: AuditPage });
const runners = createRoute({ ...child('runners'), component: RunnersPage });
const settings = createRoute({ ...child('settings'), component: SettingsPage });

const tree = root.addChildren([
  login,
  index,
  welcome,
  device,
  org.addChildren([
    overview,
    connections,
    newConnection,
    connection,
    profiles,
    profile,
    sessions,
    session,
    audit,
    runners,
    settings,
  ]),
]);

export function makeRouter(queryClient: QueryClient) {
  return createRouter({
    routeTree: tree,
    context: { queryClient },
    defaultPreload: 'intent',
    defaultPendingMs: 300,
    scrollRestoration: true,
  });
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof makeRouter>;
  }
}
