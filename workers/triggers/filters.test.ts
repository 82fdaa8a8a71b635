import type { ChatConfig, WebhookConfig } from '@airlock/schema/api';
import { describe, expect, it } from 'vitest';
import type { TriggerEvent } from './event.ts';
import { branchMatches, chatFilter, globMatches, mentionInstruction, webhookFilter } from './filters.ts';
import { parseGithub } from './sources/github.ts';
import { githubSample, slackSample } from './sources/samples.ts';
import { parseSlack } from './sources/slack.ts';

// The filters as a trigger's owner writes them: events and actions,
// repositories, labels, branch globs, an @mention whose text becomes the
// instruction; chat: the channel, direct messages, thread replies, bots.

const github = (event: string, fit: Parameters<typeof githubSample>[1] = {}): TriggerEvent => {
  const sample = githubSample(event, fit);
  const parsed = parseGithub(sample?.header ?? '', sample?.payload);
  if (parsed.ok !== true) throw new Error(`sample ${event} does not parse`);
  return parsed.value;
};
const config = (c: Partial<WebhookConfig>): WebhookConfig => ({
  source: 'github',
  events: ['*'],
  repositories: [],
  labels: [],
  branches: [],
  secretFrom: 'trigger',
  report: true,
  autoPauseAfter: 3,
  promptTemplate: 'x',
  ...c,
});

describe('webhook filters', () => {
  it('match events by name or by name and action', () => {
    const labeled = github('issues.labeled', { label: 'airlock' });
    expect(webhookFilter(config({ events: ['issues'] }), labeled).pass).toBe(true);
    expect(webhookFilter(config({ events: ['issues.labeled'] }), labeled).pass).toBe(true);
    expect(webhookFilter(config({ events: ['issues.opened', 'push'] }), labeled)).toEqual({
      pass: false,
      reason: 'event issues.labeled is not one of issues.opened, push',
    });
  });

  it('match repositories without regard to case, and the label just added', () => {
    const labeled = github('issues.labeled', { repository: 'Acme/Widgets', label: 'airlock' });
    expect(webhookFilter(config({ repositories: ['acme/widgets'], labels: ['airlock'] }), labeled).pass).toBe(
      true,
    );
    expect(webhookFilter(config({ labels: ['bug'] }), labeled).pass).toBe(false);
    expect(
      webhookFilter(config({ labels: ['airlock'] }), github('issues.opened', { label: 'airlock' })).pass,
    ).toBe(true);
    expect(webhookFilter(config({ labels: ['airlock'] }), github('push')).pass).toBe(false);
  });

  it('match branches with globs, in linear time', () => {
    expect(branchMatches(['release/*'], 'release/1.2')).toBe(true);
    expect(branchMatches(['main'], 'mainline')).toBe(false);
    expect(globMatches('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(250))).toBe(false);
    expect(webhookFilter(config({ branches: ['main'] }), github('push', { branch: 'main' })).pass).toBe(true);
    expect(webhookFilter(config({ branches: ['main'] }), github('push', { branch: 'dev' })).pass).toBe(false);
    expect(
      webhookFilter(config({ branches: ['main'] }), github('pull_request.opened', { branch: 'main' })).pass,
    ).toBe(true);
  });

  it('take the text after an @mention as the instruction, and ignore lookalikes', () => {
    expect(mentionInstruction('Hey @airlock-bot fix the flaky test please', 'airlock-bot')).toBe(
      'fix the flaky test please',
    );
    expect(mentionInstruction('cc @airlock-botnet', 'airlock-bot')).toBeNull();
    expect(mentionInstruction('mail me at x@airlock-bot.example', 'airlock-bot')).toBeNull();
    const comment = github('issue_comment.created', { mention: 'airlock-bot' });
    expect(webhookFilter(config({ mention: 'airlock-bot' }), comment)).toEqual({
      pass: true,
      instruction: 'can you fix the typo?',
    });
    expect(webhookFilter(config({ mention: 'someone-else' }), comment).pass).toBe(false);
  });

  it('never let a bot start a run (our own report coming back)', () => {
    const comment = github('issue_comment.created');
    const fromBot = { ...comment, fromBot: true, actor: 'airlock[bot]' };
    expect(webhookFilter(config({}), fromBot)).toEqual({
      pass: false,
      reason: 'sent by a bot (airlock[bot])',
    });
  });
});

describe('chat filters', () => {
  const chat: ChatConfig = { connectionId: 'con_1', channel: 'C0TEAM0001', autoPauseAfter: 3 };
  const slack = (event: string, patch: Record<string, unknown> = {}) => {
    const envelope = slackSample(event, new Date(1_700_000_000_000), 'C0TEAM0001') as {
      event: Record<string, unknown>;
    };
    Object.assign(envelope.event, patch);
    const parsed = parseSlack(envelope);
    if (!parsed.ok || parsed.value.kind !== 'event') throw new Error('sample does not parse');
    return parsed.value.event;
  };

  it('take mentions in the channel and direct messages; not other channels or top-level chatter', () => {
    expect(chatFilter(chat, slack('app_mention')).pass).toBe(true);
    expect(chatFilter(chat, slack('message.im')).pass).toBe(true);
    expect(chatFilter(chat, slack('app_mention', { channel: 'C0OTHER001' })).pass).toBe(false);
    expect(chatFilter(chat, slack('message.im', { channel: 'C0TEAM0001', channel_type: 'channel' }))).toEqual(
      {
        pass: false,
        reason: 'a channel message that does not mention the app',
      },
    );
    expect(
      chatFilter(
        chat,
        slack('message.im', { channel: 'C0TEAM0001', channel_type: 'channel', thread_ts: '1.000001' }),
      ).pass,
    ).toBe(true);
  });

  it('never take a bot post, an edit or an empty message', () => {
    expect(chatFilter(chat, slack('app_mention', { bot_id: 'B1' })).pass).toBe(false);
    expect(chatFilter(chat, slack('message.im', { subtype: 'message_changed' })).pass).toBe(false);
    expect(chatFilter(chat, slack('app_mention', { text: '<@U0LAN0Z89>' }))).toEqual({
      pass: false,
      reason: 'an empty message',
    });
  });
});
