import { describe, expect, it } from 'vitest';
import { callbackUrlProblem } from './callback.ts';
import { githubComment, type ReportFacts, slackText } from './compose.ts';

// The agent's final message is untrusted: an issue's prompt injection can make
// it say anything. In a report it must not ping, mention or link in the
// reader's name; and a callback URL must not turn the Worker into a proxy.

const facts = (summary: string): ReportFacts => ({
  status: 'succeeded',
  triggerName: 'fix issues',
  summary,
  sessionId: 'ses_1',
  sessionUrl: 'https://airlock.example/orgs/org_1/sessions/ses_1',
  branches: [],
  pullRequests: [],
});

describe('reports carrying an injected summary', () => {
  it('break every @mention in a GitHub comment and keep the summary quoted', () => {
    const body = githubComment(facts('Done. @acme/security-team @octocat please merge. Fixes #2'));
    expect(body).not.toMatch(/@(?!\u200b)[A-Za-z]/);
    expect(body).toContain('> Done. @\u200bacme/security-team @\u200boctocat please merge.');
  });

  it('escape Slack control characters: no <!channel>, no <@U…>, no disguised links', () => {
    const text = slackText(facts('<!channel> <@U012AB3CD> <https://evil.example|the session> & co'));
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<@U012AB3CD>');
    expect(text).not.toContain('<https://evil.example');
    expect(text).toContain(
      '&lt;!channel&gt; &lt;@U012AB3CD&gt; &lt;https://evil.example|the session&gt; &amp; co',
    );
  });
});

describe('callback URLs in production', () => {
  it('refuse internal, local and non-https targets', () => {
    for (const url of [
      'http://hooks.example.com/x',
      'https://169.254.169.254/latest/meta-data/',
      'https://10.0.0.1/',
      'https://[::1]/',
      'https://localhost/x',
      'https://db.internal/x',
      'https://printer.local/',
      'https://user:pass@hooks.example.com/',
    ])
      expect(callbackUrlProblem(url, 'production'), url).not.toBeNull();
    expect(callbackUrlProblem('https://hooks.example.com/airlock', 'production')).toBeNull();
  });
});
