import type { Role } from './enums.ts';

// Who may do what in an org. The API checks these on every org route (each
// route names its permission in the route registry) and the dashboard uses
// the same table to hide what a role cannot do. docs/permissions.md is this
// table in prose.

export const PERMISSIONS = {
  'org.read': 'See the org, its members and invites',
  'org.manage': 'Rename the org',
  'members.manage': 'Invite, remove and change the role of members',
  'tokens.own': 'Create, list and revoke your own API tokens',
  'connections.read': 'See connections (never their secrets)',
  'connections.manage': 'Create, change and delete connections',
  'profiles.read': 'See profiles, versions, snapshots and their logs',
  'profiles.edit': 'Create profiles and edit drafts',
  'profiles.publish': 'Publish versions, rebuild snapshots, archive profiles',
  'sessions.read': 'See sessions and their events',
  'sessions.start': 'Start sessions',
  'sessions.stop': 'Stop sessions',
  'audit.read': 'Read the audit trail',
  'runners.read': 'See runners and their health',
  'runners.manage': 'Register, re-key and revoke runners',
  'triggers.read': 'See triggers',
  'triggers.manage': 'Create, change and delete triggers',
} as const;

export type Permission = keyof typeof PERMISSIONS;

const ALL = Object.keys(PERMISSIONS) as Permission[];
const MEMBER: readonly Permission[] = [
  'org.read',
  'tokens.own',
  'connections.read',
  'profiles.read',
  'profiles.edit',
  'sessions.read',
  'sessions.start',
  'sessions.stop',
  'runners.read',
  'triggers.read',
];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  owner: ALL,
  admin: ALL,
  member: MEMBER,
};

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

/**
 * Role changes: admins manage members and admins; only owners grant, change
 * or remove the owner role, and an org always keeps at least one owner.
 */
export function canAssignRole(actor: Role, from: Role | undefined, to: Role | undefined): boolean {
  if (!can(actor, 'members.manage')) return false;
  if (actor === 'owner') return true;
  return from !== 'owner' && to !== 'owner';
}
