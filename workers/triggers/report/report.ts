import type { Config } from '@airlock/config';
import { connections } from '@airlock/schema/db';
import { and, eq } from 'drizzle-orm';
import { auditAsTrigger } from '../audit.ts';
import type { ReportTarget } from '../event.ts';
import { callbackUrlProblem, postCallback } from './callback.ts';
import { callbackBody, githubComment, neutralizeGithub, type ReportFacts, slackText } from './compose.ts';
import { type ApiDeps, type ApiResult, githubApi, slackApi } from './provider-api.ts';

// Sending a run's report where its event came from — a comment on the issue,
// PR or commit; a reply in the Slack thread; a signed callback — through the
// org's connection, by the control plane, audited as the trigger. Branches the
// agent says it pushed are linked only after GitHub confirms them (a prompt
// injection could fake a local ref, not a pushed branch).

export interface ReportInput {
  readonly orgId: string;
  readonly triggerId: string;
  readonly deliveryId: string;
  readonly target: ReportTarget | { kind: 'callback'; url: string; secret: string } | null;
  /** For GitHub targets and branch links: a GitHub App or PAT connection. */
  readonly githubConnectionId: string | null;
  /** For Slack targets. */
  readonly slackConnectionId: string | null;
  readonly facts: Omit<ReportFacts, 'branches' | 'pullRequests'>;
  readonly pushed: ReadonlyArray<{ repository: string; branch: string; sha: string }>;
}

export interface ReportOutcome {
  readonly status: 'sent' | 'failed' | 'skipped';
  readonly detail: string;
}

/** `/`-separated path segments, each percent-encoded, brackets included (markdown link targets). */
const pathOf = (value: string) =>
  value
    .split('/')
    .map((s) =>
      encodeURIComponent(s).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join('/');

async function webBase(deps: ApiDeps, orgId: string, connectionId: string): Promise<string> {
  const [row] = await deps.db
    .select({ config: connections.config })
    .from(connections)
    .where(and(eq(connections.id, connectionId), eq(connections.orgId, orgId)));
  const base = row?.config.base_url;
  return typeof base === 'string' && base !== '' ? base.replace(/\/+$/, '') : 'https://github.com';
}

export async function sendReport(
  deps: ApiDeps & { config: Config },
  input: ReportInput,
  at: Date,
): Promise<ReportOutcome> {
  const audit = async (
    action: string,
    connectionId: string | null,
    result: ApiResult,
    detail: Record<string, unknown>,
  ) => {
    await auditAsTrigger(
      deps.db,
      {
        orgId: input.orgId,
        triggerId: input.triggerId,
        action,
        sessionId: input.facts.sessionId,
        connectionId,
        targetId: input.deliveryId,
        ...(result.url === null
          ? {}
          : {
              request: {
                method: 'POST',
                url: result.url,
                status: result.status,
                durationMs: result.durationMs,
              },
            }),
        detail: { ...detail, ok: result.ok, ...(result.ok ? {} : { error: result.detail }) },
      },
      at,
    );
  };

  // Confirm pushed branches (and find their PRs) with GitHub before linking them.
  const branches: Array<{ branch: string; url: string; sha: string }> = [];
  const pullRequests: Array<{ number: number; url: string }> = [];
  if (input.githubConnectionId !== null) {
    const base = await webBase(deps, input.orgId, input.githubConnectionId);
    for (const push of input.pushed.slice(0, 5)) {
      const found = await githubApi(deps, input.orgId, input.githubConnectionId, push.repository, {
        method: 'GET',
        path: `/repos/${pathOf(push.repository)}/branches/${pathOf(push.branch)}`,
      });
      const sha = found.ok ? (found.json as { commit?: { sha?: unknown } } | null)?.commit?.sha : undefined;
      if (sha !== push.sha) continue;
      branches.push({
        branch: neutralizeGithub(push.branch.replaceAll('`', '')),
        sha: push.sha,
        url: `${base}/${pathOf(push.repository)}/tree/${pathOf(push.branch)}`,
      });
      const owner = push.repository.split('/')[0] ?? '';
      const pulls = await githubApi(deps, input.orgId, input.githubConnectionId, push.repository, {
        method: 'GET',
        path: `/repos/${pathOf(push.repository)}/pulls`,
        query: { head: `${owner}:${push.branch}`, state: 'open' },
      });
      const first =
        pulls.ok && Array.isArray(pulls.json)
          ? (pulls.json[0] as { number?: unknown; html_url?: unknown } | undefined)
          : undefined;
      if (
        typeof first?.number === 'number' &&
        typeof first.html_url === 'string' &&
        /^https?:\/\//.test(first.html_url)
      )
        pullRequests.push({ number: first.number, url: first.html_url });
    }
  }
  const facts: ReportFacts = { ...input.facts, branches, pullRequests };
  const target = input.target;
  if (target === null) return { status: 'skipped', detail: 'the event has nowhere to report to' };

  switch (target.kind) {
    case 'github_issue':
    case 'github_commit': {
      if (input.githubConnectionId === null)
        return {
          status: 'skipped',
          detail:
            'no GitHub connection to comment with (set config.connectionId or a git connection on the profile)',
        };
      const path =
        target.kind === 'github_issue'
          ? `/repos/${pathOf(target.repository)}/issues/${target.number}/comments`
          : `/repos/${pathOf(target.repository)}/commits/${target.sha}/comments`;
      const result = await githubApi(deps, input.orgId, input.githubConnectionId, target.repository, {
        method: 'POST',
        path,
        body: { body: githubComment(facts) },
      });
      await audit('trigger.reported', input.githubConnectionId, result, {
        target: target.kind,
        repository: target.repository,
      });
      return result.ok
        ? {
            status: 'sent',
            detail: `commented on ${target.repository}${target.kind === 'github_issue' ? `#${target.number}` : `@${target.sha.slice(0, 7)}`}`,
          }
        : { status: 'failed', detail: result.detail };
    }
    case 'slack_thread': {
      if (input.slackConnectionId === null)
        return { status: 'skipped', detail: 'no Slack connection to reply with' };
      const result = await slackApi(deps, input.orgId, input.slackConnectionId, 'chat.postMessage', {
        channel: target.channel,
        thread_ts: target.threadTs,
        text: slackText(facts),
        unfurl_links: 'false',
      });
      await audit('trigger.reported', input.slackConnectionId, result, {
        target: 'slack_thread',
        channel: target.channel,
      });
      return result.ok
        ? { status: 'sent', detail: `replied in ${target.channel} thread ${target.threadTs}` }
        : { status: 'failed', detail: result.detail };
    }
    case 'callback': {
      const problem = callbackUrlProblem(target.url, deps.config.env);
      if (problem !== null) return { status: 'failed', detail: `callback URL refused: ${problem}` };
      const result = await postCallback(
        target.url,
        target.secret,
        callbackBody(facts, input.deliveryId, input.triggerId),
        at,
      );
      await audit('trigger.reported', null, result, { target: 'callback' });
      return result.ok
        ? { status: 'sent', detail: `called back ${result.url?.host ?? ''}` }
        : { status: 'failed', detail: result.detail };
    }
  }
}
