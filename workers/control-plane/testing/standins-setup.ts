import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { startOpenAiStandIn } from '../../../local-dev/standins/openai.ts';
import { startSlackStandIn } from '../../../local-dev/standins/slack.ts';

// Vitest global setup (Node side) for control-plane suites that call an
// upstream: the OpenAI stand-in, accepting exactly one key, on loopback; the
// Slack stand-in (Web API) with a few workspace members.

export interface ControlPlaneStandIns {
  readonly openaiUrl: string;
  readonly openaiKey: string;
  readonly slackUrl: string;
  readonly slackToken: string;
}

/** Slack members the stand-in knows: emails are filled in by tests that need a match. */
export const SLACK_USERS = [
  { id: 'U0VERIFIED', name: 'vera', email: 'vera@world.test', emailConfirmed: true },
  { id: 'U0UNCONFIRMED', name: 'mallory', email: 'mallory@world.test', emailConfirmed: false },
  { id: 'U0OUTSIDER', name: 'olga', email: 'olga@elsewhere.test', emailConfirmed: true },
  { id: 'U0NOEMAIL', name: 'nemo' },
] as const;

declare module 'vitest' {
  export interface ProvidedContext {
    controlPlaneStandIns: ControlPlaneStandIns;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const openaiKey = `sk-standin-${randomBytes(16).toString('hex')}`;
  const openai = await startOpenAiStandIn({ apiKey: openaiKey });
  const slack = await startSlackStandIn({ users: [...SLACK_USERS] });
  project.provide('controlPlaneStandIns', {
    openaiUrl: openai.url,
    openaiKey,
    slackUrl: slack.url,
    slackToken: slack.botToken,
  });
  return async () => {
    await openai.close();
    await slack.close();
  };
}
