// Sample payloads for "send a test event" and the prompt preview, shaped as
// the providers send them (trimmed from GitHub's and Slack's published
// examples to the fields a trigger reads, plus the ones every real payload
// has). They are fitted to the trigger — its first repository, label, branch
// and @mention — so a test event passes its filters unless the trigger's own
// settings disagree with each other.

export interface SampleFit {
  readonly repository?: string | undefined;
  readonly label?: string | undefined;
  readonly branch?: string | undefined;
  readonly mention?: string | undefined;
}

const SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
const SHA_BEFORE = '0000000000000000000000000000000000000000';

function repository(full = 'Codertocat/Hello-World') {
  const [owner = 'Codertocat', name = 'Hello-World'] = full.split('/');
  return {
    id: 186853002,
    node_id: 'MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=',
    name,
    full_name: full,
    private: false,
    owner: { login: owner, id: 21031067, type: 'User' },
    html_url: `https://github.com/${full}`,
    default_branch: 'main',
  };
}

const sender = { login: 'Codertocat', id: 21031067, node_id: 'MDQ6VXNlcjIxMDMxMDY3', type: 'User' };

function issue(fit: SampleFit) {
  const full = fit.repository ?? 'Codertocat/Hello-World';
  return {
    url: `https://api.github.com/repos/${full}/issues/1`,
    html_url: `https://github.com/${full}/issues/1`,
    id: 444500041,
    number: 1,
    title: 'Spelling error in the README file',
    user: sender,
    labels:
      fit.label === undefined ? [] : [{ id: 1362934389, name: fit.label, color: 'd73a4a', default: false }],
    state: 'open',
    locked: false,
    comments: 0,
    created_at: '2019-05-15T15:20:18Z',
    updated_at: '2019-05-15T15:20:21Z',
    author_association: 'OWNER',
    body: `It looks like you accidently spelled 'commit' with two 't's.${fit.mention === undefined ? '' : `\n\n@${fit.mention} please fix it.`}`,
  };
}

function pullRequest(fit: SampleFit) {
  const full = fit.repository ?? 'Codertocat/Hello-World';
  return {
    url: `https://api.github.com/repos/${full}/pulls/2`,
    id: 279147437,
    html_url: `https://github.com/${full}/pull/2`,
    diff_url: `https://github.com/${full}/pull/2.diff`,
    number: 2,
    state: 'open',
    title: 'Update the README with new information.',
    user: sender,
    body: `This is a pretty simple change that we need to pull into master.${fit.mention === undefined ? '' : `\n\n@${fit.mention} please review.`}`,
    labels:
      fit.label === undefined ? [] : [{ id: 1362934389, name: fit.label, color: 'd73a4a', default: false }],
    draft: false,
    head: { label: 'Codertocat:changes', ref: 'changes', sha: SHA },
    base: { label: 'Codertocat:main', ref: fit.branch ?? 'main', sha: SHA },
  };
}

function comment(fit: SampleFit, extra: Record<string, unknown> = {}) {
  return {
    id: 492700400,
    html_url: `https://github.com/${fit.repository ?? 'Codertocat/Hello-World'}/issues/1#issuecomment-492700400`,
    user: sender,
    created_at: '2019-05-15T15:20:21Z',
    author_association: 'OWNER',
    body:
      fit.mention === undefined
        ? "You are totally right! I'll get this fixed right away."
        : `@${fit.mention} can you fix the typo?`,
    ...extra,
  };
}

