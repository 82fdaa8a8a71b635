import { z } from 'zod';
import {
  clipped,
  issuesLine,
  type Parsed,
  REPOSITORY,
  type ReportTarget,
  type TriggerEvent,
} from '../event.ts';

// GitHub webhook payloads (repository webhooks and GitHub App webhooks send
// the same bodies) for the events a trigger acts on. Each schema is the subset
// we read — unknown fields are dropped, the fields we use are checked — so
// nothing downstream touches the raw body. Shapes follow GitHub's published
// examples (@octokit/webhooks-examples, which the tests run through this).

export const GITHUB_EVENTS = [
  'issues',
  'issue_comment',
  'pull_request',
  'pull_request_review_comment',
  'push',
  'check_suite',
  'check_run',
] as const;

const BODY_MAX = 16_000;
const Login = z.string().max(100);
const User = z.object({ login: Login, type: z.string().max(20).optional() });
const Url = z.string().max(2000);
const Sha = z.string().regex(/^[0-9a-f]{40}$/);
const Ref = z.string().max(255);
const Repository = z.object({
  full_name: z.string().regex(REPOSITORY),
  html_url: Url,
  default_branch: Ref.optional(),
});
const Label = z.object({ name: z.string().max(100) });
const Issue = z.object({
  number: z.number().int().positive(),
  title: clipped(1024),
  body: clipped(BODY_MAX).nullable().default(null),
  html_url: Url,
  state: z.string().max(20).optional(),
  labels: z.array(Label).max(100).default([]),
  user: User,
  pull_request: z.object({ html_url: Url.nullable().optional() }).optional(),
});
const PullRequest = z.object({
  number: z.number().int().positive(),
  title: clipped(1024),
  body: clipped(BODY_MAX).nullable().default(null),
  html_url: Url,
  diff_url: Url,
  state: z.string().max(20).optional(),
  draft: z.boolean().optional(),
  labels: z.array(Label).max(100).default([]),
  user: User,
  head: z.object({ ref: Ref, sha: Sha }),
  base: z.object({ ref: Ref }),
});
const Comment = z.object({
  id: z.number().int(),
  body: clipped(BODY_MAX),
  html_url: Url,
  user: User,
  path: z.string().max(1000).optional(),
  diff_hunk: clipped(4000).optional(),
});
const Common = { repository: Repository, sender: User };
const PrRefs = z
  .array(z.object({ number: z.number().int().positive() }))
  .max(100)
  .default([]);

const Payloads = {
  issues: z.object({ ...Common, action: z.string().max(50), issue: Issue, label: Label.optional() }),
  issue_comment: z.object({ ...Common, action: z.string().max(50), issue: Issue, comment: Comment }),
  pull_request: z.object({
    ...Common,
    action: z.string().max(50),
    pull_request: PullRequest,
    label: Label.optional(),
  }),
  pull_request_review_comment: z.object({
    ...Common,
    action: z.string().max(50),
    pull_request: PullRequest,
    comment: Comment,
  }),
  push: z.object({
    ...Common,
    ref: Ref,
    before: Sha,
    after: Sha,
    compare: Url.optional(),
    deleted: z.boolean().optional(),
    commits: z
      .array(z.object({ id: Sha, message: clipped(2000), url: Url }))
      .max(2048)
      .default([]),
  }),
  check_suite: z.object({
    ...Common,
    action: z.string().max(50),
    check_suite: z.object({
      head_branch: Ref.nullable(),
      head_sha: Sha,
      status: z.string().max(30).nullable(),
      conclusion: z.string().max(30).nullable(),
      pull_requests: PrRefs,
    }),
  }),
  check_run: z.object({
    ...Common,
    action: z.string().max(50),
    check_run: z.object({
      name: z.string().max(200),
      head_sha: Sha,
      status: z.string().max(30),
      conclusion: z.string().max(30).nullable(),
      html_url: Url.nullable().optional(),
      check_suite: z.object({ head_branch: Ref.nullable() }),
      pull_requests: PrRefs,
    }),
  }),
} as const;

type GithubEventName = (typeof GITHUB_EVENTS)[number];
const isSupported = (name: string): name is GithubEventName =>
  (GITHUB_EVENTS as readonly string[]).includes(name);

