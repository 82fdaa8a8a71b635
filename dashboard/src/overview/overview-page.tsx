import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { api } from '../api/endpoints.ts';
import { useOrg } from '../api/session.ts';
import { Loading } from '../ui/loading.tsx';
import { PageHeader } from '../ui/page.tsx';

// The first page of an org: the path from nothing to a running session, with
// each step ticked off as it is done and a link to the next one.

export function OverviewPage() {
  const { orgId, orgName } = useOrg();
  const connections = useQuery({ queryKey: ['connections', orgId], queryFn: () => api.connections(orgId) });
  const profiles = useQuery({ queryKey: ['profiles', orgId], queryFn: () => api.profiles(orgId) });
  const sessions = useQuery({ queryKey: ['sessions', orgId, ''], queryFn: () => api.sessions(orgId) });
  if (connections.isPending || profiles.isPending) return <Loading what="your organization" />;
  const steps = [
    {
      done: (connections.data?.items.length ?? 0) > 0,
      title: 'Connect a model provider',
      text: 'Add an OpenAI or Anthropic key. It stays in Airlock; sandboxes only get a placeholder.',
      link: (
        <Link to="/orgs/$orgId/connections" params={{ orgId }}>
          Connections
        </Link>
      ),
    },
    {
      done: (profiles.data?.items.length ?? 0) > 0,
      title: 'Create a sandbox profile',
      text: 'Pick the agent, its model provider, repositories and a setup script.',
      link: (
        <Link to="/orgs/$orgId/profiles" params={{ orgId }}>
          Profiles
        </Link>
      ),
    },
    {
      done: profiles.data?.items.some((p) => p.latestPublished !== null) ?? false,
      title: 'Publish it',
      text: 'Publishing freezes the version and builds its snapshot.',
      link: (
        <Link to="/orgs/$orgId/profiles" params={{ orgId }}>
          Profiles
        </Link>
      ),
    },
    {
      done: (sessions.data?.items.length ?? 0) > 0,
      title: 'Start a session',
      text: 'The agent runs in a sandbox; its terminal opens here, and every request it makes is audited.',
      link: (
        <Link to="/orgs/$orgId/sessions" params={{ orgId }}>
          Sessions
        </Link>
      ),
    },
  ];
  const next = steps.findIndex((s) => !s.done);
  return (
    <>
      <PageHeader title={orgName}>
        {next === -1 ? 'Everything is set up.' : `Next step: ${steps[next]?.title.toLowerCase()}.`}
      </PageHeader>
      <ol className="steps">
        {steps.map((step, index) => (
          <li
            key={step.title}
            className={step.done ? 'step done' : index === next ? 'step current' : 'step'}
            aria-current={index === next ? 'step' : undefined}
          >
            <span className="step-mark" aria-hidden="true">
              {step.done ? '✓' : index + 1}
            </span>
            <div>
              <h2>
                {step.title}
                {step.done && <span className="visually-hidden"> (done)</span>}
              </h2>
              <p>{step.text}</p>
              {!step.done && step.link}
            </div>
          </li>
        ))}
      </ol>
    </>
  );
}
