import {
  ApiToken,
  AuditPage,
  type AuditQuery,
  Connection,
  ConnectionList,
  ConnectionTestResult,
  type CreateConnection,
  CreatedApiToken,
  CreatedTrigger,
  type CreateInvite,
  type CreateOrg,
  type CreateProfile,
  type CreateRunner,
  type CreateSession,
  type CreateTrigger,
  DeviceDecision,
  DeviceRequestInfo,
  IntegrationList,
  Invite,
  Me,
  Member,
  Ok,
  OpenedTerminal,
  Org,
  OtpRequested,
  Profile,
  ProfileList,
  ProfileVersion,
  ProfileVersionList,
  PtyToken,
  PublishResult,
  Quota,
  Runner,
  RunnerCredentials,
  RunnerList,
  Session,
  SessionEventList,
  SessionPage,
  Snapshot,
  SnapshotList,
  SnapshotLogPage,
  TriggerList,
  type UpdateConnection,
  type UpdateDraft,
} from '@airlock/schema/api';
import { z } from 'zod';
import { request } from './client.ts';

// Every control-plane call the dashboard makes, typed by @airlock/schema/api.

const items = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
const org = (orgId: string) => `/orgs/${encodeURIComponent(orgId)}`;

export const api = {
  requestCode: (email: string) => request('POST', '/auth/otp/request', OtpRequested, { body: { email } }),
  verifyCode: (email: string, code: string) =>
    request('POST', '/auth/otp/verify', Me, { body: { email, code } }),
  logout: () => request('POST', '/auth/logout', Ok),
  me: () => request('GET', '/me', Me),
  deviceLookup: (userCode: string) =>
    request('POST', '/auth/device/lookup', DeviceRequestInfo, { body: { userCode } }),
  deviceApprove: (userCode: string, orgId: string) =>
    request('POST', '/auth/device/approve', DeviceDecision, { body: { userCode, orgId } }),
  deviceDeny: (userCode: string) =>
    request('POST', '/auth/device/deny', DeviceDecision, { body: { userCode } }),

  createOrg: (body: CreateOrg) => request('POST', '/orgs', Org, { body }),
  org: (orgId: string) => request('GET', org(orgId), Org),
  renameOrg: (orgId: string, name: string) => request('PATCH', org(orgId), Org, { body: { name } }),
  members: (orgId: string) => request('GET', `${org(orgId)}/members`, items(Member)),
  setRole: (orgId: string, memberId: string, role: Member['role']) =>
    request('PATCH', `${org(orgId)}/members/${memberId}`, Ok, { body: { role } }),
  removeMember: (orgId: string, memberId: string) =>
    request('DELETE', `${org(orgId)}/members/${memberId}`, Ok),
  invites: (orgId: string) => request('GET', `${org(orgId)}/invites`, items(Invite)),
  invite: (orgId: string, body: CreateInvite) => request('POST', `${org(orgId)}/invites`, Invite, { body }),
  withdrawInvite: (orgId: string, inviteId: string) =>
    request('DELETE', `${org(orgId)}/invites/${inviteId}`, Ok),
  tokens: (orgId: string) => request('GET', `${org(orgId)}/tokens`, items(ApiToken)),
  createToken: (orgId: string, name: string, expiresInDays?: number) =>
    request('POST', `${org(orgId)}/tokens`, CreatedApiToken, {
      body: expiresInDays === undefined ? { name } : { name, expiresInDays },
    }),
  revokeToken: (orgId: string, tokenId: string) => request('DELETE', `${org(orgId)}/tokens/${tokenId}`, Ok),

  integrations: () => request('GET', '/integrations', IntegrationList),
  connections: (orgId: string) => request('GET', `${org(orgId)}/connections`, ConnectionList),
  connection: (orgId: string, id: string) => request('GET', `${org(orgId)}/connections/${id}`, Connection),
  createConnection: (orgId: string, body: CreateConnection) =>
    request('POST', `${org(orgId)}/connections`, Connection, { body }),
  updateConnection: (orgId: string, id: string, body: UpdateConnection) =>
    request('PATCH', `${org(orgId)}/connections/${id}`, Connection, { body }),
  deleteConnection: (orgId: string, id: string) => request('DELETE', `${org(orgId)}/connections/${id}`, Ok),
  testConnection: (orgId: string, id: string) =>
    request('POST', `${org(orgId)}/connections/${id}/test`, ConnectionTestResult),

  profiles: (orgId: string) => request('GET', `${org(orgId)}/profiles`, ProfileList),
  profile: (orgId: string, id: string) => request('GET', `${org(orgId)}/profiles/${id}`, Profile),
  createProfile: (orgId: string, body: CreateProfile) =>
    request('POST', `${org(orgId)}/profiles`, Profile, { body }),
  archiveProfile: (orgId: string, id: string) => request('DELETE', `${org(orgId)}/profiles/${id}`, Profile),
  versions: (orgId: string, profileId: string) =>
    request('GET', `${org(orgId)}/profiles/${profileId}/versions`, ProfileVersionList),
  updateDraft: (orgId: string, profileId: string, versionId: string, body: UpdateDraft) =>
    request('PATCH', `${org(orgId)}/profiles/${profileId}/versions/${versionId}`, ProfileVersion, { body }),
  publish: (orgId: string, profileId: string, versionId: string) =>
    request('POST', `${org(orgId)}/profiles/${profileId}/versions/${versionId}/publish`, PublishResult),
  rebuildSnapshot: (orgId: string, profileId: string, versionId: string) =>
    request('POST', `${org(orgId)}/profiles/${profileId}/versions/${versionId}/snapshots`, Snapshot),
  testSetupScript: (orgId: string, profileId: string, versionId: string) =>
    request('POST', `${org(orgId)}/profiles/${profileId}/versions/${versionId}/setup-tests`, Snapshot),

  snapshots: (orgId: string, profileVersionId?: string) =>
    request('GET', `${org(orgId)}/snapshots`, SnapshotList, { query: { profileVersionId } }),
  snapshot: (orgId: string, id: string) => request('GET', `${org(orgId)}/snapshots/${id}`, Snapshot),
  snapshotLogs: (orgId: string, id: string, after: number) =>
    request('GET', `${org(orgId)}/snapshots/${id}/logs`, SnapshotLogPage, { query: { after, limit: 500 } }),

  sessions: (orgId: string, query: { status?: string; profileId?: string; cursor?: string } = {}) =>
    request('GET', `${org(orgId)}/sessions`, SessionPage, { query: { ...query, limit: 50 } }),
  session: (orgId: string, id: string) => request('GET', `${org(orgId)}/sessions/${id}`, Session),
  startSession: (orgId: string, body: CreateSession, idempotencyKey: string) =>
    request('POST', `${org(orgId)}/sessions`, Session, {
      body,
      headers: { 'idempotency-key': idempotencyKey },
    }),
  stopSession: (orgId: string, id: string) => request('POST', `${org(orgId)}/sessions/${id}/stop`, Session),
  sessionEvents: (orgId: string, id: string) =>
    request('GET', `${org(orgId)}/sessions/${id}/events`, SessionEventList),
  /** Without a mode: the most this member may have (read-write for the starter, owners, admins). */
  terminalToken: (orgId: string, id: string, mode?: 'ro', terminal = 'agent') =>
    request('POST', `${org(orgId)}/sessions/${id}/pty-token`, PtyToken, {
      body: { ...(mode ? { mode } : {}), terminal },
    }),
  /** A login shell next to the agent (idempotent: an open one is left as is). */
  openTerminal: (orgId: string, id: string, terminal: string) =>
    request('POST', `${org(orgId)}/sessions/${id}/terminals`, OpenedTerminal, { body: { terminal } }),

  audit: (orgId: string, query: Omit<AuditQuery, 'limit'> & { limit?: number }) =>
    request('GET', `${org(orgId)}/audit`, AuditPage, { query }),

  runners: (orgId: string) => request('GET', `${org(orgId)}/runners`, RunnerList),
  registerRunner: (orgId: string, body: CreateRunner) =>
    request('POST', `${org(orgId)}/runners`, RunnerCredentials, { body }),
  quota: (orgId: string) => request('GET', `${org(orgId)}/quota`, Quota),
  revokeRunner: (orgId: string, id: string) => request('DELETE', `${org(orgId)}/runners/${id}`, Runner),

  triggers: (orgId: string, profileId?: string) =>
    request('GET', `${org(orgId)}/triggers`, TriggerList, { query: { profileId } }),
  createTrigger: (orgId: string, body: CreateTrigger) =>
    request('POST', `${org(orgId)}/triggers`, CreatedTrigger, { body }),
  setTriggerEnabled: (orgId: string, id: string, enabled: boolean) =>
    request('PATCH', `${org(orgId)}/triggers/${id}`, z.unknown(), { body: { enabled } }),
};