const isBot = (user: z.infer<typeof User>) => user.type === 'Bot' || user.login.endsWith('[bot]');
const names = (labels: readonly { name: string }[]) => labels.map((l) => l.name);
const branchOf = (ref: string) => (ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null);

function issueVars(issue: z.infer<typeof Issue>) {
  return {
    number: issue.number,
    title: issue.title,
    body: issue.body ?? '',
    html_url: issue.html_url,
    state: issue.state ?? null,
    labels: names(issue.labels),
    author: issue.user.login,
    is_pull_request: issue.pull_request !== undefined,
  };
}

function pullVars(pr: z.infer<typeof PullRequest>) {
  return {
    number: pr.number,
    title: pr.title,
    body: pr.body ?? '',
    html_url: pr.html_url,
    diff_url: pr.diff_url,
    state: pr.state ?? null,
    draft: pr.draft ?? false,
    labels: names(pr.labels),
    author: pr.user.login,
    head: { ref: pr.head.ref, sha: pr.head.sha },
    base: { ref: pr.base.ref },
  };
}

function commentVars(comment: z.infer<typeof Comment>) {
  return {
    body: comment.body,
    html_url: comment.html_url,
    author: comment.user.login,
    path: comment.path ?? null,
    diff_hunk: comment.diff_hunk ?? null,
  };
}

