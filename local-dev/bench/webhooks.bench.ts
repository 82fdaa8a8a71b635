import { randomUUID } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';
import type { BenchResult } from '../bench.ts';
import { type CredentiallessWorld, startCredentiallessWorld } from '../e2e/credentialless-world.ts';
import { startStack } from '../stack.ts';
import { githubExample } from '../standins/github-examples.ts';

// Webhook receipt → 2xx under load, as GitHub sees it: 200 signed deliveries
// (distinct ids) sent at once to a trigger of the production Worker under
// wrangler dev, against a trivial Worker route (an unknown path: routing and
// the problem answer, no I/O) under the same load in the same run. The ack
// must not wait for a session; the goal (ADR 0141) is p99 ≤ 50 ms locally.
// The trigger's profile has nothing published, so each run ends at once
// without a sandbox: what is measured is the answer, not the work after it.

const CONCURRENT = 200;
const ROUNDS = 3;
const GOAL_P99_MS = 50;

const say = (line: string) => process.stdout.write(`${line}\n`);
const pct = (xs: readonly number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return (
    Math.round(
      (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN) * 10,
    ) / 10
  );
};

async function timed(send: () => Promise<Response>): Promise<{ ms: number; status: number }> {
  const started = performance.now();
  const response = await send();
  await response.arrayBuffer();
  return { ms: performance.now() - started, status: response.status };
}

async function burst(send: () => Promise<Response>): Promise<number[]> {
  const results = await Promise.all(Array.from({ length: CONCURRENT }, () => timed(send)));
  const bad = results.filter((r) => r.status >= 500);
  if (bad.length > 0) throw new Error(`${bad.length} of ${CONCURRENT} answered ${bad[0]?.status}`);
  return results.map((r) => r.ms);
}

export async function run(): Promise<BenchResult[]> {
  const stack = await startStack({ publicUrl: 'http://127.0.0.1:8787', env: {} });
  let world: CredentiallessWorld | undefined;
  try {
    world = await startCredentiallessWorld(stack, { log: (line) => line.startsWith('image') && say(line) });
    const profile = await world.api<{ id: string }>('POST', `/orgs/${world.orgId}/profiles`, {
      name: 'Bench',
    });
    const created = await world.api<{ trigger: { webhookUrl: string }; signingSecret: string }>(
      'POST',
      `/orgs/${world.orgId}/triggers`,
      {
        kind: 'webhook',
        name: 'bench',
        profileId: profile.id,
        config: {
          source: 'github',
          events: ['issues.opened'],
          autoPauseAfter: 0,
          promptTemplate: 'Look at {{ issue.title }}',
        },
      },
    );
    const body = JSON.stringify(githubExample('issues', 'opened', { repository: 'acme/widgets' }));
    const signature = await sign(created.signingSecret, body);
    const delivery = () =>
      fetch(created.trigger.webhookUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/bench',
          'x-github-event': 'issues',
          'x-github-delivery': randomUUID(),
          'x-hub-signature-256': signature,
        },
        body,
      });
    const trivial = () => fetch(`${world?.workerUrl ?? ''}/api/bench-trivial-route`);
    // Warm both paths (isolate, caches, connections), then measure alternately.
    await burst(delivery);
    await burst(trivial);
    const hooks: number[] = [];
    const reference: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      reference.push(...(await burst(trivial)));
      hooks.push(...(await burst(delivery)));
    }
    say(
      `webhooks: ${hooks.length} deliveries in bursts of ${CONCURRENT}; reference: the same load on a trivial route`,
    );
    return [
      {
        name: `webhook receipt → 202, p50 (${CONCURRENT} concurrent)`,
        value: pct(hooks, 50),
        unit: 'ms',
        baseline: pct(reference, 50),
        baselineName: 'trivial Worker route p50',
      },
      {
        name: `webhook receipt → 202, p99 (${CONCURRENT} concurrent)`,
        value: pct(hooks, 99),
        unit: 'ms',
        baseline: pct(reference, 99),
        baselineName: 'trivial Worker route p99',
        goal: GOAL_P99_MS,
      },
    ];
  } finally {
    await world?.stop();
    await stack.stop();
  }
}
