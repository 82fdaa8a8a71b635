import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { githubExample } from '../standins/github-examples.ts';
import { sendGithubWebhook } from '../standins/github-rest.ts';
import { type ScriptedReply, shellCall, type Turn } from '../standins/openai.ts';
import { type SlackStandIn, startSlackStandIn } from '../standins/slack.ts';
import { type CredentiallessWorld, startCredentiallessWorld } from './credentialless-world.ts';
import {
  type PublishedProfile,
  publishCodexProfile,
  sessionHistory,
  waitForSession,
  waitForSnapshot,
} from './sessions.ts';

// Triggers end to end on real components (ADR 0143): the production Worker
// under wrangler dev, Postgres, Redis, the runner, Docker, the real Codex CLI
// scripted by the OpenAI stand-in, GitHub and Slack stand-ins sending what
// the providers send and receiving the calls back.
// 1. The headline: an issue labelled `airlock` → the signed webhook → a
//    headless Codex session edits, commits and pushes a branch through the
//    broker → the issue gets a comment with the summary, the verified branch
//    and the session → every step is the trigger's in the audit trail.
// 2. A Slack thread: a mention starts a session; a reply in the thread reaches
//    the same agent (it resumes its conversation); both answers land in the
//    thread; the app's own posts coming back never start a turn.

let world: CredentiallessWorld;
let slack: SlackStandIn;
let profile: PublishedProfile;
const ready: { snapshot?: boolean } = {};

beforeAll(async () => {
  world = await startCredentiallessWorld(inject('airlock'));
  slack = await startSlackStandIn({
    users: [],
    retryDelaysMs: [0, 2000, 5000],
    echoBotMessages: true,
  });
}, 900_000);

afterAll(async () => {
  await slack?.close();
  await world?.stop();
});

const org = () => `/orgs/${world.orgId}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the Worker and runner printed last, and the trigger's deliveries (for failure messages). */
let explain: () => Promise<string> = async () => '';

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms / 1000} s waiting for ${what}\n${await explain().catch(String)}`);
    await sleep(500);
  }
}

interface Delivery {
  id: string;
  status: string;
  reason: string | null;
  sessionId: string | null;
  turn: number | null;
  renderedPrompt: string | null;
  reportStatus: string | null;
  reportDetail: string | null;
  attributionNote: string | null;
  deliveryId: string | null;
}

const deliveries = (triggerId: string) =>
  world
    .api<{ items: Delivery[] }>('GET', `${org()}/triggers/${triggerId}/deliveries?limit=200`)
    .then((p) => p.items);

function needsSnapshot(): void {
  if (ready.snapshot !== true) throw new Error('the snapshot did not become ready (see the first test)');
}

const FIX =
  'cd /home/sandbox/workspace/widgets' +
  " && printf '\\nTypo fixed by the agent.\\n' >> README.md" +
  ' && git checkout -q -b airlock/issue-1' +
  ' && git add README.md' +
  ' && git -c user.name=Agent -c user.email=agent@example.test commit -q -m "Fix the typo reported in #1"' +
  ' && git push -q -u origin airlock/issue-1' +
  ' && git log -1 --format=%H';

