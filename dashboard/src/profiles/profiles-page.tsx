import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { ProblemAlert } from '../ui/alert.tsx';
import { StatusBadge } from '../ui/badge.tsx';
import { Button } from '../ui/button.tsx';
import { Dialog } from '../ui/dialog.tsx';
import { EmptyState } from '../ui/empty.tsx';
import { TextArea, TextField } from '../ui/field.tsx';
import { Loading } from '../ui/loading.tsx';
import { PageHeader } from '../ui/page.tsx';
import { Table } from '../ui/table.tsx';
import { Time } from '../ui/time.tsx';

export function ProfilesPage() {
  const { orgId, can } = useOrg();
  const profiles = useQuery({ queryKey: ['profiles', orgId], queryFn: () => api.profiles(orgId) });
  const [creating, setCreating] = useState(false);
  const create = can('profiles.edit') && (
    <Button variant="primary" onClick={() => setCreating(true)}>
      New profile
    </Button>
  );
  return (
    <>
      <PageHeader title="Sandbox profiles" actions={create}>
        What a session starts with: the agent, its model provider, repositories, tools, a setup script and the
        hosts it may reach. Edit the draft, publish it, and sessions start from its snapshot.
      </PageHeader>
      <ProblemAlert error={profiles.error} />
      {profiles.isPending ? (
        <Loading what="profiles" />
      ) : profiles.data?.items.length === 0 ? (
        <EmptyState title="No profiles yet" action={create}>
          Create a profile, choose its agent and model provider connection, then publish it to build a
          snapshot.
        </EmptyState>
      ) : (
        <Table caption="Sandbox profiles" columns={['Name', 'Latest published', 'Updated']}>
          {profiles.data?.items.map((p) => (
            <tr key={p.id}>
              <td>
                <Link to="/orgs/$orgId/profiles/$profileId" params={{ orgId, profileId: p.id }}>
                  {p.name}
                </Link>
                {p.description !== '' && <div className="muted small">{p.description}</div>}
              </td>
              <td>
                {p.latestPublished === null ? (
                  <StatusBadge status="draft" label="draft only" />
                ) : (
                  <>
                    v{p.latestPublished.number} · <Time iso={p.latestPublished.publishedAt} />
                  </>
                )}
              </td>
              <td>
                <Time iso={p.updatedAt} />
              </td>
            </tr>
          ))}
        </Table>
      )}
      <CreateProfileDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}

function CreateProfileDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { orgId } = useOrg();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const create = useMutation({
    mutationFn: () => api.createProfile(orgId, { name, description }),
    onSuccess: async (profile) => {
      await queryClient.invalidateQueries({ queryKey: ['profiles', orgId] });
      onClose();
      await navigate({ to: '/orgs/$orgId/profiles/$profileId', params: { orgId, profileId: profile.id } });
    },
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Dialog open={open} title="New sandbox profile" onClose={onClose}>
      <form onSubmit={onSubmit}>
        <TextField label="Name" required value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        <TextArea
          label="Description"
          rows={2}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
        <ProblemAlert error={create.error} />
        <Button type="submit" variant="primary" busy={create.isPending}>
          Create profile
        </Button>
      </form>
    </Dialog>
  );
}
