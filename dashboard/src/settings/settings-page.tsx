import { type CreatedApiToken, canAssignRole, ROLES, type Role } from '@airlock/schema/api';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { ProblemAlert } from '../ui/alert.tsx';
import { Button } from '../ui/button.tsx';
import { SelectField, TextField } from '../ui/field.tsx';
import { Loading } from '../ui/loading.tsx';
import { PageHeader } from '../ui/page.tsx';
import { SecretOnce } from '../ui/secret-once.tsx';
import { Table } from '../ui/table.tsx';
import { Time } from '../ui/time.tsx';

// The org's people and the caller's API tokens.

export function SettingsPage() {
  const { orgName, can, me } = useOrg();
  return (
    <>
      <PageHeader title="Settings">{orgName}</PageHeader>
      <Members />
      {can('members.manage') && <Invites />}
      {me.via === 'session' && <Tokens />}
    </>
  );
}

function Members() {
  const { orgId, role, me, can } = useOrg();
  const queryClient = useQueryClient();
  const members = useQuery({ queryKey: ['members', orgId], queryFn: () => api.members(orgId) });
  const invalidate = () => queryClient.invalidateQueries({ queryKey: ['members', orgId] });
  const setRole = useMutation({
    mutationFn: ({ id, next }: { id: string; next: Role }) => api.setRole(orgId, id, next),
    onSettled: invalidate,
  });
  const remove = useMutation({
    mutationFn: (id: string) => api.removeMember(orgId, id),
    onSettled: invalidate,
  });
  return (
    <section className="section" aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      <ProblemAlert error={members.error ?? setRole.error ?? remove.error} />
      {members.isPending ? (
        <Loading what="members" />
      ) : (
        <Table caption="Members" columns={['Email', 'Role', 'Joined', can('members.manage') && 'Actions']}>
          {members.data?.items.map((m) => (
            <tr key={m.id}>
              <td>
                {m.email}
                {m.userId === me.user.id && <span className="muted"> (you)</span>}
              </td>
              <td>
                {can('members.manage') && m.userId !== me.user.id ? (
                  <label>
                    <span className="visually-hidden">Role of {m.email}</span>
                    <select
                      value={m.role}
                      disabled={setRole.isPending}
                      onChange={(e) => setRole.mutate({ id: m.id, next: e.target.value as Role })}
                    >
                      {ROLES.filter((r) => r === m.role || canAssignRole(role, m.role, r)).map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  </label>
                ) : (
                  m.role
                )}
              </td>
              <td>
                <Time iso={m.createdAt} />
              </td>
              {can('members.manage') && (
                <td>
                  {m.userId !== me.user.id && canAssignRole(role, m.role, undefined) && (
                    <Button
                      variant="ghost"
                      busy={remove.isPending && remove.variables === m.id}
                      onClick={() => remove.mutate(m.id)}
                    >
                      Remove
                    </Button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

function Invites() {
  const { orgId, role } = useOrg();
  const queryClient = useQueryClient();
  const invites = useQuery({ queryKey: ['invites', orgId], queryFn: () => api.invites(orgId) });
  const [email, setEmail] = useState('');
  const [inviteRole, setInviteRole] = useState<Role>('member');
  const invalidate = () => queryClient.invalidateQueries({ queryKey: ['invites', orgId] });
  const invite = useMutation({
    mutationFn: () => api.invite(orgId, { email, role: inviteRole }),
    onSuccess: () => {
      setEmail('');
      return invalidate();
    },
  });
  const withdraw = useMutation({
    mutationFn: (id: string) => api.withdrawInvite(orgId, id),
    onSettled: invalidate,
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    invite.mutate();
  };
  return (
    <section className="section" aria-labelledby="invites-title">
      <h2 id="invites-title">Invites</h2>
      <p className="muted">An invited address joins when it next logs in with an emailed code.</p>
      <form className="row end" onSubmit={onSubmit} aria-label="Invite someone">
        <TextField
          label="Email"
          type="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <SelectField label="Role" value={inviteRole} onChange={(e) => setInviteRole(e.target.value as Role)}>
          {ROLES.filter((r) => canAssignRole(role, undefined, r)).map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </SelectField>
        <Button type="submit" variant="primary" busy={invite.isPending}>
          Invite
        </Button>
      </form>
      <ProblemAlert error={invite.error ?? withdraw.error ?? invites.error} />
      {invites.data !== undefined && invites.data.items.length > 0 && (
        <ul className="list">
          {invites.data.items.map((i) => (
            <li key={i.id} className="row">
              {i.email} <span className="muted">as {i.role}</span> <Time iso={i.createdAt} />
              <Button
                variant="ghost"
                busy={withdraw.isPending && withdraw.variables === i.id}
                onClick={() => withdraw.mutate(i.id)}
              >
                Withdraw
              </Button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Tokens() {
  const { orgId } = useOrg();
  const queryClient = useQueryClient();
  const tokens = useQuery({ queryKey: ['tokens', orgId], queryFn: () => api.tokens(orgId) });
  const [name, setName] = useState('');
  const [days, setDays] = useState('90');
  const [created, setCreated] = useState<CreatedApiToken | null>(null);
  const invalidate = () => queryClient.invalidateQueries({ queryKey: ['tokens', orgId] });
  const create = useMutation({
    mutationFn: () => api.createToken(orgId, name, days === '' ? undefined : Number(days)),
    onSuccess: (result) => {
      setCreated(result);
      setName('');
      return invalidate();
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api.revokeToken(orgId, id),
    onSettled: invalidate,
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  const live = (tokens.data?.items ?? []).filter((t) => t.revokedAt === null);
  return (
    <section className="section" aria-labelledby="tokens-title">
      <h2 id="tokens-title">Your API tokens</h2>
      <p className="muted">
        For the CLI and automation: send <code>Authorization: Bearer alk_…</code>. A token acts with your
        role, in this organization only.
      </p>
      {created !== null && (
        <SecretOnce label={`API token "${created.apiToken.name}"`} value={created.token} />
      )}
      <form className="row end" onSubmit={onSubmit} aria-label="Create an API token">
        <TextField label="Token name" required value={name} onChange={(e) => setName(e.target.value)} />
        <SelectField label="Expires" value={days} onChange={(e) => setDays(e.target.value)}>
          <option value="30">in 30 days</option>
          <option value="90">in 90 days</option>
          <option value="365">in a year</option>
          <option value="">never</option>
        </SelectField>
        <Button type="submit" variant="primary" busy={create.isPending}>
          Create token
        </Button>
      </form>
      <ProblemAlert error={create.error ?? revoke.error ?? tokens.error} />
      {live.length > 0 && (
        <Table caption="API tokens" columns={['Name', 'Token', 'Last used', 'Expires', 'Actions']}>
          {live.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>
                <code>{t.displayPrefix}…</code>
              </td>
              <td>
                <Time iso={t.lastUsedAt} />
              </td>
              <td>{t.expiresAt === null ? 'never' : <Time iso={t.expiresAt} />}</td>
              <td>
                <Button
                  variant="ghost"
                  busy={revoke.isPending && revoke.variables === t.id}
                  onClick={() => revoke.mutate(t.id)}
                >
                  Revoke
                </Button>
              </td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}
