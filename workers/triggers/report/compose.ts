// What a finished run says where its event came from: the status, the agent's
// final message, a link to the session, and links to what it pushed (only
// branches the provider confirmed). The agent's message is untrusted text —
// a prompt injection in an issue can make it say anything — so it is cut to
// size and cannot mention, ping or link in the reader's name: GitHub @handles
// are broken with a zero-width space; Slack's control characters (&, <, >) are
// escaped, which disarms <!channel>, <@U…> and <url|label>.

export type RunStatus = 'succeeded' | 'failed' | 'not_started';

export interface ReportFacts {
  readonly status: RunStatus;
  readonly triggerName: string;
  /** The agent's final message, or why it failed / could not start. */
  readonly summary: string;
  readonly sessionId: string | null;
  readonly sessionUrl: string | null;
  readonly branches: ReadonlyArray<{ branch: string; url: string; sha: string }>;
  readonly pullRequests: ReadonlyArray<{ number: number; url: string }>;
}

const SUMMARY_MAX = 4000;

const clip = (text: string) => (text.length > SUMMARY_MAX ? `${text.slice(0, SUMMARY_MAX)}…` : text);

const HEADLINE: Record<RunStatus, string> = {
  succeeded: 'finished',
  failed: 'failed',
  not_started: 'could not start',
};

/** GitHub: no @mention of anyone, no closing keywords sneaking in through a blockquote. */
export function neutralizeGithub(text: string): string {
  return text.replace(/@(?=[A-Za-z0-9])/g, '@\u200b');
}

/** Slack's escaping rule: only &, < and > are control characters in message text. */
export function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export function githubComment(facts: ReportFacts): string {
  const lines = [`**Airlock** · trigger \`${facts.triggerName}\` ${HEADLINE[facts.status]}.`, ''];
  const summary = neutralizeGithub(clip(facts.summary.trim() || '(no final message)'));
  lines.push(...summary.split('\n').map((l) => `> ${l}`), '');
  if (facts.sessionUrl !== null) lines.push(`- Session: [${facts.sessionId}](${facts.sessionUrl})`);
  for (const b of facts.branches) lines.push(`- Branch: [\`${b.branch}\`](${b.url}) (${b.sha.slice(0, 7)})`);
  for (const pr of facts.pullRequests) lines.push(`- Pull request: [#${pr.number}](${pr.url})`);
  return lines.join('\n').trim();
}

export function slackText(facts: ReportFacts): string {
  const parts = [
    `*Airlock* · trigger \`${escapeSlack(facts.triggerName)}\` ${HEADLINE[facts.status]}.`,
    escapeSlack(clip(facts.summary.trim() || '(no final message)')),
  ];
  const links: string[] = [];
  if (facts.sessionUrl !== null) links.push(`<${facts.sessionUrl}|session ${facts.sessionId}>`);
  for (const b of facts.branches) links.push(`<${b.url}|branch ${escapeSlack(b.branch)}>`);
  for (const pr of facts.pullRequests) links.push(`<${pr.url}|PR #${pr.number}>`);
  if (links.length > 0) parts.push(links.join(' · '));
  return parts.join('\n\n');
}

/** The JSON a generic webhook's callback receives (signed like the request that started it). */
export function callbackBody(
  facts: ReportFacts,
  deliveryId: string,
  triggerId: string,
): Record<string, unknown> {
  return {
    type: 'airlock.run.finished',
    triggerId,
    deliveryId,
    status: facts.status,
    summary: clip(facts.summary),
    sessionId: facts.sessionId,
    sessionUrl: facts.sessionUrl,
    branches: facts.branches,
    pullRequests: facts.pullRequests,
  };
}