/** Parse one delivery: `event` is the X-GitHub-Event header, `body` the JSON already parsed. */
export function parseGithub(
  event: string,
  body: unknown,
): Parsed<TriggerEvent> | { ok: 'unsupported'; name: string } {
  if (!isSupported(event)) return { ok: 'unsupported', name: event.slice(0, 100) };
  const result = Payloads[event].safeParse(body);
  if (!result.success)
    return { ok: false, reason: `not a GitHub ${event} payload: ${issuesLine(result.error)}` };
  const base = {
    source: 'github' as const,
    repository: result.data.repository.full_name,
    actor: result.data.sender.login,
    fromBot: isBot(result.data.sender),
    slack: null,
  };
  const repository = {
    full_name: result.data.repository.full_name,
    html_url: result.data.repository.html_url,
    default_branch: result.data.repository.default_branch ?? null,
  };
  const common = { repository, sender: { login: result.data.sender.login } };
  const issueTarget = (number: number): ReportTarget => ({
    kind: 'github_issue',
    repository: base.repository,
    number,
  });
  const commitTarget = (sha: string): ReportTarget => ({
    kind: 'github_commit',
    repository: base.repository,
    sha,
  });
  const value = ((): TriggerEvent => {
    const p = result.data;
    switch (event) {
      case 'issues': {
        const d = p as z.infer<(typeof Payloads)['issues']>;
        return {
          ...base,
          name: `issues.${d.action}`,
          summary:
            `${base.repository}#${d.issue.number} ${d.action}${d.label ? ` ${d.label.name}` : ''}: ${d.issue.title}`.slice(
              0,
              300,
            ),
          labels: names(d.issue.labels),
          addedLabel: d.action === 'labeled' ? (d.label?.name ?? null) : null,
          branch: null,
          text: `${d.issue.title}\n\n${d.issue.body ?? ''}`,
          target: issueTarget(d.issue.number),
          vars: {
            ...common,
            action: d.action,
            issue: issueVars(d.issue),
            label: d.label ? { name: d.label.name } : null,
          },
        };
      }
      case 'issue_comment': {
        const d = p as z.infer<(typeof Payloads)['issue_comment']>;
        return {
          ...base,
          name: `issue_comment.${d.action}`,
          summary:
            `${base.repository}#${d.issue.number} comment ${d.action} by ${d.comment.user.login}`.slice(
              0,
              300,
            ),
          labels: names(d.issue.labels),
          addedLabel: null,
          branch: null,
          text: d.comment.body,
          fromBot: base.fromBot || isBot(d.comment.user),
          target: issueTarget(d.issue.number),
          vars: { ...common, action: d.action, issue: issueVars(d.issue), comment: commentVars(d.comment) },
        };
      }
      case 'pull_request': {
        const d = p as z.infer<(typeof Payloads)['pull_request']>;
        const pr = d.pull_request;
        return {
          ...base,
          name: `pull_request.${d.action}`,
          summary:
            `${base.repository}#${pr.number} ${d.action}${d.label ? ` ${d.label.name}` : ''}: ${pr.title}`.slice(
              0,
              300,
            ),
          labels: names(pr.labels),
          addedLabel: d.action === 'labeled' ? (d.label?.name ?? null) : null,
          branch: pr.base.ref,
          text: `${pr.title}\n\n${pr.body ?? ''}`,
          target: issueTarget(pr.number),
          vars: {
            ...common,
            action: d.action,
            pull_request: pullVars(pr),
            label: d.label ? { name: d.label.name } : null,
          },
        };
      }
      case 'pull_request_review_comment': {
        const d = p as z.infer<(typeof Payloads)['pull_request_review_comment']>;
        const pr = d.pull_request;
        return {
          ...base,
          name: `pull_request_review_comment.${d.action}`,
          summary:
            `${base.repository}#${pr.number} review comment ${d.action} by ${d.comment.user.login}`.slice(
              0,
              300,
            ),
          labels: names(pr.labels),
          addedLabel: null,
          branch: pr.base.ref,
          text: d.comment.body,
          fromBot: base.fromBot || isBot(d.comment.user),
          target: issueTarget(pr.number),
          vars: { ...common, action: d.action, pull_request: pullVars(pr), comment: commentVars(d.comment) },
        };
      }
      case 'push': {
        const d = p as z.infer<(typeof Payloads)['push']>;
        const branch = branchOf(d.ref);
        return {
          ...base,
          name: 'push',
          summary:
            `${base.repository} push to ${d.ref} (${d.commits.length} commit${d.commits.length === 1 ? '' : 's'})`.slice(
              0,
              300,
            ),
          labels: [],
          addedLabel: null,
          branch,
          text: d.commits
            .map((c) => c.message)
            .join('\n')
            .slice(0, 40_000),
          target: d.deleted === true || /^0+$/.test(d.after) ? null : commitTarget(d.after),
          vars: {
            ...common,
            push: {
              ref: d.ref,
              branch,
              before: d.before,
              after: d.after,
              compare: d.compare ?? null,
              commits: d.commits.slice(0, 20).map((c) => ({ id: c.id, message: c.message, url: c.url })),
            },
          },
        };
      }
      case 'check_suite': {
        const d = p as z.infer<(typeof Payloads)['check_suite']>;
        const suite = d.check_suite;
        const pr = suite.pull_requests[0];
        return {
          ...base,
          name: `check_suite.${d.action}`,
          summary:
            `${base.repository} check suite ${d.action} on ${suite.head_branch ?? suite.head_sha.slice(0, 7)}: ${suite.conclusion ?? suite.status ?? ''}`.slice(
              0,
              300,
            ),
          labels: [],
          addedLabel: null,
          branch: suite.head_branch,
          text: null,
          target: pr === undefined ? commitTarget(suite.head_sha) : issueTarget(pr.number),
          vars: {
            ...common,
            action: d.action,
            check_suite: {
              head_branch: suite.head_branch,
              head_sha: suite.head_sha,
              status: suite.status,
              conclusion: suite.conclusion,
              pull_requests: suite.pull_requests.map((x) => x.number),
            },
          },
        };
      }
      case 'check_run': {
        const d = p as z.infer<(typeof Payloads)['check_run']>;
        const run = d.check_run;
        const pr = run.pull_requests[0];
        return {
          ...base,
          name: `check_run.${d.action}`,
          summary: `${base.repository} check ${run.name} ${d.action}: ${run.conclusion ?? run.status}`.slice(
            0,
            300,
          ),
          labels: [],
          addedLabel: null,
          branch: run.check_suite.head_branch,
          text: null,
          target: pr === undefined ? commitTarget(run.head_sha) : issueTarget(pr.number),
          vars: {
            ...common,
            action: d.action,
            check_run: {
              name: run.name,
              head_sha: run.head_sha,
              head_branch: run.check_suite.head_branch,
              status: run.status,
              conclusion: run.conclusion,
              html_url: run.html_url ?? null,
              pull_requests: run.pull_requests.map((x) => x.number),
            },
          },
        };
      }
    }
  })();
  return { ok: true, value };
}