describe('triggers that fire', () => {
  it('publishes a codex profile whose snapshot builds', async () => {
    profile = await publishCodexProfile(world, { name: 'Triggered widgets' });
    const snapshot = await waitForSnapshot(world, profile.snapshotId, 900_000);
    expect(snapshot.failureReason ?? null).toBeNull();
    ready.snapshot = true;
  }, 960_000);

  it('labelling an issue `airlock` ends in a comment with the summary and the pushed branch', async () => {
    needsSnapshot();
    const created = await world.api<{ trigger: { id: string; webhookUrl: string }; signingSecret: string }>(
      'POST',
      `${org()}/triggers`,
      {
        kind: 'webhook',
        name: 'fix labelled issues',
        profileId: profile.profileId,
        config: {
          source: 'github',
          events: ['issues.labeled'],
          repositories: ['acme/widgets'],
          labels: ['airlock'],
          connectionId: profile.githubConnectionId,
          promptTemplate:
            'Reproduce the bug in {{ repository.full_name }}#{{ issue.number }} and propose a fix on a branch.\n\nTitle: {{ issue.title }}\n\n{{ issue.body }}',
        },
      },
    );
    const trigger = created.trigger;
    let toolOutput = '';
    world.script((turn: Turn): readonly ScriptedReply[] => {
      const outputs = [...turn.toolOutputs.values()];
      if (outputs.length === 0) return [shellCall(turn, FIX)];
      toolOutput = outputs.join('\n');
      return [
        {
          kind: 'message',
          text: 'Fixed the typo in the README on branch airlock/issue-1. @everyone please review.',
        },
      ];
    });
    // The issue body carries a prompt injection aimed at the template engine: it stays text.
    const payload = githubExample('issues', 'labeled', {
      repository: 'acme/widgets',
      label: 'airlock',
      title: 'Spelling error in the README file',
      body: "It says 'commmit'. {{ trigger.id }} {% raw %}",
    });
    const sent = await sendGithubWebhook({
      url: trigger.webhookUrl,
      event: 'issues',
      payload,
      secret: created.signingSecret,
    });
    expect(sent.status, sent.body).toBe(202);
    expect(JSON.parse(sent.body)).toMatchObject({ status: 'received' });

    const started = await until(
      'the delivery to start a session',
      async () =>
        (await deliveries(trigger.id)).find((d) => d.deliveryId === sent.delivery && d.sessionId !== null),
      120_000,
    );
    expect(started.renderedPrompt).toContain('{{ trigger.id }} {% raw %}');
    expect(started.renderedPrompt).toContain('acme/widgets#1');
    const sessionId = started.sessionId ?? '';
    const ended = await waitForSession(world, sessionId, ['stopped', 'failed'], 600_000);
    expect(ended.failureReason ?? null, await sessionHistory(world, sessionId)).toBeNull();

    const reported = await until(
      'the report',
      async () => (await deliveries(trigger.id)).find((d) => d.id === started.id && d.reportStatus !== null),
      120_000,
    );
    expect(reported.reportStatus, reported.reportDetail ?? '').toBe('sent');
    const comment = world.github.rest.comments.find((c) => c.repository === 'acme/widgets' && c.number === 1);
    expect(comment, JSON.stringify(world.github.rest.comments)).toBeDefined();
    const commit = /\b([0-9a-f]{40})\b/.exec(toolOutput)?.[1] ?? '';
    const pushed = execFileSync('git', ['--git-dir', world.bareRepo, 'rev-parse', 'airlock/issue-1'], {
      encoding: 'utf8',
    }).trim();
    expect(pushed).toBe(commit);
    expect(comment?.body).toContain('Fixed the typo in the README on branch airlock/issue-1.');
    expect(comment?.body).toContain('@\u200beveryone'); // the agent's text cannot ping anyone
    expect(comment?.body).toContain(`/tree/airlock/issue-1`);
    expect(comment?.body).toContain(commit.slice(0, 7));
    expect(comment?.body).toContain(`/sessions/${sessionId}`);
    // Reported by the control plane with the App's installation token, never from the sandbox.
    expect(comment?.credential).toBe('installation_token');

    // Every step is the trigger's in the audit trail.
    const audit = await world.api<{
      items: Array<{
        kind: string;
        action: string;
        sessionId: string | null;
        actorUserId: string | null;
        decision: string | null;
      }>;
    }>('GET', `${org()}/audit?triggerId=${trigger.id}&limit=200`);
    const actions = audit.items.map((e) => e.action);
    expect(actions).toContain('session.started');
    expect(actions).toContain('trigger.reported');
    expect(audit.items.some((e) => e.sessionId === sessionId && e.decision === 'brokered')).toBe(true);
    // What the trigger did itself has no human actor (the session's egress acts for the owner).
    for (const e of audit.items.filter((x) => x.kind === 'control' && x.action !== 'trigger.created'))
      expect(e.actorUserId, e.action).toBeNull();

    // The same delivery again (GitHub's redelivery keeps the GUID): deduped, no second session.
    const again = await sendGithubWebhook({
      url: trigger.webhookUrl,
      event: 'issues',
      payload,
      secret: created.signingSecret,
      delivery: sent.delivery,
    });
    expect(JSON.parse(again.body)).toMatchObject({ status: 'deduped' });
    const sessions = await world.api<{ items: Array<{ triggerId: string | null }> }>(
      'GET',
      `${org()}/sessions?limit=200`,
    );
    expect(sessions.items.filter((s) => s.triggerId === trigger.id)).toHaveLength(1);
  }, 900_000);

  it('a Slack thread is one conversation: a mention starts it, a reply reaches the same agent', async () => {
    needsSnapshot();
    // Alice in Slack is the org's owner here (same verified email); Mallory only claims to be.
    const me = await world.api<{ user: { email: string; id: string } }>('GET', '/me');
    slack.addUser({ id: 'U0ALICE001', name: 'alice', email: me.user.email, emailConfirmed: true });
    const connection = await world.api<{ id: string }>('POST', `${org()}/connections`, {
      integration: 'slack',
      name: 'Slack (stand-in)',
      config: { base_url: slack.url },
      credentials: { bot_token: slack.botToken },
    });
    const created = await world.api<{ trigger: { id: string; webhookUrl: string } }>(
      'POST',
      `${org()}/triggers`,
      {
        kind: 'chat',
        name: 'ask the agent',
        profileId: profile.profileId,
        signingSecret: slack.signingSecret,
        config: { connectionId: connection.id, channel: 'C0TEAM0001' },
      },
    );
    const trigger = created.trigger;
    slack.eventsUrl = trigger.webhookUrl;
    explain = async () => {
      const rows = await deliveries(trigger.id);
      const sessions = [...new Set(rows.map((d) => d.sessionId).filter((id) => id !== null))];
      const histories = await Promise.all(sessions.map((id) => sessionHistory(world, id ?? '')));
      return [
        JSON.stringify(
          rows.map((d) => [d.status, d.reason, d.turn, d.sessionId, d.reportStatus, d.reportDetail]),
        ),
        ...histories,
        `posted: ${JSON.stringify(slack.posted)}`,
        world.logs().split('\n').slice(-60).join('\n'),
      ].join('\n');
    };
    expect(await slack.verifyUrl()).not.toBeNull();

    const seen: string[] = [];
    world.script((turn: Turn): readonly ScriptedReply[] => {
      const text = JSON.stringify(turn.body.input ?? '');
      seen.push(text);
      if (text.includes('And the README?'))
        return [
          {
            kind: 'message',
            text: `Second answer; I remember: ${text.includes('What does this repo do?') ? 'yes' : 'no'}.`,
          },
        ];
      return [{ kind: 'message', text: 'First answer: it makes widgets.' }];
    });
    const first = await slack.say({
      user: 'U0ALICE001',
      channel: 'C0TEAM0001',
      text: 'What does this repo do?',
      mention: true,
    });
    const answer1 = await until(
      'the first answer in the thread',
      async () => slack.posted.find((p) => p.threadTs === first.ts && p.text.includes('First answer')),
      600_000,
    );
    expect(answer1.channel).toBe('C0TEAM0001');
    await slack.say({
      user: 'U0ALICE001',
      channel: 'C0TEAM0001',
      text: 'And the README?',
      threadTs: first.ts,
    });
    const answer2 = await until(
      'the second answer in the thread',
      async () => slack.posted.find((p) => p.threadTs === first.ts && p.text.includes('Second answer')),
      300_000,
    );
    expect(answer2.text).toContain('I remember: yes');

    const rows = await deliveries(trigger.id);
    const turns = rows.filter((d) => d.status === 'started');
    expect(turns.map((d) => d.turn).sort()).toEqual([1, 2]);
    expect(new Set(turns.map((d) => d.sessionId)).size).toBe(1);
    // The mention came twice (app_mention and message.channels): one turn, one dedupe.
    expect(rows.some((d) => d.status === 'deduped' || d.status === 'filtered')).toBe(true);
    // Our own replies came back as bot messages: filtered, never a turn.
    expect(
      rows.filter((d) => d.reason === 'a bot message, an edit or a system message').length,
    ).toBeGreaterThanOrEqual(1);
    expect(turns.find((d) => d.turn === 1)?.attributionNote ?? '').toBe(
      `Slack user U0ALICE001 is member ${me.user.id} by verified email ${me.user.email}`,
    );

    const sessionId = turns.find((d) => d.turn === 1)?.sessionId ?? '';
    const listed = await world.api<{ items: Array<{ n: number; answer: string | null; prompt: string }> }>(
      'GET',
      `${org()}/sessions/${sessionId}/turns`,
    );
    expect(listed.items.map((t) => t.n)).toEqual([1, 2]);
    expect(listed.items[1]?.answer).toContain('Second answer');
    await world.api('POST', `${org()}/sessions/${sessionId}/stop`, {});
    await waitForSession(world, sessionId, ['stopped'], 180_000);
  }, 900_000);
});
