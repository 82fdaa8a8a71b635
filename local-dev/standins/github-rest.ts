import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { sign } from '@octokit/webhooks-methods';

// The GitHub REST calls Airlock's control plane makes when it reports a run
// (served by the GitHub stand-in under `/api/v3`, as GitHub Enterprise does),
// and GitHub's side of webhooks: deliveries sent exactly as GitHub sends them.
//
// REST, answered like GitHub (JSON, its error bodies):
// - POST /repos/{owner}/{repo}/issues/{number}/comments — recorded
// - POST /repos/{owner}/{repo}/commits/{sha}/comments — recorded
// - GET  /repos/{owner}/{repo}/branches/{branch} — from the bare repository (git rev-parse)
// - GET  /repos/{owner}/{repo}/pulls?head=owner:branch&state=open — pull requests opened here
// - POST /repos/{owner}/{repo}/pulls — open one (head, base, title)
//
// Webhooks: POST with `X-GitHub-Event`, `X-GitHub-Delivery` (a GUID),
// `X-GitHub-Hook-ID`, `X-GitHub-Hook-Installation-Target-ID/Type`,
// `X-Hub-Signature` (SHA-1) and `X-Hub-Signature-256`, `User-Agent:
// GitHub-Hookshot/…`, JSON body. GitHub does not retry a failed delivery by
// itself; a redelivery (from the UI or the API) repeats the same GUID.

export interface IssueComment {
  readonly repository: string;
  readonly number: number | null;
  readonly sha: string | null;
  readonly body: string;
  readonly credential: string;
  readonly id: number;
}

export interface PullRequest {
  readonly repository: string;
  readonly number: number;
  readonly head: string;
  readonly base: string;
  readonly title: string;
}

export interface RestState {
  readonly comments: IssueComment[];
  readonly pulls: PullRequest[];
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

const notFound = (res: ServerResponse) =>
  json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Serve a REST call made with a valid token; false when the path is not one of these. */
export async function serveRest(
  req: IncomingMessage,
  res: ServerResponse,
  input: { projectRoot: string; baseUrl: string; credential: string; state: RestState },
): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname.replace(/^\/api\/v3/, '');
  const method = req.method ?? 'GET';
  const repo = /^\/repos\/([^/]+)\/([^/]+)(\/.*)$/.exec(path);
  if (repo === null) return false;
  const [, owner = '', name = '', rest = ''] = repo;
  const repository = `${owner}/${name}`;
  const bare = join(input.projectRoot, owner, `${name}.git`);
  let match = /^\/issues\/(\d+)\/comments$/.exec(rest) ?? /^\/commits\/([0-9a-f]{40})\/comments$/.exec(rest);
  if (match !== null && method === 'POST') {
    const body = await readJson(req);
    if (typeof body?.body !== 'string' || body.body === '') {
      json(res, 422, {
        message: 'Validation Failed',
        errors: [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }],
      });
      return true;
    }
    const issue = rest.startsWith('/issues/');
    const id = 1_000_000 + input.state.comments.length;
    input.state.comments.push({
      repository,
      number: issue ? Number(match[1]) : null,
      sha: issue ? null : (match[1] ?? null),
      body: body.body,
      credential: input.credential,
      id,
    });
    json(res, 201, {
      id,
      html_url: `${input.baseUrl}/${repository}/${issue ? `issues/${match[1]}#issuecomment-${id}` : `commit/${match[1]}#commitcomment-${id}`}`,
      body: body.body,
      user: { login: 'airlock[bot]', type: 'Bot' },
      created_at: new Date().toISOString(),
    });
    return true;
  }
  match = /^\/branches\/(.+)$/.exec(rest);
  if (match !== null && method === 'GET') {
    const branch = decodeURIComponent(match[1] ?? '');
    let sha = '';
    try {
      if (existsSync(bare))
        sha = execFileSync('git', ['--git-dir', bare, 'rev-parse', '--verify', `refs/heads/${branch}`], {
          encoding: 'utf8',
        }).trim();
    } catch {
      sha = '';
    }
    if (!/^[0-9a-f]{40}$/.test(sha)) notFound(res);
    else
      json(res, 200, {
        name: branch,
        commit: { sha, url: `${input.baseUrl}/api/v3/repos/${repository}/commits/${sha}` },
        protected: false,
      });
    return true;
  }
  if (rest === '/pulls' && method === 'GET') {
    const head = url.searchParams.get('head') ?? '';
    const branch = head.includes(':') ? head.slice(head.indexOf(':') + 1) : head;
    json(
      res,
      200,
      input.state.pulls
        .filter((p) => p.repository === repository && (head === '' || p.head === branch))
        .map((p) => ({
          number: p.number,
          html_url: `${input.baseUrl}/${repository}/pull/${p.number}`,
          state: 'open',
          title: p.title,
          head: { ref: p.head },
          base: { ref: p.base },
        })),
    );
    return true;
  }
  if (rest === '/pulls' && method === 'POST') {
    const body = await readJson(req);
    if (typeof body?.head !== 'string' || typeof body.base !== 'string' || typeof body.title !== 'string') {
      json(res, 422, { message: 'Validation Failed' });
      return true;
    }
    const number = 100 + input.state.pulls.length;
    input.state.pulls.push({ repository, number, head: body.head, base: body.base, title: body.title });
    json(res, 201, { number, html_url: `${input.baseUrl}/${repository}/pull/${number}`, state: 'open' });
    return true;
  }
  return false;
}

export interface SentWebhook {
  readonly delivery: string;
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

/** A webhook delivery as GitHub sends it (repository webhook or App webhook). */
export async function sendGithubWebhook(input: {
  url: string;
  event: string;
  payload: unknown;
  secret: string;
  delivery?: string;
  hookId?: number;
  target?: { type: 'repository' | 'organization' | 'integration'; id: number };
}): Promise<SentWebhook> {
  const body = JSON.stringify(input.payload);
  const delivery = input.delivery ?? randomUUID();
  const started = Date.now();
  const { createHmac } = await import('node:crypto');
  const response = await fetch(input.url, {
    method: 'POST',
    headers: {
      accept: '*/*',
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/8e1a3c9',
      'x-github-event': input.event,
      'x-github-delivery': delivery,
      'x-github-hook-id': String(input.hookId ?? 461_120_034),
      'x-github-hook-installation-target-id': String(input.target?.id ?? 186_853_002),
      'x-github-hook-installation-target-type': input.target?.type ?? 'repository',
      'x-hub-signature': `sha1=${createHmac('sha1', input.secret).update(body).digest('hex')}`,
      'x-hub-signature-256': await sign(input.secret, body),
    },
    body,
  });
  return { delivery, status: response.status, body: await response.text(), ms: Date.now() - started };
}
