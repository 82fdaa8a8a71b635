import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';
import { ApiError, fieldError } from '../api/client.ts';
import { api } from '../api/endpoints.ts';
import { meQuery } from '../api/session.ts';
import { ProblemAlert } from '../ui/alert.tsx';
import { Button } from '../ui/button.tsx';
import { TextField } from '../ui/field.tsx';
import { PageHeader } from '../ui/page.tsx';

/** A logged-in user without an org (or wanting another) creates one and becomes its owner. */
export function WelcomePage() {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const create = useMutation({
    mutationFn: () => api.createOrg({ name, slug }),
    onSuccess: async (org) => {
      // The org page checks membership against `me`: load it fresh before going there.
      await queryClient.fetchQuery({ ...meQuery, staleTime: 0 });
      await navigate({ to: '/orgs/$orgId', params: { orgId: org.id } });
    },
  });
  const errorAt = (path: string) => fieldError(create.error, path);
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <main className="content narrow">
      <PageHeader title="Create an organization">
        An organization holds your connections, sandbox profiles and sessions. You will be its owner and can
        invite others.
      </PageHeader>
      <form onSubmit={onSubmit} aria-label="New organization">
        <TextField
          label="Name"
          required
          value={name}
          error={errorAt('name')}
          onChange={(e) => {
            setName(e.target.value);
            setSlug(
              e.target.value
                .toLowerCase()
                .replace(/[^a-z0-9]+/g, '-')
                .replace(/^-|-$/g, '')
                .slice(0, 63),
            );
          }}
        />
        <TextField
          label="Slug"
          required
          value={slug}
          error={errorAt('slug')}
          onChange={(e) => setSlug(e.target.value)}
          help="Lowercase letters, digits and dashes."
        />
        <ProblemAlert
          error={
            create.error instanceof ApiError && create.error.fieldErrors.length > 0 ? null : create.error
          }
        />
        <Button type="submit" variant="primary" busy={create.isPending}>
          Create organization
        </Button>
      </form>
    </main>
  );
}
