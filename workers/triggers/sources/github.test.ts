import examples from '@octokit/webhooks-examples/api.github.com/index.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';
import { TriggerEvent } from '../event.ts';
import { GITHUB_EVENTS, parseGithub } from './github.ts';
import { parseSlack } from './slack.ts';

// Every example payload GitHub publishes (collected in @octokit/webhooks-examples)
// for the events a trigger acts on parses into a TriggerEvent, and what comes
// out is bounded and shaped as stored; Slack's documented envelope too.

const published = examples as ReadonlyArray<{
  name: string;
  examples: ReadonlyArray<Record<string, unknown>>;
}>;

describe("GitHub's published webhook examples", () => {
  for (const name of GITHUB_EVENTS) {
    const cases = published.find((e) => e.name === name)?.examples ?? [];
    it(`parse for ${name} (${cases.length} examples)`, () => {
      expect(cases.length).toBeGreaterThan(0);
      for (const [i, payload] of cases.entries()) {
        const result = parseGithub(name, payload);
        expect(result.ok, `${name} #${i}: ${result.ok === false ? result.reason : ''}`).toBe(true);
        if (result.ok !== true) continue;
        expect(TriggerEvent.safeParse(result.value).success, `${name} #${i} is storable`).toBe(true);
        expect(result.value.name.startsWith(name)).toBe(true);
        expect(result.value.repository).toBe((payload.repository as { full_name: string }).full_name);
      }
    });
  }

  it('name what they do not support instead of failing', () => {
    const star = published.find((e) => e.name === 'star')?.examples[0];
    expect(parseGithub('star', star)).toEqual({ ok: 'unsupported', name: 'star' });
  });

  it('refuse a payload that does not fit its event', () => {
    const push = published.find((e) => e.name === 'push')?.examples[0];
    const result = parseGithub('issues', push);
    expect(result.ok).toBe(false);
  });
});

describe("Slack's documented app_mention envelope", () => {
  it('parses, with the mention markup taken out of the text', () => {
    const result = parseSlack({
      token: 'XXYYZZ',
      team_id: 'T123ABC456',
      api_app_id: 'A123ABC456',
      event: {
        type: 'app_mention',
        user: 'U061F7AUR',
        text: '<@U0LAN0Z89> is it everything a river should be?',
        ts: '1515449522.000016',
        channel: 'C123ABC456',
        event_ts: '1515449522000016',
      },
      type: 'event_callback',
      authorizations: [
        { team_id: 'T123ABC456', user_id: 'U123ABC456', is_bot: false, is_enterprise_install: false },
      ],
      event_id: 'Ev123ABC456',
      event_time: 123456789,
    });
    expect(result.ok && result.value.kind === 'event' && result.value.event).toMatchObject({
      name: 'app_mention',
      text: 'is it everything a river should be?',
      target: { kind: 'slack_thread', channel: 'C123ABC456', threadTs: '1515449522.000016' },
    });
  });
});
