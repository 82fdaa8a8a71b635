import { createRequire } from 'node:module';

// GitHub's published webhook payload examples (@octokit/webhooks-examples,
// collected from GitHub's documentation), fitted to a test: the repository
// renamed, the label and the issue's text replaced. Everything else — every
// field GitHub sends — stays as GitHub sent it.

interface Example {
  readonly name: string;
  readonly examples: ReadonlyArray<Record<string, unknown>>;
}

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples/api.github.com/index.json') as Example[];

export function githubExamples(event: string): ReadonlyArray<Record<string, unknown>> {
  return examples.find((e) => e.name === event)?.examples ?? [];
}

export interface Fit {
  readonly repository?: string;
  readonly label?: string;
  readonly title?: string;
  readonly body?: string;
}

interface Labelled {
  labels?: Array<Record<string, unknown>>;
  title?: string;
  body?: string | null;
}

interface Payload {
  repository?: { full_name?: string; name?: string; owner?: { login?: string } };
  label?: { name?: string };
  issue?: Labelled;
  pull_request?: Labelled;
}

/** The first published example of `event` (with `action`), fitted. */
export function githubExample(event: string, action: string | null, fit: Fit = {}): Record<string, unknown> {
  const found = githubExamples(event).find((e) => action === null || e.action === action);
  if (found === undefined) throw new Error(`no published example of ${event}${action ? `.${action}` : ''}`);
  let payload = structuredClone(found) as Payload & Record<string, unknown>;
  if (fit.repository !== undefined && payload.repository?.full_name !== undefined) {
    // Every URL and name that said the old repository says the new one.
    const before = payload.repository.full_name;
    payload = JSON.parse(JSON.stringify(payload).replaceAll(before, fit.repository)) as typeof payload;
    const [owner = '', name = ''] = fit.repository.split('/');
    if (payload.repository !== undefined) {
      payload.repository.full_name = fit.repository;
      payload.repository.name = name;
      if (payload.repository.owner !== undefined) payload.repository.owner.login = owner;
    }
  }
  if (fit.label !== undefined) {
    if (payload.label !== undefined) payload.label.name = fit.label;
    for (const holder of [payload.issue, payload.pull_request])
      if (holder?.labels !== undefined) holder.labels = [{ ...(holder.labels[0] ?? {}), name: fit.label }];
  }
  if (payload.issue !== undefined) {
    if (fit.title !== undefined) payload.issue.title = fit.title;
    if (fit.body !== undefined) payload.issue.body = fit.body;
  }
  return payload;
}