/** A GitHub payload for `event` (`issues.labeled`, `push`, …); null for events we do not know. */
export function githubSample(
  event: string,
  fit: SampleFit,
): { header: string; payload: Record<string, unknown> } | null {
  const [name = '', action] = event.split('.');
  const repo = repository(fit.repository);
  switch (name) {
    case 'issues':
      return {
        header: name,
        payload: {
          action: action ?? 'opened',
          issue: issue(fit),
          ...((action ?? 'opened') === 'labeled'
            ? { label: { id: 1362934389, name: fit.label ?? 'bug', color: 'd73a4a' } }
            : {}),
          repository: repo,
          sender,
        },
      };
    case 'issue_comment':
      return {
        header: name,
        payload: {
          action: action ?? 'created',
          issue: issue(fit),
          comment: comment(fit),
          repository: repo,
          sender,
        },
      };
    case 'pull_request':
      return {
        header: name,
        payload: {
          action: action ?? 'opened',
          number: 2,
          pull_request: pullRequest(fit),
          ...((action ?? 'opened') === 'labeled'
            ? { label: { id: 1362934389, name: fit.label ?? 'bug', color: 'd73a4a' } }
            : {}),
          repository: repo,
          sender,
        },
      };
    case 'pull_request_review_comment':
      return {
        header: name,
        payload: {
          action: action ?? 'created',
          comment: comment(fit, { path: 'README.md', diff_hunk: '@@ -1 +1 @@\n-# Hello-World' }),
          pull_request: pullRequest(fit),
          repository: repo,
          sender,
        },
      };
    case 'push': {
      const branch = fit.branch ?? 'main';
      return {
        header: name,
        payload: {
          ref: `refs/heads/${branch}`,
          before: SHA_BEFORE.replace(/^0/, '1'),
          after: SHA,
          created: false,
          deleted: false,
          forced: false,
          compare: `https://github.com/${repo.full_name}/compare/${SHA.slice(0, 12)}`,
          commits: [
            {
              id: SHA,
              message: 'Update README.md',
              url: `https://github.com/${repo.full_name}/commit/${SHA}`,
            },
          ],
          repository: repo,
          sender,
        },
      };
    }
    case 'check_suite':
      return {
        header: name,
        payload: {
          action: action ?? 'completed',
          check_suite: {
            id: 118578147,
            head_branch: fit.branch ?? 'changes',
            head_sha: SHA,
            status: 'completed',
            conclusion: 'failure',
            pull_requests: [{ number: 2 }],
          },
          repository: repo,
          sender,
        },
      };
    case 'check_run':
      return {
        header: name,
        payload: {
          action: action ?? 'completed',
          check_run: {
            id: 128620228,
            name: 'Octocoders-linter',
            head_sha: SHA,
            status: 'completed',
            conclusion: 'failure',
            html_url: `https://github.com/${repo.full_name}/runs/128620228`,
            check_suite: { id: 118578147, head_branch: fit.branch ?? 'changes' },
            pull_requests: [{ number: 2 }],
          },
          repository: repo,
          sender,
        },
      };
    default:
      return null;
  }
}

/** A Slack Events API envelope (as in Slack's app_mention example) for `app_mention` or `message.im`. */
export function slackSample(event: string, at: Date, channel?: string): Record<string, unknown> {
  const ts = `${Math.floor(at.getTime() / 1000)}.000100`;
  const direct = event.startsWith('message');
  return {
    token: 'XXYYZZ',
    team_id: 'T123ABC456',
    api_app_id: 'A123ABC456',
    event: direct
      ? {
          type: 'message',
          channel: 'D024BE91L',
          user: 'U2147483697',
          text: 'Can you summarise the open issues?',
          ts,
          event_ts: ts,
          channel_type: 'im',
        }
      : {
          type: 'app_mention',
          user: 'U061F7AUR',
          text: '<@U0LAN0Z89> is it everything a river should be?',
          ts,
          channel: channel ?? 'C123ABC456',
          event_ts: ts,
        },
    type: 'event_callback',
    authorizations: [
      { team_id: 'T123ABC456', user_id: 'U0LAN0Z89', is_bot: true, is_enterprise_install: false },
    ],
    event_id: `Ev${at.getTime().toString(36).toUpperCase()}`,
    event_time: Math.floor(at.getTime() / 1000),
  };
}

export function genericSample(event: string | undefined): Record<string, unknown> {
  return {
    type: event ?? 'invoice.paid',
    id: 'evt_1',
    data: { id: 'inv_123', amount: 4200, currency: 'eur' },
  };
}
