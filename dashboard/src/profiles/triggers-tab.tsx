import type { CreatedTrigger, CreateTrigger } from '@airlock/schema/api';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ApiError, fieldError } from '../api/client.ts';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { ProblemAlert } from '../ui/alert.tsx';
import { StatusBadge } from '../ui/badge.tsx';
import { Button } from '../ui/button.tsx';
import { EmptyState } from '../ui/empty.tsx';
import { SelectField, TextArea, TextField } from '../ui/field.tsx';
import { Loading } from '../ui/loading.tsx';
import { SecretOnce } from '../ui/secret-once.tsx';
import { Table } from '../ui/table.tsx';
import { Time } from '../ui/time.tsx';

/** Triggers that start headless sessions of this profile, and a form for a new one. */
export function TriggersTab({ profileId }: { profileId: string }) {
  const { orgId, can } = useOrg();
  const queryClient = useQueryClient();
  const triggers = useQuery({
    queryKey: ['triggers', orgId, profileId],
    queryFn: () => api.triggers(orgId, profileId),
  });
  const toggle = useMutation({
    mutationFn: ({ id, enabled }: { id: string; enabled: boolean }) =>
      api.setTriggerEnabled(orgId, id, enabled),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['triggers', orgId, profileId] }),
  });
  const manage = can('triggers.manage');
  return (
    <div>
      <ProblemAlert error={triggers.error ?? toggle.error} />
      {triggers.isPending ? (
        <Loading what="triggers" />
      ) : triggers.data?.items.length === 0 ? (
        <EmptyState title="No triggers use this profile">
          Triggers start headless sessions from a webhook (GitHub, Slack), on a schedule, or from a chat
          channel.
          {manage ? ' Create one below.' : ''}
        </EmptyState>
      ) : (
        <Table caption="Triggers of this profile" columns={['Name', 'Kind', 'When', 'Last fired', 'Enabled']}>
          {triggers.data?.items.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>{t.kind}</td>
              <td className="small">
                {t.kind === 'schedule'
                  ? `${String(t.config.cron)} (${String(t.config.timezone)})`
                  : t.kind === 'webhook'
                    ? (t.webhookUrl ?? '')
                    : `channel ${String(t.config.channel)}`}
              </td>
              <td>
                <Time iso={t.lastFiredAt} />
              </td>
              <td>
                {manage ? (
                  <label className="checkbox">
                    <input
                      type="checkbox"
                      checked={t.enabled}
                      disabled={toggle.isPending}
                      onChange={() => toggle.mutate({ id: t.id, enabled: !t.enabled })}
                    />{' '}
                    <span className="visually-hidden">Enable {t.name}</span>
                    {t.enabled ? 'on' : 'off'}
                  </label>
                ) : (
                  <StatusBadge status={t.enabled ? 'active' : 'stopped'} label={t.enabled ? 'on' : 'off'} />
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
      {manage && <NewTrigger profileId={profileId} />}
    </div>
  );
}

function NewTrigger({ profileId }: { profileId: string }) {
  const { orgId } = useOrg();
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<'schedule' | 'webhook'>('schedule');
  const [name, setName] = useState('');
  const [cron, setCron] = useState('0 6 * * 1-5');
  const [timezone, setTimezone] = useState(Intl.DateTimeFormat().resolvedOptions().timeZone);
  const [source, setSource] = useState<'github' | 'generic'>('github');
  const [events, setEvents] = useState('issues.opened');
  const [prompt, setPrompt] = useState('');
  const [created, setCreated] = useState<CreatedTrigger | null>(null);
  const create = useMutation({
    mutationFn: () => {
      const body: CreateTrigger =
        kind === 'schedule'
          ? { kind, name, profileId, config: { cron, timezone, promptTemplate: prompt } }
          : {
              kind,
              name,
              profileId,
              config: {
                source,
                events: events
                  .split(',')
                  .map((e) => e.trim())
                  .filter(Boolean),
                promptTemplate: prompt,
              },
            };
      return api.createTrigger(orgId, body);
    },
    onSuccess: async (result) => {
      setCreated(result);
      setName('');
      await queryClient.invalidateQueries({ queryKey: ['triggers', orgId, profileId] });
    },
  });
  const errorAt = (path: string) => fieldError(create.error, path);
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <section className="section narrow" aria-labelledby="new-trigger">
      <h2 id="new-trigger">New trigger</h2>
      {created?.signingSecret != null && (
        <SecretOnce label="Webhook signing secret" value={created.signingSecret} />
      )}
      {created?.trigger.webhookUrl != null && (
        <p>
          Point the webhook at <code>{created.trigger.webhookUrl}</code>.
        </p>
      )}
      <form onSubmit={onSubmit}>
        <SelectField
          label="Kind"
          value={kind}
          onChange={(e) => setKind(e.target.value as 'schedule' | 'webhook')}
        >
          <option value="schedule">Schedule</option>
          <option value="webhook">Webhook</option>
        </SelectField>
        <TextField
          label="Name"
          required
          value={name}
          error={errorAt('name')}
          onChange={(e) => setName(e.target.value)}
        />
        {kind === 'schedule' ? (
          <div className="grid-2">
            <TextField
              label="Cron"
              value={cron}
              error={errorAt('config.cron')}
              help="minute hour day month weekday"
              onChange={(e) => setCron(e.target.value)}
            />
            <TextField
              label="Time zone"
              value={timezone}
              error={errorAt('config.timezone')}
              onChange={(e) => setTimezone(e.target.value)}
            />
          </div>
        ) : (
          <div className="grid-2">
            <SelectField
              label="Source"
              value={source}
              onChange={(e) => setSource(e.target.value as 'github' | 'generic')}
            >
              <option value="github">GitHub</option>
              <option value="generic">Generic (HMAC)</option>
            </SelectField>
            <TextField
              label="Events"
              value={events}
              error={errorAt('config.events')}
              help="Comma-separated, e.g. issues.opened, pull_request"
              onChange={(e) => setEvents(e.target.value)}
            />
          </div>
        )}
        <TextArea
          label="Prompt template"
          rows={3}
          required
          value={prompt}
          error={errorAt('config.promptTemplate')}
          onChange={(e) => setPrompt(e.target.value)}
        />
        {(create.error instanceof ApiError ? create.error.fieldErrors.length === 0 : true) && (
          <ProblemAlert error={create.error} />
        )}
        <Button type="submit" variant="primary" busy={create.isPending}>
          Create trigger
        </Button>
      </form>
    </section>
  );
}
